import { Transform, type TransformCallback } from "node:stream";

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

  stream(): Transform {
    return new Transform({
      transform: (chunk: Buffer, _enc, done: TransformCallback) => {
        const wait = this.take(chunk.length);
        if (wait === 0) done(null, chunk);
        else setTimeout(() => done(null, chunk), wait);
      },
    });
  }
}
