import { StringDecoder } from "node:string_decoder";

/**
 * A complete reply of the server: its code, and its whole text with the code as the server sent
 * it, lines joined by "\n" ("213-Status\n...\n213 End"). Multi-line replies (RFC 959 4.2) are one
 * reply.
 */
export interface Reply {
  code: number;
  message: string;
}

/** Longest reply we accept (a hostile server could otherwise send one without end). */
export const MAX_REPLY_BYTES = 64 * 1024;

/** A reply longer than MAX_REPLY_BYTES. */
export class ReplyTooLong extends Error {}

const SINGLE = /^\d{3}(?:$| )/;
const FIRST_OF_MANY = /^\d{3}-/;

/**
 * Cuts the control connection's bytes into replies. Lines end in CRLF or LF; blank lines, and
 * lines outside a reply that are not a reply's first line, are skipped (servers add them; no
 * reply can be read into them). A multi-line reply ends at the first line that starts with its
 * code and a space (or is the code alone); lines in between may hold anything, a listing over the
 * control connection (STAT) included.
 */
export class ReplyParser {
  private readonly decoder = new StringDecoder("utf8");
  private partial = "";
  private group: string[] | undefined;
  private groupCode = "";
  private groupChars = 0;

  constructor(private readonly maxChars = MAX_REPLY_BYTES) {}

  /** The replies completed by `chunk`, in order. Throws ReplyTooLong. */
  push(chunk: Buffer | string): Reply[] {
    const text = this.partial + (typeof chunk === "string" ? chunk : this.decoder.write(chunk));
    const lines = text.split("\n");
    this.partial = lines.pop()!;
    const replies: Reply[] = [];
    for (const raw of lines) {
      const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
      if (line.trim() === "") continue;
      if (this.group) {
        this.group.push(line);
        this.groupChars += line.length + 1;
        if (this.groupChars > this.maxChars) throw new ReplyTooLong(`a reply longer than ${this.maxChars / 1024} KiB`);
        if (line.startsWith(this.groupCode) && (line.length === 3 || line[3] === " ")) {
          replies.push({ code: Number(this.groupCode), message: this.group.join("\n") });
          this.group = undefined;
          this.groupChars = 0;
        }
      } else if (FIRST_OF_MANY.test(line)) {
        this.group = [line];
        this.groupCode = line.slice(0, 3);
        this.groupChars = line.length + 1;
      } else if (SINGLE.test(line)) {
        replies.push({ code: Number(line.slice(0, 3)), message: line });
      }
    }
    // The unfinished line counts with the reply it belongs to, once the lines before it have
    // ended theirs (not with a reply that ended in this chunk).
    if (this.partial.length + this.groupChars > this.maxChars) throw new ReplyTooLong(`a reply longer than ${this.maxChars / 1024} KiB`);
    return replies;
  }

  /** Bytes received that are not yet part of a complete reply. */
  get pending(): boolean {
    return this.partial !== "" || this.group !== undefined;
  }
}
