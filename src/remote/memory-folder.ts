import { createHash } from "node:crypto";
import { readSync } from "node:fs";
import { Readable, Writable, type Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { RemoteError, type RemoteErrorKind } from "../errors.js";
import type { Capabilities } from "./capabilities.js";
import { tempNameFor } from "../local/temp-names.js";
import type { RemoteListing, TimePrecision } from "../plan/types.js";
import { ListingCollector, walkFolders, type ListedItem } from "./listing-collector.js";
import {
  placeStepByStep,
  RemoteRootMissing,
  type Downloaded,
  type DownloadOptions,
  type HashMethod,
  type PlaceOptions,
  type Uploaded,
  type Placed,
  type ListTreeOptions,
  type RemoteFileNow,
  type RemoteFolder,
  type RemoteStamp,
  type ServerHash,
  type SessionInfo,
  type UploadSource,
} from "./remote-folder.js";
import { RenameRefused } from "./rename-refused.js";
import { sleep, withRetry, type RetryPolicy } from "./retry.js";
import { chooseHashMethod } from "./hash-methods.js";

/**
 * A server in memory: the remote-folder interface over a tree of folders and files, with the
 * semantics an FTPS server shows (550 for a path that is not there, MKD of an existing folder is
 * fine, STOR replaces, APPE appends, RNTO onto a file replaces it or is refused), for engine tests
 * that run in milliseconds. Faults are injected per call (fail, cut a transfer, slow down), a hook
 * runs between the chunks of a transfer, and every call is logged.
 *
 * Names go through the same ListingCollector as the FTPS listing, so a hostile name seeded here
 * (putName) is refused by the same code.
 */

/** The calls a fault can match: the interface's methods, a folder's listing ("list"), and the steps of a rename that replaces a file. */
export type MemoryMethod =
  | "open"
  | "listTree"
  | "list"
  | "stat"
  | "stamp"
  | "exactTime"
  | "size"
  | "hash"
  | "upload"
  | "download"
  | "rename"
  | "mkdir"
  | "remove"
  | "removeDir"
  | "setTime"
  /** A rename the server refused onto an existing file: the old file moved aside... */
  | "rename.aside"
  /** ...the new one renamed into place... */
  | "rename.place"
  /** ...the old one put back when the new one could not be placed... */
  | "rename.putBack"
  /** ...or the aside copy deleted once it was. */
  | "rename.removeAside";

/** One call as the folder saw it: `path` the path asked for (a rename's source), `to` a rename's target. */
export interface CallRecord {
  method: MemoryMethod;
  path: string;
  to?: string;
}

/** Which calls a fault applies to. */
export interface CallMatch {
  method: MemoryMethod | MemoryMethod[];
  /** The path (a rename's source or target): exactly, by pattern, or by test. Any path when absent. */
  path?: string | RegExp | ((path: string) => boolean);
  /** The first matching call (1-based) the fault fires on. Default 1. */
  nth?: number;
  /** How many matching calls from the nth it fires on. Default: one when `nth` is given, else every one. */
  times?: number;
}

/** A fault's error: one object, or made anew for each call. */
export type FaultError = Error | ((call: CallRecord) => Error);

export interface Fault {
  /** How many calls it fired on. */
  readonly hits: number;
  remove(): void;
}

/** Between two chunks of a transfer: `offset` is where the next chunk starts in the file (download) or how many bytes arrived (upload). */
export interface ChunkEvent {
  method: "upload" | "download";
  path: string;
  offset: number;
}

/**
 * How the listing (and stat) tells times:
 * - "ms": as MLSD with fractions (precision "ms", or "second" when the time is a whole second);
 * - "second": as MLSD (the default);
 * - "minute": as a DOS LIST (IIS): always to the minute;
 * - "list": as a Unix LIST (vsftpd): to the minute, and to the day for a file older than six
 *   months or dated in the future (by the server's clock).
 */
export type ListingPrecision = "ms" | "second" | "minute" | "list";

export interface MemoryFolderOptions {
  /** How many calls may run at once (the FTPS pool's connections); more wait. Default 4. */
  width?: number;
  /** What the server offers. Default: MLSD (unless `precision` says LIST), MFMT, MDTM, SIZE, UTF8, REST STREAM, HASH SHA-256. */
  capabilities?: Partial<Omit<Capabilities, "features">>;
  precision?: ListingPrecision;
  /** The server's clock (epoch ms): the time of an upload, a new folder, a changed folder. Default Date.now. */
  clock?: () => number;
  /**
   * Whether a rename onto an existing file replaces it (vsftpd, ProFTPD with AllowOverwrite).
   * false: refused, as ProFTPD without AllowOverwrite and Pure-FTPd do; rename() then moves the
   * old file aside first, as ops.ts's renameOver does. Default true.
   */
  renameOverwrite?: boolean;
  /** Bytes per chunk of a transfer (what the chunk hook and backpressure see). Default 64 KiB. */
  chunkSize?: number;
}

/** A RemoteError as a server would give it; `code` defaults by kind (421, 550, 530, none, 552). */
export function injectedError(kind: RemoteErrorKind, code?: number, message?: string): RemoteError {
  const c = code ?? { transient: 421, path: 550, auth: 530, tls: undefined, space: 552 }[kind];
  return new RemoteError(message ?? `${c ?? kind} (injected ${kind} failure)`, { kind, code: c, phase: "operation" });
}

class FileNode {
  readonly type = "file";
  /** The bytes in parts: an upload appends chunks without copying all that came before. */
  private parts: Buffer[] = [];
  constructor(
    public mtime: number,
    bytes?: Buffer,
  ) {
    if (bytes) this.parts = [bytes];
  }
  get bytes(): Buffer {
    if (this.parts.length !== 1) this.parts = [Buffer.concat(this.parts)];
    return this.parts[0];
  }
  set bytes(b: Buffer) {
    this.parts = [b];
  }
  append(chunk: Buffer): void {
    this.parts.push(chunk);
  }
}

class DirNode {
  readonly type = "dir";
  readonly children = new Map<string, Node>();
  constructor(public mtime: number) {}
}

class OtherNode {
  constructor(
    readonly type: "symlink" | "other",
    public mtime: number,
  ) {}
}

type Node = FileNode | DirNode | OtherNode;

/** A server's refusal of one step (a reply code and its text); undefined when the step succeeded. */
type Refusal = { code: number; message: string } | undefined;

interface Rule extends CallMatch {
  kind: "fail" | "cut" | "slow" | "lostReply";
  error?: FaultError;
  afterBytes?: number;
  delayMs?: number;
  seen: number;
  hits: number;
}

/** What the rules that fired on one call ask for. */
interface Fired {
  delayMs: number;
  error?: Error;
  /** Thrown after the call did its work (the reply lost with the connection). */
  errorAfter?: Error;
  cutAfter?: number;
  cutError?: FaultError;
}

const DAY = 86_400_000;
/** A Unix LIST shows the year instead of the time for files older than this (vsftpd's ls.c). */
const SIX_MONTHS = 182 * DAY;

const notThere = (what: string) => new RemoteError(`${what}: No such file or directory`, { code: 550, kind: "path", phase: "operation" });
const refusedError = (what: string, message: string, code = 550) => new RemoteError(`${what}: ${message}`, { code, kind: code < 500 ? "transient" : "path", phase: "operation" });

export class MemoryFolder implements RemoteFolder {
  readonly width: number;
  /** Every call, in order (see CallRecord). */
  readonly calls: CallRecord[] = [];
  /** The most calls that ran at once. */
  maxInFlight = 0;

  private readonly root: DirNode;
  private readonly caps: Capabilities;
  private readonly precision: ListingPrecision;
  private readonly clock: () => number;
  private readonly renameOverwrite: boolean;
  private readonly chunkSize: number;
  private readonly rules: Rule[] = [];
  private readonly hooks: ((ev: ChunkEvent) => void | Promise<void>)[] = [];
  private readonly transfers = new Set<Readable | Writable>();
  private readonly waiting: (() => void)[] = [];
  private inFlight = 0;
  private opened = false;
  private shut = false;

  constructor(opts: MemoryFolderOptions = {}) {
    this.width = opts.width ?? 4;
    this.precision = opts.precision ?? "second";
    this.clock = opts.clock ?? Date.now;
    this.renameOverwrite = opts.renameOverwrite ?? true;
    this.chunkSize = opts.chunkSize ?? 64 * 1024;
    this.caps = capabilitiesOf(opts.capabilities ?? {}, this.precision);
    this.root = new DirNode(this.clock());
  }

  get capabilities(): Capabilities | undefined {
    return this.opened ? this.caps : undefined;
  }

  get closed(): boolean {
    return this.shut;
  }

  // ---- test helpers: seed and inspect -------------------------------------------------------

  /**
   * Puts a file at `path`, making its folders as needed. A file already there is changed in
   * place (a download reading it sees the change, as a server reading a file rewritten in place).
   */
  put(path: string, bytes: Buffer | string, mtime = this.clock()): void {
    const names = segments(path);
    const parent = this.ensureDirs(names.slice(0, -1));
    this.putIn(parent, names.at(-1)!, typeof bytes === "string" ? Buffer.from(bytes) : bytes, mtime);
  }

  /** Makes a folder and its parents; sets its time when given. */
  putDir(path: string, mtime?: number): void {
    const dir = this.ensureDirs(segments(path));
    if (mtime !== undefined) dir.mtime = mtime;
  }

  /**
   * Puts an entry of any name, a hostile one included ("a/b", "..", "x\n", an NFD spelling), in
   * the folder `folder` (made as needed): a file, a folder, or a symbolic link.
   */
  putName(folder: string, name: string, what: Buffer | string | { type: "dir" | "symlink" }, mtime = this.clock()): void {
    const parent = this.ensureDirs(segments(folder));
    if (Buffer.isBuffer(what) || typeof what === "string") this.putIn(parent, name, Buffer.from(what), mtime);
    else parent.children.set(name, what.type === "dir" ? new DirNode(mtime) : new OtherNode("symlink", mtime));
  }

  /** A file's bytes; undefined when no file is there. */
  read(path: string): Buffer | undefined {
    const node = this.lookup(path);
    return node instanceof FileNode ? Buffer.from(node.bytes) : undefined;
  }

  /** What is at `path`, with its exact time (not as a listing tells it); undefined when nothing is. */
  info(path: string): { type: "file" | "dir" | "symlink" | "other"; size: number; mtime: number } | undefined {
    const node = this.lookup(path);
    if (!node) return undefined;
    return { type: node.type, size: node instanceof FileNode ? node.bytes.length : 0, mtime: node.mtime };
  }

  /**
   * Everything under `root`, by path relative to it, as the server spells it: a file's bytes as
   * UTF-8 text, null for a folder. Symbolic links are left out. Sorted by path.
   */
  tree(root = "/"): Record<string, string | null> {
    const out: [string, string | null][] = [];
    const start = this.lookup(root);
    const walk = (dir: DirNode, prefix: string) => {
      for (const [name, node] of dir.children) {
        const rel = prefix + name;
        if (node instanceof FileNode) out.push([rel, node.bytes.toString("utf8")]);
        else if (node instanceof DirNode) {
          out.push([rel, null]);
          walk(node, rel + "/");
        }
      }
    };
    if (start instanceof DirNode) walk(start, "");
    return Object.fromEntries(out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  /** The calls of one method, as their paths (a rename's as "from -> to"). */
  pathsOf(method: MemoryMethod): string[] {
    return this.calls.filter((c) => c.method === method).map((c) => (c.to === undefined ? c.path : `${c.path} -> ${c.to}`));
  }

  // ---- fault injection ----------------------------------------------------------------------

  /** Matching calls fail with `error` (default: a transient 421) before they do anything. */
  fail(match: CallMatch & { error?: FaultError }): Fault {
    return this.addRule({ ...match, kind: "fail" });
  }

  /**
   * Matching calls do their work, then fail with `error` (default: a transient connection closed):
   * the connection dropped before the server's reply came.
   */
  loseReply(match: CallMatch & { error?: FaultError }): Fault {
    return this.addRule({ ...match, kind: "lostReply" });
  }

  /**
   * Matching transfers (upload, download) are cut once `afterBytes` bytes have passed, with
   * `error` (default: a transient RemoteError, a connection closed). An upload keeps what arrived,
   * as a server keeps a partial file; a transfer of exactly `afterBytes` bytes is cut before it
   * completes, as when the connection drops before the server's final reply.
   */
  cut(match: CallMatch & { method: "upload" | "download" | ("upload" | "download")[]; afterBytes: number; error?: FaultError }): Fault {
    return this.addRule({ ...match, kind: "cut" });
  }

  /** Matching calls (all calls when `match` has no method) wait `delayMs` before they run. */
  slow(delayMs: number, match: Partial<CallMatch> = {}): Fault {
    return this.addRule({ method: [], ...match, kind: "slow", delayMs });
  }

  /**
   * Runs `hook` between the chunks of every transfer (awaited: the transfer waits for it), e.g.
   * to change a file while it is being read. Returns a function that removes the hook.
   */
  onChunk(hook: (ev: ChunkEvent) => void | Promise<void>): () => void {
    this.hooks.push(hook);
    return () => {
      const i = this.hooks.indexOf(hook);
      if (i >= 0) this.hooks.splice(i, 1);
    };
  }

  // ---- the interface ------------------------------------------------------------------------

  async open(retry?: RetryPolicy, signal?: AbortSignal): Promise<SessionInfo> {
    try {
      await withRetry(() => this.call("open", "/", () => undefined), retry ?? { attempts: 1, initialDelayMs: 0, maxDelayMs: 0 }, { signal });
    } catch (err) {
      // As the FTPS pool's first connection: a failure to open is of phase "connect" (exit 4).
      if (!(err instanceof RemoteError)) throw err;
      throw new RemoteError(`cannot open a session: ${err.message}`, { kind: err.kind, code: err.code, fault: err.fault, phase: "connect", cause: err });
    }
    this.opened = true;
    return { capabilities: this.caps };
  }

  warm(): void {}

  listingHints(): Map<string, number> | undefined {
    return undefined;
  }

  /**
   * The tree under `root`, `width` folders at a time, each folder's listing retried within
   * `opts.retry` (as the FTPS listing does); a folder that still fails is in failedDirs.
   */
  async listTree(root: string, opts: ListTreeOptions): Promise<RemoteListing> {
    // Like CWD before the FTPS listing: a missing root is told apart from an empty one.
    await withRetry(
      () =>
        this.call("listTree", root, () => {
          if (!(this.lookup(root) instanceof DirNode)) throw new RemoteRootMissing(`remote folder ${root} does not exist`);
        }),
      opts.retry,
      { signal: opts.signal },
    );
    const collector = new ListingCollector(root, opts.accept, opts.logger);
    const list = (_dir: string, serverDir: string) => withRetry(() => this.call("list", serverDir, () => this.listFolder(serverDir)), opts.retry, { signal: opts.signal });
    await walkFolders(this.width, opts.signal, [""], (queue) => collector.listOne(queue.shift()!, list, (item: ListedItem) => item));
    return collector.result();
  }

  stat(path: string): Promise<RemoteFileNow | undefined> {
    return this.call("stat", path, () => {
      const node = this.lookup(path);
      if (!(node instanceof FileNode) && !(node instanceof DirNode)) return undefined;
      return { type: node.type, size: node instanceof FileNode ? node.bytes.length : 0, ...this.listedTime(node.mtime) };
    });
  }

  stamp(path: string): Promise<RemoteStamp> {
    return this.call("stamp", path, () => {
      const node = this.lookup(path);
      // MLST where offered (a folder has a time and no size), else SIZE and MDTM, as remoteStamp asks.
      if (this.caps.mlsd && (node instanceof FileNode || node instanceof DirNode)) {
        const t = this.precision === "ms" ? node.mtime : floorTo(node.mtime, 1000);
        return node instanceof FileNode ? { size: node.bytes.length, modifyMs: t } : { modifyMs: t };
      }
      if (!this.caps.size && !this.caps.mdtm) return { modifyMs: undefined };
      if (!(node instanceof FileNode)) throw notThere(`SIZE ${path}`);
      return {
        ...(this.caps.size ? { size: node.bytes.length } : {}),
        modifyMs: this.caps.mdtm ? floorTo(node.mtime, 1000) : undefined,
      };
    });
  }

  exactTime(path: string): Promise<number | undefined> {
    return this.call("exactTime", path, () => {
      if (!this.caps.mdtm) return undefined;
      return floorTo(this.fileAt(path, "MDTM").mtime, 1000);
    });
  }

  size(path: string): Promise<number> {
    return this.call("size", path, () => {
      if (!this.caps.size) throw refusedError(`SIZE ${path}`, "command not understood", 500);
      return this.fileAt(path, "SIZE").bytes.length;
    });
  }

  /** The file's real checksum (node:crypto) by `method` or the best offered; undefined where a server would not say. */
  hash(path: string, method?: HashMethod): Promise<ServerHash | undefined> {
    return this.call("hash", path, () => {
      const m = method ?? chooseHashMethod(this.caps);
      if (!m) return undefined;
      const offered = m.command === "HASH" ? this.caps.hash.includes(m.algorithm) : this.caps.hashCommands.includes(m.command);
      const node = this.lookup(path);
      // A server refuses (5xx) to hash a folder or a missing path: no answer, as serverHash says.
      if (!offered || !(node instanceof FileNode)) return undefined;
      return { algorithm: m.algorithm, hex: createHash(m.nodeName).update(node.bytes).digest("hex"), command: m.command };
    });
  }

  /**
   * STOR (or APPE with `append`): the file is emptied (or kept, to append) first, then each chunk
   * lands as it arrives, stamped by the server's clock; a transfer cut midway leaves what arrived.
   * An open file is read from 0 (or `startAt` when appending) up to `size`, as the FTPS upload does.
   */
  upload(path: string, source: UploadSource, opts: { append?: boolean; throttle?: () => Transform } = {}): Promise<Uploaded> {
    return this.call("upload", path, async (fired): Promise<Uploaded> => {
      const { parent, name } = this.parentOf(path, opts.append ? "APPE" : "STOR");
      const existing = parent.children.get(name);
      if (existing && !(existing instanceof FileNode)) throw refusedError(`STOR ${path}`, "Not a regular file");
      const now = this.clock();
      let file = existing;
      if (!file) {
        file = new FileNode(now, Buffer.alloc(0));
        parent.children.set(name, file);
        parent.mtime = now;
      } else if (!opts.append) {
        file.bytes = Buffer.alloc(0); // O_TRUNC: the same file, emptied
      }
      file.mtime = now;
      const node = file;
      let received = 0;
      const cutError = () => this.cutError(fired, "upload", path);
      const into = new Writable({
        highWaterMark: this.chunkSize,
        write: (chunk: Buffer, _enc, done) => {
          const run = async () => {
            const take = fired.cutAfter === undefined ? chunk.length : Math.min(chunk.length, fired.cutAfter - received);
            if (take > 0) {
              node.append(Buffer.from(chunk.subarray(0, take)));
              node.mtime = this.clock();
              received += take;
            }
            if (fired.cutAfter !== undefined && received >= fired.cutAfter) throw cutError();
            if (this.shut) throw this.cutByDestroy(path);
            await this.runHooks({ method: "upload", path, offset: received });
          };
          run().then(() => done(), done);
        },
        final: (done) => done(fired.cutAfter !== undefined && received >= fired.cutAfter ? cutError() : undefined),
      });
      const from = Readable.from(chunksOf(source, !!opts.append, this.chunkSize), { objectMode: false });
      const streams: (Readable | Writable)[] = opts.throttle ? [from, opts.throttle(), into] : [from, into];
      for (const s of streams) this.transfers.add(s);
      try {
        await pipeline(streams);
      } finally {
        for (const s of streams) this.transfers.delete(s);
      }
      // An FTPS server answers SIZE asked in the same write as the STOR; this one is asked apart.
      return {};
    });
  }

  /**
   * RETR from `startAt` into `sink`, a chunk at a time as the sink asks for them (a pipe: the
   * sink's backpressure holds the reading), ending the sink after the last byte. The file is read
   * as it is when each chunk is read: a change meanwhile is seen, as a server sees a file being
   * rewritten. Rejects with the sink's own error when the sink fails.
   */
  download(path: string, sink: Writable, startAt = 0, opts: DownloadOptions = {}): Promise<Downloaded> {
    return this.call("download", path, async (fired): Promise<Downloaded> => {
      if (opts.onTimeBefore) opts.onTimeBefore(this.caps.mdtm ? floorTo(this.fileAt(path, "MDTM").mtime, 1000) : undefined);
      const node = this.fileAt(path, "RETR");
      if (startAt > 0 && !this.caps.restStream) throw refusedError(`REST ${startAt}`, "command not implemented", 502);
      let pos = startAt;
      let sent = 0;
      const source = new Readable({
        highWaterMark: this.chunkSize,
        read: () => {
          const run = async () => {
            if (pos > startAt) await this.runHooks({ method: "download", path, offset: pos });
            if (this.shut) throw this.cutByDestroy(path);
            if (fired.cutAfter !== undefined && sent >= fired.cutAfter) throw this.cutError(fired, "download", path);
            const room = fired.cutAfter === undefined ? this.chunkSize : Math.min(this.chunkSize, fired.cutAfter - sent);
            const chunk = Buffer.from(node.bytes.subarray(pos, pos + room));
            if (chunk.length === 0) {
              // The end of the file, unless a cut was due right here (no final reply either).
              if (fired.cutAfter !== undefined && sent >= fired.cutAfter) throw this.cutError(fired, "download", path);
              source.push(null);
              return;
            }
            pos += chunk.length;
            sent += chunk.length;
            source.push(chunk);
          };
          run().catch((err) => source.destroy(err));
        },
      });
      this.transfers.add(source);
      try {
        await pipeline(source, sink);
      } finally {
        this.transfers.delete(source);
      }
      // Asked apart (stamp()), where an FTPS server answers in the same write as the RETR.
      return {};
    });
  }

  /**
   * RNFR and RNTO. Onto an existing file the server either replaces it or (renameOverwrite false)
   * refuses; then, as ops.ts's renameOver does, the old file is moved aside, the new one put in
   * place (its size checked with `expectedSize`), and the aside copy deleted, or put back when the
   * new one could not be placed. Each of those steps is a call faults can match (rename.aside,
   * rename.place, rename.putBack, rename.removeAside), refused with the fault's code (default 550).
   */
  rename(from: string, to: string, expectedSize?: number): Promise<string | undefined> {
    return this.call("rename", from, () => this.renameOver(from, to, expectedSize), to);
  }

  /** One call at a time (setTime, rename, stat), each matched by faults as itself. */
  place(temp: string, target: string, opts: PlaceOptions): Promise<Placed> {
    return placeStepByStep(this, temp, target, opts);
  }

  mkdir(path: string): Promise<void> {
    return this.call("mkdir", path, () => {
      const node = this.lookup(path);
      if (node instanceof DirNode) return; // MKD refused, CWD accepted: it already exists
      if (node) throw refusedError(`MKD ${path}`, "File exists");
      const { parent, name } = this.parentOf(path, "MKD");
      const now = this.clock();
      parent.children.set(name, new DirNode(now));
      parent.mtime = now;
    });
  }

  remove(path: string): Promise<void> {
    return this.call("remove", path, () => {
      const refused = this.deleteNow(path);
      if (refused) throw refusedError(`DELE ${path}`, refused.message, refused.code);
    });
  }

  removeDir(path: string): Promise<void> {
    return this.call("removeDir", path, () => {
      const node = this.lookup(path);
      if (!(node instanceof DirNode)) throw notThere(`RMD ${path}`);
      if (node === this.root) throw refusedError(`RMD ${path}`, "Permission denied");
      if (node.children.size > 0) throw refusedError(`RMD ${path}`, "Directory not empty");
      const { parent, name } = this.parentOf(path, "RMD");
      parent.children.delete(name);
      parent.mtime = this.clock();
    });
  }

  /** MFMT: to the second, as MFMT's time-val carries it. False without MFMT or when the server refuses (not there). */
  setTime(path: string, ms: number): Promise<boolean> {
    return this.call("setTime", path, () => {
      if (!this.caps.mfmt) return false;
      const node = this.lookup(path);
      if (!(node instanceof FileNode) && !(node instanceof DirNode)) return false;
      node.mtime = floorTo(ms, 1000);
      return true;
    });
  }

  async close(): Promise<void> {
    this.shut = true;
  }

  /** Cuts every transfer in flight (a transient error, as a connection closed under it). */
  destroy(): void {
    this.shut = true;
    for (const s of this.transfers) s.destroy(this.cutByDestroy("a transfer"));
    this.transfers.clear();
  }

  // ---- calls: the log, the width, the faults -------------------------------------------------

  private async call<T>(method: MemoryMethod, path: string, run: (fired: Fired) => T | Promise<T>, to?: string): Promise<T> {
    const record: CallRecord = to === undefined ? { method, path } : { method, path, to };
    this.calls.push(record);
    if (this.shut) throw new RemoteError("the remote folder is closed", { kind: "path", phase: "operation" });
    const fired = this.fire(record);
    await this.acquire();
    try {
      if (fired.delayMs > 0) await sleep(fired.delayMs);
      if (this.shut) throw this.cutByDestroy(path);
      if (fired.error) throw fired.error;
      const result = await run(fired);
      if (fired.errorAfter) throw fired.errorAfter;
      return result;
    } finally {
      this.release();
    }
  }

  /** One step inside a call (a rename's): logged and matched by faults, run at once; a fault makes it a refusal. */
  private step(method: MemoryMethod, path: string, to: string | undefined, run: () => Refusal): Refusal {
    const record: CallRecord = to === undefined ? { method, path } : { method, path, to };
    this.calls.push(record);
    const fired = this.fire(record);
    if (fired.error) return { code: (fired.error as { code?: number }).code ?? 550, message: fired.error.message };
    return run();
  }

  private addRule(rule: Omit<Rule, "seen" | "hits">): Fault {
    const r: Rule = { ...rule, seen: 0, hits: 0 };
    this.rules.push(r);
    const rules = this.rules;
    return {
      get hits() {
        return r.hits;
      },
      remove() {
        const i = rules.indexOf(r);
        if (i >= 0) rules.splice(i, 1);
      },
    };
  }

  /** Counts the call against every rule that matches it, and gathers what the rules that fire on it ask. */
  private fire(call: CallRecord): Fired {
    const fired: Fired = { delayMs: 0 };
    for (const rule of this.rules) {
      if (!matches(rule, call)) continue;
      rule.seen++;
      const first = rule.nth ?? 1;
      const times = rule.times ?? (rule.nth !== undefined ? 1 : Infinity);
      if (rule.seen < first || rule.seen >= first + times) continue;
      rule.hits++;
      if (rule.kind === "slow") fired.delayMs += rule.delayMs ?? 0;
      else if (rule.kind === "cut") {
        if (fired.cutAfter === undefined || rule.afterBytes! < fired.cutAfter) [fired.cutAfter, fired.cutError] = [rule.afterBytes!, rule.error];
      } else if (rule.kind === "lostReply") {
        fired.errorAfter ??= errorOf(rule.error, call) ?? new RemoteError(`${call.path}: the connection was closed before the reply (injected)`, { kind: "transient", fault: "closed", phase: "operation" });
      } else if (!fired.error) fired.error = errorOf(rule.error, call) ?? injectedError("transient", 421);
    }
    return fired;
  }

  private cutError(fired: Fired, method: string, path: string): Error {
    return (
      errorOf(fired.cutError, { method: method as MemoryMethod, path }) ??
      new RemoteError(`${path}: the connection was cut after ${fired.cutAfter} bytes (injected)`, { kind: "transient", fault: "closed", phase: "operation" })
    );
  }

  private cutByDestroy(path: string): RemoteError {
    return new RemoteError(`${path}: the connection was closed (the remote folder was destroyed)`, { kind: "transient", fault: "closed", phase: "operation" });
  }

  private async runHooks(ev: ChunkEvent): Promise<void> {
    for (const hook of [...this.hooks]) await hook(ev);
  }

  private acquire(): Promise<void> {
    if (this.inFlight < this.width) {
      this.inFlight++;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
      return Promise.resolve();
    }
    return new Promise((resolve) =>
      this.waiting.push(() => {
        this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
        resolve();
      }),
    );
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next(); // the slot passes on: inFlight stays
    else this.inFlight--;
  }

  // ---- the tree ------------------------------------------------------------------------------

  private lookup(path: string): Node | undefined {
    let node: Node = this.root;
    for (const name of segments(path)) {
      if (!(node instanceof DirNode)) return undefined;
      const child: Node | undefined = node.children.get(name);
      if (!child) return undefined;
      node = child;
    }
    return node;
  }

  private fileAt(path: string, verb: string): FileNode {
    const node = this.lookup(path);
    if (!(node instanceof FileNode)) throw notThere(`${verb} ${path}`);
    return node;
  }

  /** The folder a new entry at `path` goes in, and its name; 550 when the folder is not there. */
  private parentOf(path: string, verb: string): { parent: DirNode; name: string } {
    const names = segments(path);
    if (names.length === 0) throw refusedError(`${verb} ${path}`, "Permission denied");
    const parent = this.lookup("/" + names.slice(0, -1).join("/"));
    if (!(parent instanceof DirNode)) throw notThere(`${verb} ${path}`);
    return { parent, name: names.at(-1)! };
  }

  private ensureDirs(names: string[]): DirNode {
    let dir = this.root;
    for (const name of names) {
      let child = dir.children.get(name);
      if (!child) {
        child = new DirNode(this.clock());
        dir.children.set(name, child);
      }
      if (!(child instanceof DirNode)) throw new Error(`MemoryFolder: ${name} is not a folder`);
      dir = child;
    }
    return dir;
  }

  private putIn(parent: DirNode, name: string, bytes: Buffer, mtime: number): void {
    const existing = parent.children.get(name);
    if (existing instanceof FileNode) {
      existing.bytes = Buffer.from(bytes);
      existing.mtime = mtime;
    } else if (existing) {
      throw new Error(`MemoryFolder: ${name} is a folder, not a file`);
    } else parent.children.set(name, new FileNode(mtime, Buffer.from(bytes)));
  }

  /** A folder's entries as the server lists them, sorted by name (as vsftpd does). */
  private listFolder(serverDir: string): ListedItem[] {
    const dir = this.lookup(serverDir);
    if (!(dir instanceof DirNode)) throw notThere(`LIST ${serverDir}`);
    return [...dir.children]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([name, node]) => ({ name, type: node.type, size: node instanceof FileNode ? node.bytes.length : 0, ...this.listedTime(node.mtime) }));
  }

  /** A time as the listing tells it (see ListingPrecision). */
  private listedTime(ms: number): { modifyMs: number; precision: TimePrecision } {
    switch (this.precision) {
      case "ms":
        return { modifyMs: ms, precision: ms % 1000 === 0 ? "second" : "ms" };
      case "second":
        return { modifyMs: floorTo(ms, 1000), precision: "second" };
      case "minute":
        return { modifyMs: floorTo(ms, 60_000), precision: "minute" };
      case "list": {
        const now = this.clock();
        if (ms > now || now - ms > SIX_MONTHS) return { modifyMs: floorTo(ms, DAY), precision: "day" };
        return { modifyMs: floorTo(ms, 60_000), precision: "minute" };
      }
    }
  }

  /** One RNFR + RNTO as the server carries it out: a refusal, or undefined when done. */
  private renameNow(from: string, to: string): Refusal {
    const node = this.lookup(from);
    if (!node || node === this.root) return { code: 550, message: "No such file or directory" };
    const names = segments(to);
    const target = this.lookup(to);
    const parent = names.length ? this.lookup("/" + names.slice(0, -1).join("/")) : undefined;
    if (!(parent instanceof DirNode)) return { code: 550, message: "No such file or directory" };
    if (target === node) return undefined;
    if (target instanceof DirNode || (target && node instanceof DirNode)) return { code: 550, message: "Rename failed: is a folder" };
    if (target && !this.renameOverwrite) return { code: 550, message: "Rename failed: file exists" };
    if (node instanceof DirNode && isWithin(node, parent)) return { code: 550, message: "Rename failed: into itself" };
    const src = this.parentOf(from, "RNFR");
    const now = this.clock();
    src.parent.children.delete(src.name);
    parent.children.set(names.at(-1)!, node);
    src.parent.mtime = now;
    parent.mtime = now;
    return undefined;
  }

  private deleteNow(path: string): Refusal {
    const node = this.lookup(path);
    if (!node || node instanceof DirNode) return { code: 550, message: "No such file" };
    const { parent, name } = this.parentOf(path, "DELE");
    parent.children.delete(name);
    parent.mtime = this.clock();
    return undefined;
  }

  /** ops.ts's renameOver, step for step, on the server in memory. */
  private renameOver(from: string, to: string, expectedSize?: number): string | undefined {
    const refused = this.renameNow(from, to);
    if (!refused) return undefined;
    // A refused RNFR (the source is missing) never touches the target.
    if (!this.lookup(from)) throw refusedError(`RNFR ${from}`, refused.message, refused.code);
    // Only a file is moved aside (ops.ts): a folder moved aside would vanish from listings.
    if (this.lookup(to) instanceof DirNode) throw new RenameRefused(to, { code: refused.code, message: `${refused.message} (${to} is not a file)` });
    const slash = to.lastIndexOf("/");
    const aside = to.slice(0, slash + 1) + tempNameFor(to.slice(slash + 1));
    const movedAside = this.step("rename.aside", to, aside, () => this.renameNow(to, aside));
    const placed = this.step("rename.place", from, to, () => this.renameNow(from, to));
    if (placed) {
      if (movedAside) throw new RenameRefused(to, refused);
      const back = this.step("rename.putBack", aside, to, () => this.renameNow(aside, to));
      throw new RenameRefused(to, placed, back ? aside : undefined);
    }
    const size = expectedSize === undefined ? undefined : this.info(to)?.size;
    if (size !== undefined && size !== expectedSize) {
      // In place by the server's word but not what was sent: put both back rather than lose the old one.
      const keptAside = !movedAside && (this.renameNow(to, from), this.renameNow(aside, to) !== undefined);
      throw new RenameRefused(to, { code: 213, message: `${size} after the rename, expected ${expectedSize}` }, keptAside ? aside : undefined);
    }
    if (movedAside) return undefined;
    const removed = this.step("rename.removeAside", aside, undefined, () => this.deleteNow(aside));
    return removed ? aside : undefined;
  }
}

/** The chunks of an upload's source: an open file from 0 (or `startAt` when appending) up to its size, or a buffer. */
function* chunksOf(source: UploadSource, append: boolean, chunkSize: number): Generator<Buffer> {
  if ("bytes" in source) {
    for (let pos = 0; pos < source.bytes.length; pos += chunkSize) yield source.bytes.subarray(pos, pos + chunkSize);
    return;
  }
  for (let pos = append ? (source.startAt ?? 0) : 0; pos < source.size; ) {
    const buf = Buffer.allocUnsafe(Math.min(chunkSize, source.size - pos));
    const got = readSync(source.fd, buf, 0, buf.length, pos);
    if (got === 0) return; // the file shrank: the caller's check after the transfer sees it
    yield buf.subarray(0, got);
    pos += got;
  }
}

function capabilitiesOf(given: Partial<Omit<Capabilities, "features">>, precision: ListingPrecision): Capabilities {
  const c = {
    mlsd: precision === "ms" || precision === "second",
    mfmt: true,
    mdtm: true,
    size: true,
    utf8: true,
    restStream: true,
    hash: ["SHA-256"],
    hashCommands: [] as string[],
    ...given,
  };
  // The FEAT lines such a server would send, for describeCapabilities and the like.
  const features: Record<string, string> = {};
  if (c.mlsd) features.MLST = "type*;size*;modify*;";
  if (c.mfmt) features.MFMT = "";
  if (c.mdtm) features.MDTM = "";
  if (c.size) features.SIZE = "";
  if (c.utf8) features.UTF8 = "";
  if (c.restStream) features.REST = "STREAM";
  if (c.hash.length) features.HASH = c.hash.join(";");
  for (const x of c.hashCommands) features[x] = "";
  return { ...c, features };
}

/** A path's names, "." and ".." resolved as a server resolves them (never above the root). */
function segments(path: string): string[] {
  const out: string[] = [];
  for (const name of path.split("/")) {
    if (name === "" || name === ".") continue;
    if (name === "..") out.pop();
    else out.push(name);
  }
  return out;
}

function floorTo(ms: number, unit: number): number {
  return Math.floor(ms / unit) * unit;
}

function isWithin(dir: DirNode, node: DirNode): boolean {
  if (dir === node) return true;
  for (const child of dir.children.values()) if (child instanceof DirNode && isWithin(child, node)) return true;
  return false;
}

function matches(rule: Rule, call: CallRecord): boolean {
  const methods = rule.method === undefined ? [] : Array.isArray(rule.method) ? rule.method : [rule.method];
  if (methods.length > 0 && !methods.includes(call.method)) return false;
  if (rule.path === undefined) return true;
  const test = (p: string) => (typeof rule.path === "string" ? p === rule.path : rule.path instanceof RegExp ? rule.path.test(p) : rule.path!(p));
  return test(call.path) || (call.to !== undefined && test(call.to));
}

function errorOf(error: FaultError | undefined, call: CallRecord): Error | undefined {
  return typeof error === "function" ? error(call) : error;
}
