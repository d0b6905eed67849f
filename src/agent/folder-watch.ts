import { watch, type FSWatcher } from "node:fs";
import { lstat, readdir, stat } from "node:fs/promises";
import { join, relative, sep } from "node:path";

/**
 * One watch per folder of a tree, never one per file: on Linux inotify reports a folder's file
 * events on the folder's own watch (node:fs.watch on a folder is one inotify watch), so a tree of
 * 100 000 files in 1 000 folders holds 1 000 watches, not 101 000 (chokidar 5 also watches every
 * file). Folders made later are watched as they appear; removed ones are let go.
 *
 * The watches are set up by an asynchronous walk (a folder at a time, its listing read off the
 * main thread), so that setting them up never holds up the first run.
 */
export interface FolderChange {
  /** The folder whose contents changed, relative to the root ("/" separated; "" is the root). */
  folder: string;
  /** A folder that appeared (made, moved in): everything under it is new too. */
  deep: boolean;
}

export interface FolderWatchOptions {
  root: string;
  /** Is this path (relative, "/" separated) left alone? `dir`: it is a folder. */
  ignored(rel: string, dir: boolean): boolean;
  followSymlinks: boolean;
  onChange(change: FolderChange): void;
  /**
   * The watch limit was reached (ENOSPC from inotify, or `maxWatches`): every watch is let go
   * (half a tree watched would miss changes without a word), and the caller polls instead.
   */
  onLimit(err: Error): void;
  onError(err: Error): void;
  /** At most this many watches (a test hook for the system's fs.inotify.max_user_watches). */
  maxWatches?: number;
}

/** An error as inotify gives it when a user's watches run out. */
export function watchLimitError(path: string): NodeJS.ErrnoException {
  const err = new Error(`ENOSPC: System limit for number of file watchers reached, watch '${path}'`) as NodeJS.ErrnoException;
  err.code = "ENOSPC";
  return err;
}

export class FolderWatch {
  /** Watched folders by absolute path. */
  private readonly watches = new Map<string, FSWatcher>();
  /** Folders (device:inode) watched already: a symlinked loop is watched once. */
  private readonly seen = new Map<string, string>();
  private stopped = false;
  private settled!: Promise<void>;

  constructor(private readonly opts: FolderWatchOptions) {}

  /** Starts the walk; `ready` resolves when every folder present at the start is watched. */
  start(): this {
    this.settled = this.addTree(this.opts.root).catch((err: Error) => this.opts.onError(err));
    return this;
  }

  get ready(): Promise<void> {
    return this.settled;
  }

  /** How many watches are held: one per folder. */
  get count(): number {
    return this.watches.size;
  }

  close(): void {
    this.stopped = true;
    for (const w of this.watches.values()) w.close();
    this.watches.clear();
    this.seen.clear();
  }

  private rel(path: string): string {
    return relative(this.opts.root, path).split(sep).join("/").normalize("NFC");
  }

  /** Watches `top` and the folders under it, breadth first, one listing at a time. */
  private async addTree(top: string): Promise<void> {
    const queue = [top];
    for (let dir = queue.shift(); dir !== undefined && !this.stopped; dir = queue.shift()) {
      if (!(await this.addOne(dir))) continue;
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        continue; // gone or unreadable meanwhile: its parent's watch reports what happens to it
      }
      for (const e of entries) {
        const path = join(dir, e.name);
        if (e.isDirectory() || (e.isSymbolicLink() && this.opts.followSymlinks && (await isFolder(path)))) {
          if (!this.opts.ignored(this.rel(path), true)) queue.push(path);
        }
      }
    }
  }

  /** One watch on `dir`; false when it is not watched (gone, seen through another path, limit). */
  private async addOne(dir: string): Promise<boolean> {
    if (this.stopped || this.watches.has(dir)) return false;
    let id: string;
    try {
      const st = await stat(dir);
      if (!st.isDirectory()) return false;
      id = `${st.dev}:${st.ino}`;
    } catch {
      return false;
    }
    if (this.stopped) return false;
    const already = this.seen.get(id);
    if (already !== undefined && this.watches.has(already)) return false;
    let w: FSWatcher;
    try {
      if (this.opts.maxWatches !== undefined && this.watches.size >= this.opts.maxWatches) throw watchLimitError(dir);
      w = watch(dir, { persistent: false }, (event, name) => this.onEvent(dir, event, name));
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "ENOSPC") {
        this.close();
        this.opts.onLimit(err as Error);
      } else if (code !== "ENOENT" && code !== "ENOTDIR") {
        this.opts.onError(err as Error);
      }
      return false;
    }
    // A folder removed under a watch ends it with an error on some kernels: let that watch go.
    w.on("error", () => this.dropTree(dir));
    this.watches.set(dir, w);
    this.seen.set(id, dir);
    return true;
  }

  private onEvent(dir: string, event: string, name: string | Buffer | null): void {
    if (this.stopped) return;
    const folder = this.rel(dir);
    if (name === null) {
      this.opts.onChange({ folder, deep: false });
      return;
    }
    const path = join(dir, name.toString());
    const rel = this.rel(path);
    if (rel.startsWith("..")) return;
    // "change" is a file's content or a name's attributes; "rename" may be a folder made or removed.
    if (event === "change" ? this.opts.ignored(rel, false) : this.opts.ignored(rel, false) && this.opts.ignored(rel, true)) return;
    if (event === "rename") void this.followRename(path, rel);
    this.opts.onChange({ folder, deep: false });
  }

  /** A name appeared or went: a new folder is watched (and all under it is new), a gone one let go. */
  private async followRename(path: string, rel: string): Promise<void> {
    let st;
    try {
      st = this.opts.followSymlinks ? await stat(path) : await lstat(path);
    } catch {
      this.dropTree(path);
      return;
    }
    if (!st.isDirectory() || this.watches.has(path) || this.opts.ignored(rel, true) || this.stopped) return;
    // Said before the walk, so that it joins the event that made it: the run takes all under it,
    // files written while its watches are being set up included.
    this.opts.onChange({ folder: rel, deep: true });
    await this.addTree(path);
  }

  /** Lets go of the watches on `top` and under it. */
  private dropTree(top: string): void {
    const prefix = top + sep;
    for (const [dir, w] of this.watches) {
      if (dir !== top && !dir.startsWith(prefix)) continue;
      w.close();
      this.watches.delete(dir);
    }
    for (const [id, dir] of this.seen) if (!this.watches.has(dir)) this.seen.delete(id);
  }
}

async function isFolder(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}
