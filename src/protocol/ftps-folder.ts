import { ReplyError } from "./engine/reply-error.js";
import { Readable, type Transform, type Writable } from "node:stream";
import type { RemoteConfig } from "../config/types.js";
import { RemoteError } from "../errors.js";
import type { Capabilities } from "../remote/capabilities.js";
import { classify, kindOfReply } from "./classify.js";
import type { FtpsConnection } from "./connect.js";
import type { Logger } from "../log.js";
import type { RemoteListing } from "../plan/types.js";
import { remoteModifyTime, remoteStamp } from "./exact-times.js";
import { listTree } from "./list-tree.js";
import { downloadStream, emptyUploadSource, ensureRemoteDir, placeFile, uploadStream, remoteSize, removeRemoteDir, removeRemoteFile, renameOver, setRemoteMtime, uploadFile } from "./ops.js";
import { withKnownGroup } from "./key-share.js";
import { FtpsPool } from "./pool.js";
import type { Downloaded, DownloadOptions, KeyShareKnowledge, ServerClock, ServerClockKnowledge, ServerTechniques, HashMethod, ListTreeOptions, PlaceOptions, Placed, Uploaded, RemoteFileNow, RemoteFolder, RemoteStamp, ServerHash, SessionInfo, UploadSource } from "../remote/remote-folder.js";
import type { RetryPolicy } from "../remote/retry.js";
import { serverHash } from "./server-hash.js";
import { statRemoteFile } from "./stat-file.js";
import { estimateStatReplies } from "./stat-listing.js";
import type { ListingLearning } from "./folder-listing.js";
import { describeOffset, probeClock, toleranceOf, zoneOffsetOf } from "./server-clock.js";

/** A listed time this far ahead of this machine's clock hints at a server in local time east of UTC. */
const AHEAD_HINT_MS = 15 * 60_000;

type Connector = ConstructorParameters<typeof FtpsPool>[2];

/**
 * What a failure out of the FTPS code means to the sync core, decided here, once: a server reply
 * (ReplyError) becomes a RemoteError of the reply's kind with the same code and text; a
 * network or TLS failure of Node's becomes a RemoteError of that kind, the original as its cause.
 * RemoteErrors pass as they are, and so does anything else: the caller's own streams, local I/O,
 * a bug (`own`: errors known to come from the caller's sink or source, whatever their code).
 */
export function toRemoteError(err: unknown, own?: ReadonlySet<unknown>): unknown {
  if (err instanceof RemoteError || own?.has(err)) return err;
  if (err instanceof ReplyError) return new RemoteError(err.message, { kind: kindOfReply(err.code), code: err.code, phase: "operation" });
  const { kind } = classify(err);
  if ((kind === "transient" || kind === "tls") && err instanceof Error) {
    return new RemoteError(err.message, { kind, phase: "operation", cause: err });
  }
  return err;
}

/**
 * The remote folder on an FTPS server: the pool's connections, one per call (one
 * operation at a time per connection), and the only place where the FTPS code's errors are seen by
 * the sync core (toRemoteError). A connection whose call failed is never handed out again (FtpsPool).
 */
export class FtpsFolder implements RemoteFolder {
  /** The connections; the agent keeps a job's folder, and so its pool, open between runs. */
  readonly pool: FtpsPool;

  /** What a listing learns of the server (LIST with a path refused), shared with the stat of one file. */
  private readonly learning: ListingLearning;
  /** The server's clock (server-clock.ts): from the profile, or learnt in this session. */
  readonly serverClock: ServerClockKnowledge = {};
  /** The server's key-exchange group (key-share.ts): from the profile, or learnt by the first login. */
  readonly keyShare: KeyShareKnowledge = {};
  /** The clock was measured by a probe file in this session already (or could not be). */
  private clockProbed = false;

  constructor(
    private readonly remote: RemoteConfig,
    private readonly logger?: Logger,
    connector?: Connector,
  ) {
    this.pool = new FtpsPool(remote, logger, connector);
    this.learning = { techniques: this.pool.techniques, logger, name: remote.name };
  }

  /** Shared with the pool, which passes it to each connection it opens and learns into it. */
  get techniques(): ServerTechniques {
    return this.pool.techniques;
  }

  get width(): number {
    return this.pool.width;
  }

  get capabilities(): Capabilities | undefined {
    return this.pool.first?.capabilities;
  }

