import { existsSync, lstatSync, readdirSync, type Stats } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import { basename as baseName, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import type { LocalEntry } from "../plan/types.js";
import { makeJobPathFilter, type JobPathFilterSpec } from "../plan/filter.js";
import { makeOwnInodeTest, makeOwnPathTest } from "../plan/own-paths.js";
import { escapeName, toNfc, twinWarning, unsafeNameReason } from "../plan/names.js";
import { checkJobRoot } from "./safe-open.js";
import { isTempName } from "./temp-names.js";

export interface ScanOptions {
  /** Which paths are part of the job. A description, not a function: a worker thread rebuilds it. */
  filter: JobPathFilterSpec;
  followSymlinks: boolean;
  /** The root may itself be a symlink (the job's followRootSymlink); refused otherwise. */
  followRootSymlink?: boolean;
  /** Where skipped names and unreadable folders are reported (a Logger, or a collector). */
  logger?: { warn(message: string): unknown };
  /**
   * Walk about half of the folders in a worker thread while this thread walks the rest (for big
   * trees: starting the worker costs some 30 ms). The result is the same as without, order included.
   */
  parallel?: boolean;
}

export interface LocalScan {
  entries: Map<string, LocalEntry>;
  /** Folders that could not be read: the scan is incomplete and must not drive deletions. */
  failedDirs: string[];
  /** With `parallel`: how many of the shared folders the worker thread walked. */
  walkedByWorker?: number;
  /** The agent's own files and folders found in the tree (job-relative), left out of it. */
  ownFound?: string[];
  /** Names skipped (unsafe) or held back (twins), as warnings for the run; already logged. */
  nameProblems?: string[];
  /** Paths two spellings share (names that differ only in Unicode normalisation): left alone. */
  twins?: string[];
}

/** Logs a skipped or held-back name and keeps it for the run's warnings. */
function nameProblem(w: Walker, into: LocalScan, message: string): void {
  (into.nameProblems ??= []).push(message);
  w.logger?.warn(message);
}

/**
 * A folder to walk: its job-relative path as spelled on disk, its absolute path and, when
 * symlinks are followed, the real paths of it and the folders it is inside of (a symlink back
 * to one of them would be a loop).
 */
export type Folder = [rel: string, abs: string, realChain?: string[]];

export interface Walker {
  realRoot: string;
  accept: (path: string, type: "file" | "dir") => boolean;
  /** The agent's own files (filter.own): by path, or by device and inode under any name. */
  isOwn?: (path: string, st: Stats) => boolean;
  followSymlinks: boolean;
  logger?: { warn(message: string): unknown };
}

/** The walker for a job's tree; the same in the worker thread, built from the same data. */
export function makeWalker(realRoot: string, filter: JobPathFilterSpec, followSymlinks: boolean, logger?: Walker["logger"]): Walker {
  const ownPath = makeOwnPathTest(filter.own);
  const ownInode = makeOwnInodeTest(filter.own);
  const isOwn = ownPath && ownInode ? (path: string, st: Stats) => ownPath(path) || ownInode(st) : ownInode ? (_: string, st: Stats) => ownInode(st) : ownPath;
  return { realRoot, accept: makeJobPathFilter(filter), isOwn, followSymlinks, logger };
}

/**
 * Reads one folder into `into` (sorted: the same tree always scans in the same order, and its
 * fingerprint depends on it). Returns its subfolders, for the caller to walk after it.
 */
async function readFolder(w: Walker, [dirRel, dirAbs, chain]: Folder, into: LocalScan): Promise<Folder[]> {
  // Give the event loop a turn between folders, so that a remote listing running beside the
  // scan keeps moving. (An async readdir per folder did that too, but left the process idle
  // for a thread-pool round trip per folder: 0.4 s over 1 000 folders.)
  await new Promise<void>((resolve) => setImmediate(resolve));
  let names: string[];
  try {
    names = readdirSync(dirAbs).sort();
  } catch (err) {
    into.failedDirs.push(dirRel);
    w.logger?.warn(`cannot read local folder ${dirAbs}: ${(err as Error).message}`);
    return [];
  }
  const subdirs: Folder[] = [];
  let twins: Set<string> | undefined;
  // One synchronous lstat per name: a promise per file through libuv's thread pool cost about
  // 5x more CPU (100 000 files: 1.5 s of lstat against 0.3 s).
  for (const name of names) {
    if (isTempName(name)) continue;
    const why = unsafeNameReason(name);
    if (why) {
      nameProblem(w, into, `skipped local name "${escapeName(name)}" in ${escapeName(dirAbs)}: ${why}`);
      continue;
    }
    // dirAbs is already normalised and `name` holds no "/": plain concatenation (path.join
    // normalises again, a visible cost at 100 000 names).
    const abs = dirAbs.endsWith(sep) ? dirAbs + name : dirAbs + sep + name;
    const diskRel = dirRel ? dirRel + "/" + name : name;
    let st: Stats;
    let linkTarget: string | undefined;
    try {
      // No options object: `{ throwIfNoEntry: false }` made each call measurably slower. A name
      // that vanished between readdir and lstat throws ENOENT below: simply not there.
      st = lstatSync(abs);
      if (st.isSymbolicLink()) {
        if (!w.followSymlinks) continue;
        linkTarget = await realpath(abs);
        const inside = relative(w.realRoot, linkTarget);
        if (inside.startsWith(".." + sep) || inside === ".." || inside.startsWith("/")) {
          w.logger?.warn(`skipped symlink ${abs}: it points out of the job folder`);
          continue;
        }
        st = await stat(abs);
        if (st.isDirectory() && chain?.includes(linkTarget)) {
          w.logger?.warn(`skipped symlink ${abs}: it points to a folder it is inside of (a loop)`);
          continue;
        }
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT") w.logger?.warn(`cannot stat ${abs}: ${(err as Error).message}`);
      continue;
    }
    const type = st.isDirectory() ? "dir" : st.isFile() ? "file" : undefined;
    if (!type) continue;
    const path = toNfc(diskRel);
    if (w.isOwn?.(path, st)) {
      (into.ownFound ??= []).push(path);
      continue;
    }
    if (!w.accept(path, type)) continue;
    if (twins?.has(path)) continue;
    const prior = into.entries.get(path);
    if (prior) {
      // Two names that differ only in normalisation (readdir gives each name once): one path to
      // the diff. The run leaves the path alone on both sides (withoutTwins), and neither twin
      // folder is walked. The first stays an entry: a folder of twins is not empty to the guards.
      (twins ??= new Set()).add(path);
      (into.twins ??= []).push(path);
      const walked = subdirs.findIndex(([rel]) => rel === (prior.diskPath ?? prior.path));
      if (walked >= 0) subdirs.splice(walked, 1);
      nameProblem(w, into, twinWarning("local", dirAbs, baseName(prior.diskPath ?? prior.path), name));
      continue;
    }
    const entry: LocalEntry = { path, type, size: type === "file" ? st.size : 0, mtimeMs: Math.floor(st.mtimeMs) };
    if (diskRel !== path) entry.diskPath = diskRel;
    into.entries.set(path, entry);
    if (type === "dir") subdirs.push(chain ? [diskRel, abs, [...chain, linkTarget ?? chain[chain.length - 1] + sep + name]] : [diskRel, abs]);
  }
  return subdirs;
}

/** Walks each folder's subtree in turn (depth first, folders after the entries beside them). */
export async function walkFolders(w: Walker, folders: Folder[], into: LocalScan): Promise<void> {
  for (const folder of folders) await walkFolders(w, await readFolder(w, folder, into), into);
}

/** What walkFolders found, packed for postMessage: flat columns instead of 100 000 objects. */
export interface PackedScan {
  /** path "\0" diskPath ("" when the same) "\0" ... in scan order ("\0" cannot occur in a name) */
  names: string;
  dirs: Uint8Array<ArrayBuffer>;
  sizes: Float64Array<ArrayBuffer>;
  mtimes: Float64Array<ArrayBuffer>;
  failedDirs: string[];
  warnings: string[];
  ownFound: string[];
  nameProblems?: string[];
  twins?: string[];
  /** The folders walked, in order: each one's index in the shared list and what it added. */
  chunks: { index: number; entries: number; failed: number }[];
}

export function packScan(scan: LocalScan, chunks: PackedScan["chunks"], warnings: string[]): PackedScan {
  const n = scan.entries.size;
  const parts: string[] = [];
  const dirs = new Uint8Array(n);
  const sizes = new Float64Array(n);
  const mtimes = new Float64Array(n);
  let i = 0;
  for (const e of scan.entries.values()) {
    parts.push(e.path, e.diskPath ?? "");
    dirs[i] = e.type === "dir" ? 1 : 0;
    sizes[i] = e.size;
    mtimes[i++] = e.mtimeMs;
  }
  return {
    names: parts.join("\0"), dirs, sizes, mtimes, failedDirs: scan.failedDirs, warnings,
    ownFound: scan.ownFound ?? [], nameProblems: scan.nameProblems, twins: scan.twins, chunks,
  };
}

/** Reads a PackedScan back, one walked folder at a time. */
class Unpacker {
  private readonly names: string[];
  private entry = 0;
  private failed = 0;
  private chunk = 0;
  constructor(private readonly p: PackedScan) {
    this.names = p.dirs.length > 0 ? p.names.split("\0") : [];
  }
  /** Adds the entries of shared folder `index` to `into`; false if the worker did not walk it. */
  take(index: number, into: LocalScan): boolean {
    const c = this.p.chunks[this.chunk];
    if (!c || c.index !== index) return false;
    this.chunk++;
    for (const end = this.entry + c.entries; this.entry < end; this.entry++) {
      const i = this.entry;
      const path = this.names[2 * i];
      const e: LocalEntry = { path, type: this.p.dirs[i] ? "dir" : "file", size: this.p.sizes[i], mtimeMs: this.p.mtimes[i] };
      if (this.names[2 * i + 1]) e.diskPath = this.names[2 * i + 1];
      into.entries.set(path, e);
    }
    into.failedDirs.push(...this.p.failedDirs.slice(this.failed, (this.failed += c.failed)));
    return true;
  }
}

/** The worker's file beside this module's (dist/bin/ in the bundle, dist/local/ from tsc). */
const WORKER_FILE = fileURLToPath(new URL("./scan-worker.js", import.meta.url));

export interface ScanWorkerInput {
  realRoot: string;
  folders: Folder[];
  /** Int32Array[1]: the index of the next folder to walk, claimed by either thread. */
  next: SharedArrayBuffer;
  filter: JobPathFilterSpec;
  followSymlinks: boolean;
}

/**
 * Walks the job's local folder with stat only (no hashing). Symlinks are skipped unless
 * `followSymlinks`, and even then never followed out of the job folder. Names that could not be
 * sent safely in an FTP command (CR, LF) are skipped and logged.
 */
export async function scanLocal(root: string, opts: ScanOptions, testing: { workerFile?: string; waitForWorker?: boolean } = {}): Promise<LocalScan> {
  const workerFile = testing.workerFile ?? WORKER_FILE;
  checkJobRoot(root, !!opts.followRootSymlink);
  const scan: LocalScan = { entries: new Map(), failedDirs: [] };
  const w = makeWalker(await realpath(root), opts.filter, opts.followSymlinks, opts.logger);
  const top: Folder = opts.followSymlinks ? ["", root, [w.realRoot]] : ["", root];
  if (!opts.parallel || !existsSync(workerFile)) {
    await walkFolders(w, [top], scan);
    return scan;
  }
  // Read the top until it forks (a tree under one folder forks one level down). Its subtrees are
  // then shared out: this thread and a worker each claim the next one until none is left, and
  // the results are put together in folder order: the same entries in the same order as a
  // walk in one thread.
  let folders = await readFolder(w, top, scan);
  while (folders.length === 1) folders = await readFolder(w, folders[0], scan);
  if (folders.length === 0) return scan;
  const next = new Int32Array(new SharedArrayBuffer(4));
  const worker = new Worker(workerFile, { workerData: { realRoot: w.realRoot, folders, next: next.buffer, filter: opts.filter, followSymlinks: opts.followSymlinks } satisfies ScanWorkerInput });
  // Settles with the worker's walk, or undefined if it failed (its folders are then walked here).
  let ready!: () => void;
  const workerReady = new Promise<void>((resolve) => (ready = resolve));
  const fromWorker = new Promise<PackedScan | undefined>((resolve) => {
    worker.on("message", (m: PackedScan | "ready") => (m === "ready" ? ready() : resolve(m)));
    worker.once("error", () => resolve(undefined));
    worker.once("exit", () => resolve(undefined));
  });
  // Tests: let the worker claim first, or on a small tree this thread walks it all meanwhile.
  if (testing.waitForWorker) await Promise.race([workerReady, fromWorker]);
  const mine = new Map<number, LocalScan>();
  for (let i = Atomics.add(next, 0, 1); i < folders.length; i = Atomics.add(next, 0, 1)) {
    const part: LocalScan = { entries: new Map(), failedDirs: [] };
    await walkFolders(w, [folders[i]], part);
    mine.set(i, part);
  }
  // Every folder walked here: the worker (maybe still starting) has nothing to report.
  const packed = mine.size === folders.length ? void (await worker.terminate()) : await fromWorker;
  const theirs = packed ? new Unpacker(packed) : undefined;
  scan.walkedByWorker = packed?.chunks.length ?? 0;
  for (const warning of packed?.warnings ?? []) opts.logger?.warn(warning);
  if (packed?.ownFound.length) (scan.ownFound ??= []).push(...packed.ownFound);
  if (packed?.nameProblems) (scan.nameProblems ??= []).push(...packed.nameProblems);
  if (packed?.twins) (scan.twins ??= []).push(...packed.twins);
  for (let i = 0; i < folders.length; i++) {
    const part = mine.get(i);
    if (part) {
      for (const [path, e] of part.entries) scan.entries.set(path, e);
      scan.failedDirs.push(...part.failedDirs);
      if (part.ownFound) (scan.ownFound ??= []).push(...part.ownFound);
      if (part.nameProblems) (scan.nameProblems ??= []).push(...part.nameProblems);
      if (part.twins) (scan.twins ??= []).push(...part.twins);
    } else if (!theirs?.take(i, scan)) {
      await walkFolders(w, [folders[i]], scan); // the worker failed: its share is walked here after all
    }
  }
  return scan;
}
