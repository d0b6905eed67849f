import type { Transform, Writable } from "node:stream";
import { RemoteError } from "../errors.js";
import { FileSink, FLUSH_EVERY, RangeComplete, TooManyBytes } from "../local/file-sink.js";
import type { Downloaded, RemoteFolder } from "../remote/remote-folder.js";

/**
 * Downloads into local files over any remote folder (RemoteFolder.download into a FileSink): the
 * bound by the announced size, resuming, and the ranges of a segmented download. A sink that stops
 * a transfer (too many bytes, a range complete) makes the folder's call fail with the sink's error,
 * so the connection, mid-transfer, is never used again; a complete range counts as success here.
 */

export interface ReceiveOptions {
  /** Continue the existing file from this offset (REST). */
  startAt?: number;
  throttle?: () => Transform;
  /** The size the listing announced. Reading stops there; a byte beyond it fails the transfer. */
  announcedSize?: number;
  /** See DownloadOptions. */
  onTimeBefore?: (ms: number | undefined) => void;
}

/** A download that went past the size announced for it (an endless RETR): not worth a retry. */
export class DownloadTooLong extends RemoteError {
  constructor(remotePath: string, announced: number) {
    super(`${remotePath}: the server sent more than the ${announced} bytes its listing announced; the transfer was stopped`, {
      kind: "path",
      phase: "operation",
    });
  }
}

/**
 * RETR (with REST to resume) into a local file, appending when resuming. `synced`: the whole file
 * was flushed to disk (fsync) before it was closed.
 */
export async function downloadFile(remote: RemoteFolder, remotePath: string, localPath: string, opts: ReceiveOptions = {}): Promise<Downloaded & { synced: boolean }> {
  const startAt = opts.startAt ?? 0;
  const bounded = opts.announcedSize !== undefined;
  const file = new FileSink(localPath, startAt, { ...(bounded ? { limit: opts.announcedSize, failBeyondLimit: true } : {}), syncAtEnd: true });
  let tooLong = false;
  file.once("error", (err) => (tooLong = err instanceof TooManyBytes));
  let sink: Writable = file;
  if (opts.throttle) {
    const t = opts.throttle();
    t.pipe(file);
    // A pipe does not pass the file's failure back: without this the transfer would go on into the throttle.
    file.once("error", (err) => t.destroy(err));
    sink = t;
  }
  const closed = new Promise<void>((resolve) => file.once("close", () => resolve()));
  let downloaded: Downloaded;
  try {
    downloaded = await remote.download(remotePath, sink, startAt, { onTimeBefore: opts.onTimeBefore });
  } catch (err) {
    sink.destroy();
    file.destroy();
    await closed;
    if (tooLong) throw new DownloadTooLong(remotePath, opts.announcedSize!);
    throw err;
  }
  // The file is ended by the pipe once the last byte is written (through the throttle's delays,
  // when there is one); ending it here could cut those last bytes off.
  await closed;
  return { ...downloaded, synced: file.synced };
}

/** A byte range of a segmented download: `pos` is how far it got, `end` where it stops (exclusive). */
export interface ByteRange {
  /** Where the range continues: the end of what was written. */
  pos: number;
  end: number;
  /** The end of what is on disk (flushed): where it continues after a crash. */
  flushed: number;
}

/**
 * One range of a segmented download: from `range.pos` into the existing file at the same offset,
 * up to `range.end`. Ranges other than the last stop early, by their sink (RangeComplete): the
 * folder then drops the connection, mid-transfer. `range.pos` is moved to what was written, also
 * when the transfer fails, so a retry continues the range instead of starting over;
 * `range.flushed` follows the sink's background flushes, and `onFlushed` is told each time.
 * Returns only when the whole range is in: a range cut short must not leave a hole in the file.
 */
export async function downloadRange(
  remote: RemoteFolder,
  remotePath: string,
  localPath: string,
  range: ByteRange,
  isLast: boolean,
  onFlushed?: () => void,
): Promise<void> {
  const start = range.pos;
  const file = new FileSink(localPath, start, {
    existing: true,
    // The last range ends where the file should: a byte beyond it is a server sending too much.
    limit: range.end,
    failBeyondLimit: isLast,
    // A few flushes per range at least, so that a crash loses little of it.
    flushEvery: Math.min(FLUSH_EVERY, Math.max(4 * 2 ** 20, Math.ceil((range.end - start) / 4))),
    onFlushed: (upTo) => {
      range.flushed = Math.max(range.flushed, Math.min(upTo, range.end));
      onFlushed?.();
    },
  });
  let tooLong = false;
  file.once("error", (err) => (tooLong = err instanceof TooManyBytes));
  const closed = new Promise<void>((resolve) => file.once("close", () => resolve()));
  try {
    await remote.download(remotePath, file, start);
  } catch (err) {
    file.destroy();
    await closed;
    range.pos = Math.min(file.writtenUpTo, range.end);
    if (tooLong) throw new DownloadTooLong(remotePath, range.end);
    if (!(err instanceof RangeComplete) && file.writtenUpTo < range.end) throw err;
  }
  await closed;
  range.pos = Math.min(file.writtenUpTo, range.end);
  if (file.writtenUpTo !== range.end) {
    throw new RemoteError(`${remotePath}: bytes ${start}-${range.end} of a segmented download ended at ${file.writtenUpTo}`, { kind: "transient", phase: "operation" });
  }
}
