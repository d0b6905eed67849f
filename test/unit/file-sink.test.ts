import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { afterEach, describe, expect, it } from "vitest";
import { FileSink, RangeComplete, TooManyBytes } from "../../src/local/file-sink.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempFile(): string {
  const d = mkdtempSync(join(tmpdir(), "ftps-sync-sink-"));
  dirs.push(d);
  return join(d, "f.part");
}
/**
 * This process's descriptors open on `path`. Not a count of all descriptors: the fast tier runs
 * test files in worker threads of one process, which open and close their own meanwhile.
 */
const openFdsOn = (path: string) =>
  readdirSync("/proc/self/fd").filter((fd) => {
    try {
      return readlinkSync(`/proc/self/fd/${fd}`) === path;
    } catch {
      return false; // closed since the listing
    }
  }).length;

describe("FileSink", () => {
  it("writes every chunk in order, across the background flush, and closes its descriptor", async () => {
    const path = tempFile();
    // 40 MiB in uneven chunks: crosses the 32 MiB flush point once.
    const chunks: Buffer[] = [];
    for (let i = 0; i < 41; i++) chunks.push(Buffer.alloc(1024 * 1024 - (i % 3), i & 0xff));
    await pipeline(Readable.from(chunks), new FileSink(path));
    expect(readFileSync(path).equals(Buffer.concat(chunks))).toBe(true);
    expect(openFdsOn(path)).toBe(0);
  });

  it("with failBeyondLimit: a stream that ends at the limit is fine, a byte beyond it fails and is not written", async () => {
    const exact = tempFile();
    await pipeline(Readable.from([Buffer.from("hel"), Buffer.from("lo")]), new FileSink(exact, 0, { limit: 5, failBeyondLimit: true }));
    expect(readFileSync(exact, "utf8")).toBe("hello");

    const over = tempFile();
    const sink = new FileSink(over, 0, { limit: 5, failBeyondLimit: true });
    await expect(pipeline(Readable.from([Buffer.from("hel"), Buffer.from("lo, and on and on")]), sink)).rejects.toBeInstanceOf(TooManyBytes);
    expect(readFileSync(over, "utf8")).toBe("hello");
    expect(sink.writtenUpTo).toBe(5);
  });

  it("with syncAtEnd: flushes the whole file to disk once every byte is written, says so (synced), and closes its descriptor; without it, says nothing was flushed", async () => {
    const path = tempFile();
    const chunks = [Buffer.alloc(3000, 1), Buffer.alloc(1096, 2)];
    const synced = new FileSink(path, 0, { syncAtEnd: true });
    expect(synced.synced).toBe(false);
    await pipeline(Readable.from(chunks), synced);
    expect(synced.synced).toBe(true);
    expect(readFileSync(path).equals(Buffer.concat(chunks))).toBe(true);
    expect(openFdsOn(path)).toBe(0);
    const plain = new FileSink(tempFile());
    await pipeline(Readable.from(chunks), plain);
    expect(plain.synced).toBe(false);
  });

  it("with syncAtEnd: a sink destroyed while its final flush is out closes its descriptor only once the flush is done", async () => {
    const path = tempFile();
    class DestroyedMidFlush extends FileSink {
      override _final(callback: (error?: Error | null) => void): void {
        super._final(callback);
        this.destroy(); // the flush is in the thread pool now: its descriptor must stay open
      }
    }
    const sink = new DestroyedMidFlush(path, 0, { syncAtEnd: true });
    const closed = new Promise((r) => sink.once("close", r));
    sink.end(Buffer.alloc(4096, 3));
    await closed;
    expect(sink.synced).toBe(true); // a descriptor closed under it would have failed the fsync (EBADF)
    expect(openFdsOn(path)).toBe(0);
  });

  it("resumes at an offset: keeps the bytes before it and overwrites from there", async () => {
    const path = tempFile();
    writeFileSync(path, "hello, wrong tail");
    await pipeline(Readable.from([Buffer.from("world")]), new FileSink(path, 7));
    expect(readFileSync(path, "utf8")).toBe("hello, world tail");
  });

  it("starts a fresh file from nothing when not resuming", async () => {
    const path = tempFile();
    writeFileSync(path, "old contents that must go");
    await pipeline(Readable.from([Buffer.from("new")]), new FileSink(path));
    expect(readFileSync(path, "utf8")).toBe("new");
  });

  it("with a limit: writes up to it, leaves the rest of the file alone, and ends with RangeComplete", async () => {
    const path = tempFile();
    writeFileSync(path, Buffer.alloc(20, "."));
    const sink = new FileSink(path, 5, { existing: true, limit: 12 });
    const err = await pipeline(Readable.from([Buffer.from("abcd"), Buffer.from("efghijkl")]), sink).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RangeComplete);
    expect(sink.writtenUpTo).toBe(12);
    expect(readFileSync(path, "utf8")).toBe(".....abcdefg........");
  });

  it("fails the pipeline when the file cannot be opened", () => {
    expect(() => new FileSink(join(tempFile(), "no-such-dir", "x"))).toThrow(/ENOENT|ENOTDIR/);
  });
});
