import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline, Readable, type Writable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { RemoteError } from "../../src/errors.js";
import type { RemoteFolder } from "../../src/remote/remote-folder.js";
import { downloadFile, downloadRange, DownloadTooLong, type ByteRange } from "../../src/sync/receive-file.js";

/**
 * A remote folder that serves `bytes` for every download, in 1 KiB chunks, as FtpsFolder does:
 * the call rejects with the sink's error when the sink fails. `cutAfter`: the transfer breaks
 * after that many bytes. Counts the calls that failed (a real folder drops their connection).
 */
function serving(bytes: Buffer, cutAfter?: number) {
  const calls = { ok: 0, failed: 0 };
  const folder = {
    download: (_path: string, sink: Writable, startAt = 0) =>
      new Promise<void>((resolve, reject) => {
        const rest = bytes.subarray(startAt, cutAfter);
        const chunks = Array.from({ length: Math.ceil(rest.length / 1024) }, (_, i) => rest.subarray(i * 1024, (i + 1) * 1024));
        const source = Readable.from(
          (async function* () {
            yield* chunks;
            if (cutAfter !== undefined) throw new RemoteError("read ECONNRESET", { kind: "transient", phase: "operation" });
          })(),
        );
        pipeline(source, sink, (err) => {
          if (err) calls.failed++;
          else calls.ok++;
          return err ? reject(err) : resolve();
        });
      }),
  } as unknown as RemoteFolder;
  return { folder, calls };
}

const data = Buffer.from(Array.from({ length: 10_000 }, (_, i) => i % 251));
let dir: string;
beforeEach(() => (dir = mkdtempSync(join(tmpdir(), "receive-"))));
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("downloadFile over a remote folder", () => {
  it("writes the whole file, and continues an existing one from startAt", async () => {
    const file = join(dir, "f");
    await downloadFile(serving(data).folder, "/f", file, { announcedSize: data.length });
    expect(readFileSync(file).equals(data)).toBe(true);
    writeFileSync(file, data.subarray(0, 4000));
    await downloadFile(serving(data).folder, "/f", file, { startAt: 4000, announcedSize: data.length });
    expect(readFileSync(file).equals(data)).toBe(true);
  });

  it("stops a server that sends more than the listing announced with DownloadTooLong, the call failing so its connection is dropped", async () => {
    const { folder, calls } = serving(Buffer.concat([data, Buffer.alloc(5000)]));
    await expect(downloadFile(folder, "/f", join(dir, "f"), { announcedSize: data.length })).rejects.toBeInstanceOf(DownloadTooLong);
    expect(calls.failed).toBe(1);
  });
});

describe("downloadRange over a remote folder", () => {
  it("counts a range its sink stopped at its end as complete, with exactly its bytes in place", async () => {
    const file = join(dir, "f");
    writeFileSync(file, Buffer.alloc(0));
    const { folder, calls } = serving(data);
    const range: ByteRange = { pos: 2000, end: 5000, flushed: 2000 };
    await downloadRange(folder, "/f", file, range, false);
    expect(range.pos).toBe(5000);
    expect(readFileSync(file).subarray(2000, 5000).equals(data.subarray(2000, 5000))).toBe(true);
    expect(readFileSync(file)).toHaveLength(5000);
    expect(calls.failed).toBe(1); // stopped mid-transfer by RangeComplete: not a connection to reuse
  });

  it("fails the last range with DownloadTooLong when the server sends beyond the file's end", async () => {
    const file = join(dir, "f");
    writeFileSync(file, Buffer.alloc(0));
    const range: ByteRange = { pos: 6000, end: data.length, flushed: 6000 };
    await expect(downloadRange(serving(Buffer.concat([data, Buffer.alloc(3000)])).folder, "/f", file, range, true)).rejects.toBeInstanceOf(DownloadTooLong);
  });

  it("rethrows a cut transfer and moves the range on to what was written, so a retry continues it", async () => {
    const file = join(dir, "f");
    writeFileSync(file, Buffer.alloc(0));
    const range: ByteRange = { pos: 1000, end: 9000, flushed: 1000 };
    await expect(downloadRange(serving(data, 4072).folder, "/f", file, range, false)).rejects.toMatchObject({ kind: "transient" });
    expect(range.pos).toBe(4072);
    await downloadRange(serving(data).folder, "/f", file, range, false);
    expect(range.pos).toBe(9000);
    expect(readFileSync(file).subarray(1000, 9000).equals(data.subarray(1000, 9000))).toBe(true);
  });
});
