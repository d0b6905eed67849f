import { redact } from "../redact.js";

/**
 * Everything the CLI prints goes through process.stdout and process.stderr (its own lines, the
 * JSON summaries, and the console log transport): wrapping their write() scrubs every registered
 * secret from all of it at one place, whatever the text came from (src/redact.ts).
 */
export function redactWritesTo(stream: NodeJS.WriteStream): void {
  const write = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
  stream.write = ((chunk: unknown, ...rest: unknown[]) => {
    if (typeof chunk === "string") return write(redact(chunk), ...rest);
    if (chunk instanceof Uint8Array) {
      const text = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength).toString("utf8");
      const clean = redact(text);
      return write(clean === text ? chunk : Buffer.from(clean, "utf8"), ...rest);
    }
    return write(chunk, ...rest);
  }) as typeof stream.write;
}
