import { inspect } from "node:util";
import { registerSecret } from "./redact.js";

/**
 * Wraps a password or other secret so that it cannot leak by accident: string conversion,
 * JSON serialisation and util.inspect (used by winston and console) all print a placeholder.
 * Only `reveal()` gives the value, and only the FTPS login calls it. Making one registers the
 * value with the redactor (src/redact.ts), which scrubs it from whatever text the agent stores,
 * logs or prints, a server's reply included.
 */
export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
    registerSecret(value);
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
