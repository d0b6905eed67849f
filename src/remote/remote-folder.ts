import type { Transform, Writable } from "node:stream";
import { RemoteError } from "../errors.js";
import type { Capabilities } from "./capabilities.js";
import type { Logger } from "../log.js";
import type { RemoteEntry, RemoteListing } from "../plan/types.js";
import type { RetryPolicy } from "./retry.js";

/**
 * The remote-folder interface: everything the sync core asks of a server, and all it knows of
 * one. The FTPS implementation (protocol/ftps-folder.ts) is the only one users meet; the in-memory
 * one (remote/memory-folder.ts) runs the engine in tests without a server, with faults injected.
 *
 * Paths are absolute on the server ("/backup/a/b.txt"), as the server spells them.
 *
 * Errors: a failure of the remote is a RemoteError whose `kind` the implementation decides, once:
 * transient (worth another attempt), path (permanent for this path: the others go on), auth, tls
 * or space (the job stops). A path that is not there is a RemoteError of kind "path" with code 550
 * (see isNotThere). Errors of the caller's own streams (a sink that refuses bytes, a source that
 * cannot be read) pass through unchanged. After a failed call the implementation never reuses
 * the connection that failed: a transfer cut mid-way leaves nothing behind to trip the next call.
 */
export interface RemoteFolder {
  /** How many calls may run at once (the FTPS pool's connections). */
  readonly width: number;
  /** What the server offers; known once open() succeeded. */
  readonly capabilities: Capabilities | undefined;
  /** After close() or destroy(): nothing more is done. */
  readonly closed: boolean;

  /**
   * Opens the first session, retried within `retry` for transient failures but not for a refused
   * login or TLS: those, and the last attempt, throw a RemoteError of phase "connect" (exit 4).
   */
  open(retry?: RetryPolicy, signal?: AbortSignal): Promise<SessionInfo>;
  /**
   * What the agent learnt about this server: protocol techniques it does not take (`known`, set
   * before open()), and a listener told of each one found out during the session (to remember).
   * Folders without such techniques ignore both.
   */
  techniques?: ServerTechniques;
  /**
   * The server's clock as far as the agent knows it (`known`, set before open()), and a listener
   * told when it is learnt (to remember). Folders whose times are UTC ignore both.
   */
  serverClock?: ServerClockKnowledge;
  /**
   * The TLS key-exchange group the server chose before (`known`, set before open()), and a listener
   * told when this session learns another (to remember). Folders without TLS ignore both.
   */
  keyShare?: KeyShareKnowledge;
  /**
   * The folder the run lists first (its root), told before open(): a folder that can, lists it
   * with the login (one round trip less before the first byte). Optional; a hint only.
   */
  listSoon?(root: string): void;
  /** Opens up to `count` more sessions in the background, so that they are ready when work comes. */
  warm(count?: number): void;

  /**
   * Lists the tree under `root`, folders in parallel. A folder that cannot be listed marks the
   * listing incomplete (never a deletion); a hostile name is refused and reported, never used.
   * Throws RemoteRootMissing when `root` does not exist.
   */
  listTree(root: string, opts: ListTreeOptions): Promise<RemoteListing>;
  /**
   * Hints from the paths a run expects (the state's, or the last listing's) that make the next
   * listing of those folders faster, to be remembered with a settled run; undefined when this
   * folder needs none (the FTPS one: STAT reply estimates for a server without MLSD).
   */
  listingHints(paths: Iterable<[string, { type: "file" | "dir" }]>): Map<string, number> | undefined;

  /** A file's or folder's type, size and time now; undefined when nothing is there. */
  stat(path: string): Promise<RemoteFileNow | undefined>;
  /** A file's size and exact time (MLST, else SIZE and MDTM), each undefined when not offered. */
  stamp(path: string): Promise<RemoteStamp>;
  /** A file's exact modification time (MDTM); undefined when the server does not offer it. */
  exactTime(path: string): Promise<number | undefined>;
  size(path: string): Promise<number>;
  /** The server's checksum, by the best method it offers (or `method`); undefined when none. */
  hash(path: string, method?: HashMethod): Promise<ServerHash | undefined>;

  /**
   * Writes `source` to `path`: from its start, or, with `append`, after what `path` already holds
   * (resuming at `source.startAt`). Never renames: callers upload to a temporary name and rename().
   */
  upload(path: string, source: UploadSource, opts?: { append?: boolean; throttle?: () => Transform }): Promise<Uploaded>;
  /**
   * Streams `path` from byte `startAt` into `sink`. A sink that fails (too many bytes, a range that
   * is complete, bytes that differ) stops the transfer, and its error is what this rejects with.
   */
  download(path: string, sink: Writable, startAt?: number, opts?: DownloadOptions): Promise<Downloaded>;
  /**
   * Renames `from` onto `to`, replacing it where the server refuses to rename onto a file (moved
   * aside first, put back if the new one cannot be placed: the old file is never lost). Returns the
   * aside copy's path if it could not be deleted afterwards. `expectedSize`: checked in place.
   */
  rename(from: string, to: string, expectedSize?: number): Promise<string | undefined>;
  /**
   * Puts an uploaded temporary file in place: gives it `mtimeMs` (where the server can), renames it
   * onto `target` as rename() does, and, when the time could not be set, reads the file back as the
   * listing shows it (`listed`; undefined if it cannot be read). One round trip where the server
   * allows: the steps are independent of each other's replies.
   */
  place(temp: string, target: string, opts: PlaceOptions): Promise<Placed>;
  /** Makes a folder; one that already exists is fine. Parents must exist. */
  mkdir(path: string): Promise<void>;
  remove(path: string): Promise<void>;
  /** Removes an empty folder. */
  removeDir(path: string): Promise<void>;
  /** Sets a file's modification time (MFMT); false when the server cannot. */
  setTime(path: string, ms: number): Promise<boolean>;