  get closed(): boolean {
    return this.pool.closed;
  }

  /** One call on one connection, its failure translated. */
  private async use<T>(fn: (c: FtpsConnection) => Promise<T>, own?: ReadonlySet<unknown>): Promise<T> {
    try {
      return await this.pool.use(fn);
    } catch (err) {
      throw toRemoteError(err, own);
    }
  }

  async open(retry?: RetryPolicy, signal?: AbortSignal): Promise<SessionInfo> {
    const server = `${this.remote.host}:${this.remote.port}`;
    // Connection failures are typed by connect.ts already (phase "connect").
    const first = await withKnownGroup(server, this.keyShare, () => this.pool.start(retry, signal));
    return { capabilities: first.capabilities, tls: first.tls };
  }

  /** The first connection opened lists `root` with its login (see FtpsPool.listSoon). */
  listSoon(root: string): void {
    this.pool.listSoon(root);
  }

  warm(count?: number): void {
    this.pool.prefill(count);
  }

  async listTree(root: string, opts: ListTreeOptions): Promise<RemoteListing> {
    const { hints, measureClock, ...rest } = opts;
    try {
      const listing = await listTree(this.pool, root, { ...rest, statReplyEstimates: hints });
      await this.measureClockIfNeeded(root, listing, (opts.now ?? new Date()).getTime(), !!measureClock);
      return listing;
    } catch (err) {
      throw toRemoteError(err);
    }
  }

  /**
   * The server's clock is measured by a probe file, once, before anything is planned: when the run
   * asks for it (two-way: a server in local time west of UTC shows recent edits as hours old, and
   * newer-wins would pick the wrong side), or when the listing shows times well in the future (a
   * server in local time east of UTC shows its recent files so).
   */
  private async measureClockIfNeeded(root: string, listing: RemoteListing, nowMs: number, wanted: boolean): Promise<void> {
    if (this.serverClock.known || this.clockProbed) return;
    const timed = (p: string) => p === "second" || p === "ms" || p === "minute";
    const ahead = [...listing.entries.values()].some((e) => e.modifyMs !== undefined && timed(e.precision) && e.modifyMs > nowMs + AHEAD_HINT_MS);
    // A server whose clock a probe could not measure is not probed again for every run (remembered).
    if (!ahead && (!wanted || this.pool.techniques.known.clockProbe)) return;
    this.clockProbed = true;
    const measured = await this.pool.use((c) => probeClock(c, root, this.learning)).catch((err: Error) => {
      this.logger?.debug(`${this.remote.name}: clock probe in ${root} failed: ${err.message}`);
      return undefined;
    });
    if (measured) this.learnClock(measured.clock, measured.how);
    else if (ahead) this.logger?.info(`${this.remote.name}: the listing shows times in the future and the server's clock could not be measured (a probe file in ${root} could not be written and read back): files dated in the future get the time they are downloaded at`);
    else this.rememberOff("clockProbe", `the server's clock could not be measured (a probe file in ${root} could not be written and read back): its listed times are taken as UTC`);
  }

  /** Remembers a technique the server does not allow, says so once, and stores it in its profile (`check` lists it). */
  private rememberOff(technique: string, reason: string): void {
    const techniques = this.pool.techniques;
    if (techniques.known[technique]) return;
    techniques.known[technique] = reason;
    this.logger?.warn(`${this.remote.name}: ${reason} (remembered for this server)`);
    techniques.onTurnedOff?.(technique, reason);
  }

  /** Remembers the server's clock and says so, once: when it is new or changed. */
  private learnClock(clock: ServerClock, how: string): void {
    const known = this.serverClock.known;
    if (known && known.listingMs === clock.listingMs && (clock.exactMs === undefined || clock.exactMs === known.exactMs)) return;
    const merged: ServerClock = { ...known, ...clock };
    this.serverClock.known = merged;
    const mdtm = merged.exactMs === undefined ? "" : `, ${describeOffset(merged.exactMs)} in MDTM replies`;
    const line = `${this.remote.name}: server clock offset ${describeOffset(merged.listingMs)} in its listings${mdtm} (learnt from ${how})`;
    if (merged.listingMs === 0 && !merged.exactMs) this.logger?.info(`${line}: its times are UTC`);
    else this.logger?.warn(`${line}: downloaded files get the server's times less the offset`);
    this.serverClock.onLearnt?.(merged, how);
  }

