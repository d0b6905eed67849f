import type { Transform, Writable } from "node:stream";
import { RemoteError } from "../errors.js";
import type { Capabilities } from "./capabilities.js";
import type { RemoteListing } from "../plan/types.js";
import type {
  Downloaded,
  DownloadOptions,
  ServerTechniques,
  KeyShareKnowledge, ServerClockKnowledge,
  HashMethod,
  ListTreeOptions,
  Uploaded,
  PlaceOptions,
  Placed,
  RemoteFileNow,
  RemoteFolder,
  RemoteStamp,
  ServerHash,
  SessionInfo,
  UploadSource,
} from "./remote-folder.js";
import { withRetry, type RetryPolicy } from "./retry.js";

export interface RetryingOptions {
  /** Stops retrying: a failure after the abort, or an abort during a wait, ends the call. */
  signal?: AbortSignal;
  /** Told before each wait, e.g. to log it. */
  onRetry?: (err: unknown, attempt: number, delayMs: number, call: { method: string; path: string }) => void;
}

/** Only what the folder itself calls transient is worth another attempt; anything else is thrown at once. */
const isTransient = (err: unknown) => err instanceof RemoteError && err.kind === "transient";

/**
 * A remote folder whose idempotent calls are retried within `policy`, for transient failures
 * only (the folder decides the kind, once), as restic wraps its backends in a retry backend.
 *
 * Retried: stat, stamp, exactTime, size, hash (they only read), mkdir (a folder that exists is
 * fine), setTime (setting a time twice sets it once), removeDir (it removes only an empty folder,
 * so a second attempt cannot lose anything; after a first attempt that did remove it, the retry
 * says 550, which callers take as gone).
 *
 * Passed through, for the caller to decide:
 * - upload: a transfer cut midway left bytes on the server; the caller knows whether to resume
 *   (append from what is there) or start over, and from which offset its source reads;
 * - download: the sink holds the bytes that came; only the caller can continue at its offset;
 * - rename: a rename whose reply was lost may have happened: the source is gone and a second
 *   attempt would fail, or (moved aside and put back) leave the old file where the caller must
 *   look for it;
 * - remove: a second DELE after a lost reply could delete a file a partner put there meanwhile;
 * - open and listTree retry within the policy they are given themselves (listTree per folder,
 *   so that one folder's failure does not list the whole tree again).
 */
export function retrying(folder: RemoteFolder, policy: RetryPolicy, opts: RetryingOptions = {}): RemoteFolder {
  return new RetryingFolder(folder, policy, opts);
}

class RetryingFolder implements RemoteFolder {
  constructor(
    private readonly inner: RemoteFolder,
    private readonly policy: RetryPolicy,
    private readonly opts: RetryingOptions,
  ) {}

  get width(): number {
    return this.inner.width;
  }

  get capabilities(): Capabilities | undefined {
    return this.inner.capabilities;
  }

  get closed(): boolean {
    return this.inner.closed;
  }

  private retried<T>(method: string, path: string, fn: () => Promise<T>): Promise<T> {
    const onRetry = this.opts.onRetry;
    return withRetry(fn, this.policy, {
      signal: this.opts.signal,
      retryIf: isTransient,
      ...(onRetry ? { onRetry: (err: unknown, attempt: number, delayMs: number) => onRetry(err, attempt, delayMs, { method, path }) } : {}),
    });
  }

  get techniques(): ServerTechniques | undefined {
    return this.inner.techniques;
  }

  get serverClock(): ServerClockKnowledge | undefined {
    return this.inner.serverClock;
  }

  get keyShare(): KeyShareKnowledge | undefined {
    return this.inner.keyShare;
  }

  open(retry?: RetryPolicy, signal?: AbortSignal): Promise<SessionInfo> {
    return this.inner.open(retry, signal);
  }

  listSoon(root: string): void {
    this.inner.listSoon?.(root);
  }

  warm(count?: number): void {
    this.inner.warm(count);
  }

  listTree(root: string, opts: ListTreeOptions): Promise<RemoteListing> {
    return this.inner.listTree(root, opts);
  }

  listingHints(paths: Iterable<[string, { type: "file" | "dir" }]>): Map<string, number> | undefined {
    return this.inner.listingHints(paths);
  }

  stat(path: string): Promise<RemoteFileNow | undefined> {
    return this.retried("stat", path, () => this.inner.stat(path));
  }

  stamp(path: string): Promise<RemoteStamp> {
    return this.retried("stamp", path, () => this.inner.stamp(path));
  }

  exactTime(path: string): Promise<number | undefined> {
    return this.retried("exactTime", path, () => this.inner.exactTime(path));
  }

  size(path: string): Promise<number> {
    return this.retried("size", path, () => this.inner.size(path));
  }

  hash(path: string, method?: HashMethod): Promise<ServerHash | undefined> {
    return this.retried("hash", path, () => this.inner.hash(path, method));
  }

  upload(path: string, source: UploadSource, opts?: { append?: boolean; throttle?: () => Transform }): Promise<Uploaded> {
    return this.inner.upload(path, source, opts);
  }

  download(path: string, sink: Writable, startAt?: number, opts?: DownloadOptions): Promise<Downloaded> {
    return this.inner.download(path, sink, startAt, opts);
  }

  rename(from: string, to: string, expectedSize?: number): Promise<string | undefined> {
    return this.inner.rename(from, to, expectedSize);
  }

  /** Not retried: a rename is a sequence its caller knows how to repeat. */
  place(temp: string, target: string, opts: PlaceOptions): Promise<Placed> {
    return this.inner.place(temp, target, opts);
  }

  mkdir(path: string): Promise<void> {
    return this.retried("mkdir", path, () => this.inner.mkdir(path));
  }

  remove(path: string): Promise<void> {
    return this.inner.remove(path);
  }

  removeDir(path: string): Promise<void> {
    return this.retried("removeDir", path, () => this.inner.removeDir(path));
  }

  setTime(path: string, ms: number): Promise<boolean> {
    return this.retried("setTime", path, () => this.inner.setTime(path, ms));
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  destroy(): void {
    this.inner.destroy();
  }
}
