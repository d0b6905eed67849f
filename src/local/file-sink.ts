import { closeSync, constants, fdatasync, fsync, openSync, writeSync } from "node:fs";
import { Writable } from "node:stream";

/** The sink took every byte up to its `limit`: not a failure, the range is complete. */
export class RangeComplete extends Error {
  constructor() {
    super("range complete");
  }
}

/**
 * The server sent a byte past the size it announced (the listing's): a download is bounded by
 * that size, so a server that streams without end cannot fill the disk.
 */
export class TooManyBytes extends Error {
  constructor(readonly limit: number) {
    super(`the server sent more than the ${limit} bytes announced`);
  }
}

export interface FileSinkOptions {
  /** Write into the existing file from `startAt` (resume, or one range of a segmented download). */
  existing?: boolean;
  /** Stop at this offset: the bytes up to it are written, then the sink fails with RangeComplete. */
  limit?: number;
  /**
   * With `limit`: reaching it is fine (the transfer is expected to end there), and only a byte
   * beyond it fails the sink, with TooManyBytes.
   */
  failBeyondLimit?: boolean;
  /** Flush to disk every this many bytes (default FLUSH_EVERY). */
  flushEvery?: number;
  /** Called when a background flush has put every byte before `upTo` on disk. */
  onFlushed?: (upTo: number) => void;
  /**
   * Once every byte is written, flush the file to disk (fsync) before closing it: `synced` then
   * says so, and the caller needs no open, fsync and close of its own (three thread-pool round
   * trips per downloaded file). A failed flush does not fail the sink: `synced` stays false.
   */
  syncAtEnd?: boolean;
}

/** While a download runs, what is written is flushed to disk every this many bytes. */
export const FLUSH_EVERY = 32 * 2 ** 20;

/**
 * Where a download's bytes go: a file written with synchronous write(2) calls, flushed to disk
 * in the background as it grows.
 *
 * Why not fs.WriteStream: it sends every batch of chunks through the thread pool, and while a
 * write is out the data socket is paused. For 1 GiB over TLS the main thread sat idle 3.5 s of
 * 4.5 s. A write into the page cache takes microseconds, so doing it in line keeps the socket
 * reading. The fdatasync every FLUSH_EVERY bytes (in the thread pool) lets the disk work while
 * the network does, so the fsync before the rename has little left to do.
 */
export class FileSink extends Writable {
  private readonly fd: number;
  private readonly limit?: number;
  private readonly failBeyondLimit: boolean;
  private position: number;
  private flushedUpTo = 0;
  private flushing?: Promise<void>;
  private readonly flushEvery: number;
  private readonly onFlushed?: (upTo: number) => void;
  private readonly syncAtEnd: boolean;
  /** With `syncAtEnd`: every byte written was flushed to disk at the end. */
  synced = false;

  /** `startAt` > 0 (or `existing`): write from that offset into the existing file; else a new, empty file. */
  constructor(path: string, startAt = 0, opts: FileSinkOptions = {}) {
    super({ highWaterMark: 1024 * 1024 });
    // Never through a symlink at the name: a temporary file swapped for a link is not written through.
    const { O_RDWR, O_WRONLY, O_CREAT, O_TRUNC, O_NOFOLLOW } = constants;
    this.fd = openSync(path, startAt > 0 || opts.existing ? O_RDWR | O_NOFOLLOW : O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0o666);
    this.position = startAt;
    this.flushedUpTo = startAt;
    this.limit = opts.limit;
    this.failBeyondLimit = opts.failBeyondLimit ?? false;
    this.flushEvery = opts.flushEvery ?? FLUSH_EVERY;
    this.onFlushed = opts.onFlushed;
    this.syncAtEnd = opts.syncAtEnd ?? false;
  }

  /** The offset the next byte would go to: the end of what was written. */
  get writtenUpTo(): number {
    return this.position;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const take = this.limit === undefined ? chunk.length : Math.min(chunk.length, this.limit - this.position);
    try {
      for (let off = 0; off < take; ) {
        const n = writeSync(this.fd, chunk, off, take - off, this.position);
        off += n;
        this.position += n;
      }
    } catch (err) {
      callback(err as Error);
      return;
    }
    if (!this.flushing && this.position - this.flushedUpTo >= this.flushEvery) this.flushInBackground();
    if (this.limit === undefined) return callback();
    if (this.failBeyondLimit) return callback(take < chunk.length ? new TooManyBytes(this.limit) : undefined);
    callback(this.position >= this.limit ? new RangeComplete() : undefined);
  }

  private flushInBackground(): void {
    const upTo = this.position;
    const flush: Promise<void> = new Promise<void>((resolve) =>
      fdatasync(this.fd, (err) => {
        // A failed flush is not fatal here: the fsync before the rename checks again.
        this.flushedUpTo = upTo;
        // Unless the final fsync (_final) is chained behind it meanwhile: that one is still out.
        if (this.flushing === flush) this.flushing = undefined;
        if (!err) this.onFlushed?.(upTo);
        resolve();
      }),
    );
    this.flushing = flush;
  }

  override _final(callback: (error?: Error | null) => void): void {
    if (!this.syncAtEnd) return callback();
    // After any background flush still out (it holds the descriptor), one fsync of the whole file;
    // kept as `flushing` too, so that a destroy meanwhile closes the descriptor only after it.
    const before = this.flushing ?? Promise.resolve();
    this.flushing = before.then(
      () =>
        new Promise<void>((resolve) =>
          fsync(this.fd, (err) => {
            this.synced = !err;
            resolve();
          }),
        ),
    );
    void this.flushing.then(() => callback());
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    // A flush still in the thread pool holds the descriptor's number: close only after it.
    void (this.flushing ?? Promise.resolve()).then(() => {
      try {
        closeSync(this.fd);
      } catch {
        // already closed
      }
      callback(error);
    });
  }
}
