import { closeSync, constants, createReadStream, existsSync, fstatSync, lstatSync, mkdirSync, openSync, read, readlinkSync, realpathSync, type ReadStream, type Stats } from "node:fs";
import { basename, dirname, join, relative, sep } from "node:path";
import { localPathInside } from "../plan/names.js";

/**
 * Local access that a symlink swapped in during a run cannot redirect out of the job folder.
 *
 * Folders are reached one name at a time from the job root by file descriptor: each step opens
 * the next name relative to the folder already open (Linux: `/proc/self/fd/N/name`, which is
 * openat(2) for a language without it), with O_NOFOLLOW, so a symlink anywhere on the way is
 * refused instead of followed. Files are opened the same way, and the caller compares what it
 * opened (fstat) with what the scan saw. A symlink is followed only with `followSymlinks`, and only
 * when it leads inside the job folder: the walk then starts again from the root along the link's
 * resolved path, still without following anything, so a link changed meanwhile is refused too.
 *
 * Without /proc (not Linux), each name is opened by its full path with O_NOFOLLOW, and once the
 * whole way is open, each folder on it is checked again with lstat: same device and inode as the
 * descriptor, and not a symlink.
 */

/** A local path that leads through a symlink the job may not follow. Not retried. */
export class UnsafeLocalPath extends Error {}

export interface JobFolderOptions {
  /** Follow symlinks that lead inside the job folder (never out of it). */
  followSymlinks: boolean;
  /** The job root may itself be a symlink (followed once, at each open of the root). */
  followRootSymlink: boolean;
}

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW } = constants;
/** Links followed along one path before giving up (the kernel's own limit is 40). */
const MAX_HOPS = 40;

let procFdWorks: boolean | undefined;
/** Whether /proc/self/fd/N names the folder open as N (checked once). */
function viaProc(): boolean {
  if (procFdWorks === undefined) {
    procFdWorks = false;
    if (existsSync("/proc/self/fd")) {
      const fd = openSync("/", O_RDONLY | O_DIRECTORY);
      try {
        const a = fstatSync(fd);
        const b = lstatSync(`/proc/self/fd/${fd}/.`);
        procFdWorks = a.dev === b.dev && a.ino === b.ino;
      } catch {
        // no usable /proc: the path-and-lstat fallback
      } finally {
        closeSync(fd);
      }
    }
  }
  return procFdWorks;
}

function isLinkError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  // O_NOFOLLOW on a symlink: ELOOP; with O_DIRECTORY too, Linux answers ENOTDIR.
  return code === "ELOOP" || code === "ENOTDIR" || code === "EMLINK";
}

function isSymlinkAt(path: string): boolean {
  try {
    return lstatSync(path).isSymbolicLink();
  } catch {
    return false;
  }
}

/** One open folder below (or at) the job root. Names inside it are reached through `at`. */
export class LocalDir {
  constructor(
    readonly fd: number,
    /** The folder's path under the job root as opened, for messages and the fallback. */
    readonly path: string,
    /** Its path relative to the job root, as finally walked (links resolved). */
    readonly rel: string,
    private readonly folder: JobFolder,
    private readonly proc: boolean,
  ) {}

  /** A path for `name` inside this very folder, whatever happens to the path that led here. */
  at(name: string): string {
    if (!name || name === "." || name === ".." || name.includes("/")) throw new UnsafeLocalPath(`not a plain file name: ${JSON.stringify(name)}`);
    return this.proc ? `/proc/self/fd/${this.fd}/${name}` : this.path + sep + name;
  }

  /**
   * Throws unless the job root still leads to this folder without a symlink (same device and
   * inode). Called before a download is published, so a folder moved out of the job folder during
   * a long transfer does not receive the file.
   */
  checkStillInside(): void {
    let again: LocalDir;
    try {
      again = this.folder.openDir(this.rel);
    } catch (err) {
      throw new UnsafeLocalPath(`${this.path} was moved or replaced during the run (${(err as Error).message}); refusing to write or delete there`);
    }
    try {
      const [a, b] = [fstatSync(this.fd), fstatSync(again.fd)];
      if (a.dev !== b.dev || a.ino !== b.ino) {
        throw new UnsafeLocalPath(`${this.path} was moved or replaced during the run; refusing to write or delete there`);
      }
    } finally {
      again.close();
    }
  }