  /** Ends every session politely, waiting briefly. */
  close(): Promise<void>;
  /** Hard stop: cuts every session now, transfers in flight included. */
  destroy(): void;
}

/** What the first session learnt: for the state's server profile and `check`. */
export interface SessionInfo {
  capabilities: Capabilities;
  tls?: { protocol: string; cipher: string; fingerprint: string };
}

export interface ListTreeOptions {
  /** Whether a relative path (and, for dirs, what is below it) is part of the job. */
  accept: (path: string, type: "file" | "dir") => boolean;
  retry: RetryPolicy;
  logger?: Logger;
  signal?: AbortSignal;
  now?: Date;
  /** From listingHints(): makes the listing of the folders it knows faster. */
  hints?: Map<string, number>;
  /**
   * The server's clock matters to this run (two-way: which side is newer) and may be measured by
   * writing a probe file when it is not known yet. Without it, only a listing that shows times in
   * the future has the clock measured.
   */
  measureClock?: boolean;
  /**
   * The most connections the run can use, when it knows before listing (see
   * Sources.connectionsWanted): no more are opened ahead of need. Undefined: the pool's size.
   */
  connectionsWanted?: number;
}

/** Bytes to upload: an open local file (read from `startAt` up to `size`, left open), or a buffer. */
export type UploadSource = { fd: number; size: number; startAt?: number } | { bytes: Buffer };

/** A remote path as it is now. */
export type RemoteFileNow = Pick<RemoteEntry, "type" | "size" | "modifyMs" | "precision">;

/** A remote file's size and exact modification time, as far as the server tells them. */
export interface RemoteStamp {
  size?: number;
  /** Epoch ms (UTC), undefined when the server offers neither MLST nor MDTM. */
  modifyMs?: number;
}

export type HashAlgorithm = "SHA-256" | "SHA-512" | "SHA-1" | "MD5";

/** How to ask one server for one algorithm. */
export interface HashMethod {
  /** "HASH", or an X-command ("XSHA256", ...). */
  command: string;
  algorithm: HashAlgorithm;
  /** The algorithm's name for node:crypto. */
  nodeName: string;
}

export interface ServerHash {
  algorithm: HashAlgorithm;
  /** Lower case. */
  hex: string;
  /** The command that gave it, for messages. */
  command: string;
}

/**
 * What the server said of the file right after the transfer, where it could say so at no extra
 * round trip (asked in the same write as the transfer, answered once the last byte moved); absent
 * otherwise, and the caller asks (size(), stamp()).
 */
export interface Uploaded {
  sizeAfter?: number;
}
export interface Downloaded {
  stampAfter?: RemoteStamp;
}

export interface DownloadOptions {
  /**
   * Asks the file's exact time (MDTM) in the same write as the transfer, before it: called with
   * the time once the server answers, before any byte (undefined: the server gave none). Saves the
   * round trip of asking first, where the listing's times are coarse.
   */
  onTimeBefore?: (ms: number | undefined) => void;
}

/**
 * A technique and why it is off: "pipelining" (commands sent together in one write),
 * "commandsBehindTransfer" (commands sent in a transfer's write, answered once it ends), "protP"
 * (PBSZ/PROT P, refused by an implicit server whose data connections were seen to be TLS).
 */
export type TechniquesOff = Record<string, string>;

export interface ServerTechniques {
  known: TechniquesOff;
  onTurnedOff?: (technique: string, reason: string) => void;
}

/**
 * How far ahead of UTC the server's times are, in ms (a server in local time 5 hours east of UTC:
 * +5 h). `listingMs`: the times of its listing (MLSD, LIST) and of one file's stat (MLST, STAT);
 * `exactMs`: MDTM's, where measured (RFC 3659 says UTC, and most servers keep to it).
 */
export interface ServerClock {
  listingMs: number;
  exactMs?: number;
}

export interface KeyShareKnowledge {
  /** An OpenSSL group name ("prime256v1"). */
  known?: string;
  onLearnt?: (group: string) => void;
}

export interface ServerClockKnowledge {
  known?: ServerClock;
  /** `how`: what it was learnt from, for the log and the profile. */
  onLearnt?: (clock: ServerClock, how: string) => void;
}

export interface PlaceOptions {
  mtimeMs?: number;
  /** Checked in place when the old file had to be moved aside (see rename). */
  expectedSize?: number;
}

export interface Placed {
  mtimeSet: boolean;
  /** The old version's aside copy, when it could not be deleted (see rename). */
  leftover?: string;
  /** The placed file as listed, when its time could not be set. */
  listed?: RemoteFileNow;
}

/** place() one call at a time: for folders where round trips cost nothing. */
export async function placeStepByStep(folder: RemoteFolder, temp: string, target: string, opts: PlaceOptions): Promise<Placed> {
  // The time before the rename, so the file appears under its real name with its final time.
  const mtimeSet = opts.mtimeMs === undefined ? false : await folder.setTime(temp, opts.mtimeMs).catch(() => false);
  const leftover = await folder.rename(temp, target, opts.expectedSize);
  const listed = mtimeSet ? undefined : await folder.stat(target).catch(() => undefined);
  return { mtimeSet, leftover, listed };
}

/** The remote folder of a job does not exist. */
export class RemoteRootMissing extends RemoteError {
  constructor(message: string) {
    super(message, { code: 550, kind: "path", phase: "operation" });
  }
}

/** The server said the path is not there (550). */
export function isNotThere(err: unknown): boolean {
  return err instanceof RemoteError && err.code === 550;
}
