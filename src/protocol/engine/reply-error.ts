import type { Reply } from "./reply-parser.js";

/** A negative reply (4xx, 5xx) to a command, as an error: the reply's code and text. */
export class ReplyError extends Error {
  readonly code: number;
  constructor(reply: Reply) {
    super(reply.message);
    this.name = "ReplyError";
    this.code = reply.code;
  }
}

export const isPositive = (code: number): boolean => code >= 200 && code < 300;
