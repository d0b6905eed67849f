import { inspect } from "node:util";

/**
 * Wraps a password or other secret so that it cannot leak by accident: string conversion,
 * JSON serialisation and util.inspect (used by winston and console) all print a placeholder.
 * Only `reveal()` gives the value, and only the FTPS login calls it.
 */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toString(): string {
    return "[secret]";
  }
  toJSON(): string {
    return "[secret]";
  }
  [inspect.custom](): string {
    return "[secret]";
  }
}