  close(): void {
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
  }
}

/** The job's local folder, reached only in ways a symlink cannot send out of it. */
export class JobFolder {
  private realRootCache?: string;

  constructor(
    readonly root: string,
    private readonly opts: JobFolderOptions,
    private readonly proc = viaProc(),
  ) {}

  /**
   * The root's real path. Unless the root may be a symlink, its own name is kept as it is (only
   * the folders above it resolved): a root that is a link then never matches in openDirect.
   */
  private get realRoot(): string {
    if (this.realRootCache === undefined) {
      const parent = dirname(this.root);
      const name = basename(this.root);
      this.realRootCache = this.opts.followRootSymlink || !name || parent === this.root ? realpathSync(this.root) : join(realpathSync(parent), name);
    }
    return this.realRootCache;
  }

  /** The names of `rel` below the root, checked ("a/../b" is "b"; nothing may climb out). */
  private names(rel: string): string[] {
    if (rel === "") return [];
    const full = localPathInside(this.root, rel);
    return relative(this.root, full).split(sep);
  }

  private openRoot(): LocalDir {
    try {
      const fd = openSync(this.root, O_RDONLY | O_DIRECTORY | (this.opts.followRootSymlink ? 0 : O_NOFOLLOW));
      return new LocalDir(fd, this.root, "", this, this.proc);
    } catch (err) {
      if (isLinkError(err) && isSymlinkAt(this.root)) throw rootIsSymlink(this.root);
      throw err;
    }
  }

  /**
   * Opens the folder `rel` ("" is the root). With `create`, missing folders on the way are made,
   * each inside the folder before it. The caller closes it.
   */
  openDir(rel: string, opts: { create?: boolean } = {}): LocalDir {
    const names = this.names(rel);
    const fd = this.openDirect(names, O_RDONLY | O_DIRECTORY);
    if (fd !== undefined) return new LocalDir(fd, this.root + (names.length ? sep + names.join(sep) : ""), names.join("/"), this, this.proc);
    return this.walk(names, !!opts.create, 0);
  }

  /**
   * The quick way, where /proc is: open the whole path at once (O_NOFOLLOW for the last name),
   * then ask the kernel where the descriptor really is. Only a path with no symlink on the way
   * lands at the job's real root plus the same names; anything else (a link, a name missing,
   * a folder moved) returns undefined and the caller walks name by name, which also says why.
   * One open instead of one per folder on the way: a walk per file made uploads of many small
   * files several times slower.
   */
  private openDirect(names: string[], flags: number): number | undefined {
    if (!this.proc || names.length === 0) return undefined;
    let fd: number;
    try {
      fd = openSync(this.root + sep + names.join(sep), flags | O_NOFOLLOW);
    } catch {
      return undefined;
    }
    let where: string | undefined;
    try {
      where = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      // unreadable: walk instead
    }
    if (where === this.realRoot + sep + names.join(sep) || (this.realRoot === sep && where === sep + names.join(sep))) return fd;
    closeSync(fd);
    return undefined;
  }

  private walk(names: string[], create: boolean, hops: number): LocalDir {
    let dir = this.openRoot();
    const parents: LocalDir[] = [];
    let redirect: string[] | undefined;
    try {
      for (let i = 0; i < names.length && !redirect; i++) {
        const name = names[i];
        const path = dir.at(name);
        try {
          const fd = this.openName(path, O_RDONLY | O_DIRECTORY, create);
          parents.push(dir);
          dir = new LocalDir(fd, dir.path + sep + name, names.slice(0, i + 1).join("/"), this, this.proc);
        } catch (err) {
          if (!isLinkError(err) || !isSymlinkAt(path)) throw err;
          redirect = [...this.insideTarget(path, dir.path + sep + name, hops), ...names.slice(i + 1)];
        }
      }
      if (!redirect && !this.proc) this.recheck([...parents, dir]);
    } catch (err) {
      dir.close();
      throw err;
    } finally {
      for (const d of parents) d.close();
    }
    if (!redirect) return dir;
    dir.close();
    return this.walk(redirect, create, hops + 1);
  }

