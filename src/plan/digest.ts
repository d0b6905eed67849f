import { createHash } from "node:crypto";

/** A sha256 over many short lines, fed to the hash in chunks (one update per line is far slower). */
export class LineDigest {
  private readonly hash = createHash("sha256");
  private chunk = "";

  /** `line` must not contain "\n" unless its fields make that unambiguous (callers separate fields with "\0"). */
  add(line: string): void {
    this.chunk += line + "\n";
    if (this.chunk.length > 65_536) {
      this.hash.update(this.chunk);
      this.chunk = "";
    }
  }

  hex(): string {
    this.hash.update(this.chunk);
    this.chunk = "";
    return this.hash.digest("hex");
  }
}
