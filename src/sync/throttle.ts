import { Transform, type TransformCallback } from "node:stream";

/** Largest piece let through at once: keeps each wait short and the rate smooth with big read buffers. */
const SLICE = 64 * 1024;

/**
 * A token bucket shared by all transfers of a job, so `bandwidthLimit` caps the job's total
 * rate whatever the number of connections.
 */
export class Bandwidth {
  private available: number;
  private last = Date.now();
  constructor(private readonly bytesPerSecond: number) {
    // Allow a small burst (a quarter second) so tiny files are not delayed for nothing.
    this.available = bytesPerSecond / 4;
  }

  /** Milliseconds to wait before `bytes` may pass. */
  take(bytes: number): number {
    const now = Date.now();
    this.available = Math.min(this.bytesPerSecond / 4, this.available + ((now - this.last) / 1000) * this.bytesPerSecond);
    this.last = now;
    this.available -= bytes;
    return this.available >= 0 ? 0 : Math.ceil((-this.available / this.bytesPerSecond) * 1000);
  }

  /** The throttling stream; `onPass` is told each piece let through (progress counts bytes there). */
  stream(onPass?: (bytes: number) => void): Transform {
    let timer: NodeJS.Timeout | undefined;
    const bandwidth = this;
    const stream: Transform = new Transform({
      transform(chunk: Buffer, _enc, done: TransformCallback) {
        let offset = 0;
        const next = () => {
          timer = undefined;
          if (stream.destroyed) return;
          if (offset >= chunk.length) return done();
          const piece = chunk.subarray(offset, offset + SLICE);
          offset += piece.length;
          const wait = bandwidth.take(piece.length);
          stream.push(piece);
          onPass?.(piece.length);
          if (wait === 0) next();
          else timer = setTimeout(next, wait);
        };
        next();
      },
      // A transfer cut short (shutdown, error) must not leave a timer holding the process open.
      destroy(err, callback) {
        if (timer) clearTimeout(timer);
        callback(err);
      },
    });
    return stream;
  }
}

/** A stream that lets everything through at once and tells `onPass` each chunk: bytes in flight, for progress. */
export function meterStream(onPass: (bytes: number) => void): Transform {
  return new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      onPass(chunk.length);
      done(null, chunk);
    },
  });
}