  private openName(path: string, flags: number, create: boolean): number {
    try {
      return openSync(path, flags | O_NOFOLLOW);
    } catch (err) {
      if (!create || (err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
      try {
        mkdirSync(path); // mkdir(2) never follows a symlink at the name itself
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      }
      return openSync(path, flags | O_NOFOLLOW);
    }
  }

  /** Fallback without /proc: every folder on the way is still what its path names, and no symlink. */
  private recheck(dirs: LocalDir[]): void {
    for (const d of dirs) {
      if (d.rel === "" && this.opts.followRootSymlink) continue;
      const [held, now] = [fstatSync(d.fd), lstatSync(d.path)];
      if (now.isSymbolicLink() || held.dev !== now.dev || held.ino !== now.ino) {
        throw new UnsafeLocalPath(`${d.path} changed while it was being opened; refusing to follow it`);
      }
    }
  }

  /**
   * The symlink at `path` (shown as `shown`): with followSymlinks and a target inside the job
   * folder, the target's names below the real root; otherwise refused.
   */
  private insideTarget(path: string, shown: string, hops: number): string[] {
    if (!this.opts.followSymlinks) throw new UnsafeLocalPath(`${shown} is a symbolic link; not followed (the job does not set followSymlinks)`);
    if (hops >= MAX_HOPS) throw new UnsafeLocalPath(`${shown}: too many symbolic links`);
    let real: string;
    try {
      real = realpathSync(path);
    } catch (err) {
      throw new UnsafeLocalPath(`${shown} is a symbolic link that cannot be resolved (${(err as Error).message})`);
    }
    const rel = relative(this.realRoot, real);
    if (rel === "") return [];
    if (rel === ".." || rel.startsWith(".." + sep) || rel.startsWith(sep)) {
      throw new UnsafeLocalPath(`${shown} is a symbolic link that leads out of the job folder; not followed`);
    }
    return rel.split(sep);
  }

  /**
   * Opens the file `rel` for reading, never through a symlink out of the job folder (nor through
   * any symlink without followSymlinks). Returns the descriptor and what fstat says of it.
   */
  openFileForRead(rel: string): { fd: number; stat: Stats } {
    const names = this.names(rel);
    const fd = this.openDirect(names, O_RDONLY);
    if (fd !== undefined) return { fd, stat: fstatSync(fd) };
    return this.openFile(names, 0);
  }

  private openFile(names: string[], hops: number): { fd: number; stat: Stats } {
    if (names.length === 0) throw new UnsafeLocalPath(`${this.root} is a folder, not a file`);
    const dir = this.walk(names.slice(0, -1), false, hops);
    const name = names[names.length - 1];
    const path = dir.at(name);
    try {
      let fd: number;
      try {
        fd = openSync(path, O_RDONLY | O_NOFOLLOW);
      } catch (err) {
        if (!isLinkError(err) || !isSymlinkAt(path)) throw err;
        return this.openFile(this.insideTarget(path, dir.path + sep + name, hops), hops + 1);
      }
      const stat = fstatSync(fd);
      if (!this.proc) {
        const now = lstatSync(path);
        if (now.dev !== stat.dev || now.ino !== stat.ino) {
          closeSync(fd);
          throw new UnsafeLocalPath(`${dir.path + sep + name} changed while it was being opened; not read`);
        }
      }
      return { fd, stat };
    } finally {
      dir.close();
    }
  }
}

export function rootIsSymlink(root: string): UnsafeLocalPath {
  return new UnsafeLocalPath(`the job folder ${root} is a symbolic link; set "followRootSymlink": true in the job to follow it`);
}

/** Throws when the job root is a symlink and the job does not allow that. */
export function checkJobRoot(root: string, followRootSymlink: boolean): void {
  if (!followRootSymlink && isSymlinkAt(root)) throw rootIsSymlink(root);
}

/**
 * A read stream over a descriptor that its caller keeps open: destroying the stream (a cut
 * transfer, a retry) does not close it. fs.ReadStream closes even a given descriptor on destroy,
 * autoClose or not, hence the `fs` override.
 */
export function readStreamOf(fd: number, opts: { start?: number; end?: number; highWaterMark?: number }): ReadStream {
  return createReadStream("", { ...opts, fd, autoClose: false, fs: { read, close: (_fd: number, cb: (err: null) => void) => cb(null) } });
}