  /** STAT reply estimates, which a server without MLSD lists small folders by (list-tree.ts). */
  listingHints(paths: Iterable<[string, { type: "file" | "dir" }]>): Map<string, number> | undefined {
    return this.capabilities?.mlsd === false ? estimateStatReplies(paths) : undefined;
  }

  stat(path: string): Promise<RemoteFileNow | undefined> {
    return this.use((c) => statRemoteFile(c, path, this.learning));
  }

  stamp(path: string): Promise<RemoteStamp> {
    return this.use((c) => remoteStamp(c, path));
  }

  exactTime(path: string): Promise<number | undefined> {
    return this.use((c) => remoteModifyTime(c, path));
  }

  size(path: string): Promise<number> {
    return this.use((c) => remoteSize(c, path));
  }

  hash(path: string, method?: HashMethod): Promise<ServerHash | undefined> {
    return this.use((c) => serverHash(c, path, method));
  }

  upload(path: string, source: UploadSource, opts: { append?: boolean; throttle?: () => Transform } = {}): Promise<Uploaded> {
    if ("fd" in source) {
      const startAt = opts.append ? (source.startAt ?? 0) : 0;
      return this.use((c) =>
        uploadFile(c, source.fd, path, { startAt, append: opts.append, size: source.size, empty: source.size === 0, throttle: opts.throttle }),
      );
    }
    return this.use(async (c) => {
      let stream: Readable = source.bytes.length === 0 ? emptyUploadSource() : Readable.from([source.bytes]);
      if (opts.throttle) stream = stream.pipe(opts.throttle());
      try {
        return await uploadStream(c, stream, path, !!opts.append);
      } finally {
        stream.destroy();
      }
    });
  }

  /**
   * RETR (REST `startAt`) into `sink`. The sink's own failure (too many bytes, a range complete,
   * bytes that differ) is what this rejects with, unchanged; the connection, then mid-transfer,
   * is closed by the pool.
   */
  async download(path: string, sink: Writable, startAt = 0, opts: DownloadOptions = {}): Promise<Downloaded> {
    const own = new Set<unknown>();
    const note = (err: unknown) => own.add(err);
    sink.on("error", note);
    try {
      return await this.use((c) => downloadStream(c, sink, path, startAt, opts.onTimeBefore), own);
    } finally {
      sink.off("error", note);
    }
  }

  rename(from: string, to: string, expectedSize?: number): Promise<string | undefined> {
    return this.use((c) => renameOver(c, from, to, expectedSize));
  }

  /**
   * placeFile, and where MFMT's reply shows another time than was sent (a server in local time),
   * the file's time as the listing shows it: recorded as such, the next listing compares equal,
   * and the offset between the two is the server's (learnt once). MLSD in UTC stays trusted as
   * UTC whatever the reply shows.
   */
  async place(temp: string, target: string, opts: PlaceOptions): Promise<Placed> {
    const { mfmtReplyMs, ...placed } = await this.use((c) => placeFile(c, temp, target, opts, this.learning));
    if (!placed.mtimeSet || opts.mtimeMs === undefined || mfmtReplyMs === undefined) return placed;
    const sent = Math.floor(opts.mtimeMs / 1000) * 1000;
    if (mfmtReplyMs === sent) return placed;
    const listed = await this.stat(target).catch(() => undefined);
    if (listed?.modifyMs === undefined) return placed;
    const offset = zoneOffsetOf(listed.modifyMs - sent, toleranceOf(listed.precision));
    if (offset !== undefined) this.learnClock({ listingMs: offset }, `MFMT's reply (${describeOffset(mfmtReplyMs - sent)} from the time sent) and the file's time as listed`);
    return { ...placed, listed };
  }

  mkdir(path: string): Promise<void> {
    return this.use((c) => ensureRemoteDir(c, path));
  }

  remove(path: string): Promise<void> {
    return this.use((c) => removeRemoteFile(c, path));
  }

  removeDir(path: string): Promise<void> {
    return this.use((c) => removeRemoteDir(c, path));
  }

  setTime(path: string, ms: number): Promise<boolean> {
    return this.use((c) => setRemoteMtime(c, path, ms));
  }

  close(): Promise<void> {
    return this.pool.close();
  }

  destroy(): void {
    this.pool.destroy();
  }
}
