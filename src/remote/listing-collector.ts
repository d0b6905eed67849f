import type { Logger } from "../log.js";
import type { RemoteEntry, RemoteListing, TimePrecision } from "../plan/types.js";
import { isTempName } from "../local/temp-names.js";
import { escapeName, remoteJoin, toNfc, twinWarning, unsafeNameReason } from "../plan/names.js";

/**
 * How a remote folder tree becomes a RemoteListing, whatever the folder is (FTPS: list-tree.ts; in
 * memory: memory-folder.ts): one code for hostile names, twins, the job's filter and folders that
 * cannot be listed, so that the in-memory remote refuses exactly what a server's listing would.
 */

/** One name of a folder's listing, as the folder tells it (before any check). */
export interface ListedItem {
  name: string;
  /** "symlink" and "other" (devices, unknown types) are never synced. */
  type: "file" | "dir" | "symlink" | "other";
  size: number;
  modifyMs?: number;
  precision: TimePrecision;
}

const MAX_DEPTH = 200;
const MAX_ENTRIES = 2_000_000;

/**
 * Collects the folders of one tree listing. Names are hostile until checked: anything that is not
 * a single safe path segment is refused and reported, never used. A folder that cannot be listed
 * marks the listing incomplete, and an incomplete listing never turns into deletions.
 */
export class ListingCollector {
  readonly entries = new Map<string, RemoteEntry>();
  private readonly failedDirs: string[] = [];
  private readonly nameProblems: string[] = [];
  private readonly twins = new Set<string>();
  /** NFC path of a folder -> its spelling on the server, for the commands that list it. */
  private readonly dirServerPath = new Map<string, string>();

  constructor(
    private readonly root: string,
    private readonly accept: (path: string, type: "file" | "dir") => boolean,
    private readonly logger?: Logger,
  ) {}

  /**
   * Lists one folder with `list` (its relative path and its path on the server) and adds what it
   * holds; returns its subfolders. A folder that cannot be listed is reported, and has none.
   */
  async listOne<T>(dir: string, list: (dir: string, serverDir: string) => Promise<T[]>, itemOf: (info: T) => ListedItem): Promise<string[]> {
    try {
      this.checkBounds(dir);
      return this.add(dir, await list(dir, this.serverDirOf(dir)), itemOf);
    } catch (err) {
      this.failed(dir, err);
      return [];
    }
  }

  failed(dir: string, err: unknown): void {
    this.failedDirs.push(dir);
    this.logger?.warn(`cannot list remote folder ${remoteJoin(this.root, dir)}: ${(err as Error).message}`);
  }

  checkBounds(dir: string): void {
    // Bounds against a server that invents folders without end (each listing is capped on its own).
    if (dir.split("/").length > MAX_DEPTH) throw new Error(`more than ${MAX_DEPTH} folder levels: not listed`);
    if (this.entries.size > MAX_ENTRIES) throw new Error(`more than ${MAX_ENTRIES} entries in the tree: not listed`);
  }

  /** A folder's path on the server, spelled as the server spells it. */
  serverDirOf(dir: string): string {
    return dir === "" ? this.root : remoteJoin(this.root, this.dirServerPath.get(dir) ?? dir);
  }

  /** Adds a folder's entries; returns its subfolders. */
  add<T>(dir: string, infos: Iterable<T>, itemOf: (info: T) => ListedItem): string[] {
    const subdirs: string[] = [];
    for (const info of infos) {
      const entry = this.toEntry(dir, itemOf(info));
      if (!entry) continue;
      if (!this.accept(entry.path, entry.type)) continue;
      if (this.twins.has(entry.path)) continue;
      const prior = this.entries.get(entry.path);
      const spelling = entry.serverPath ?? entry.path;
      if (prior && (prior.serverPath ?? prior.path) !== spelling) {
        // Two names that differ only in normalisation: one path to the diff. The run leaves the
        // path alone on both sides (withoutTwins), and neither twin folder is listed. The first
        // stays an entry: a folder holding only twins is not an empty folder to the guards.
        this.twins.add(entry.path);
        const listed = subdirs.indexOf(entry.path);
        if (listed >= 0) subdirs.splice(listed, 1);
        this.problem(twinWarning("remote", remoteJoin(this.root, this.dirServerPath.get(dir) ?? dir) || "/", baseOf(prior.serverPath ?? prior.path), baseOf(spelling)));
        continue;
      }
      this.entries.set(entry.path, entry);
      if (entry.type === "dir") subdirs.push(entry.path);
    }
    return subdirs;
  }

  result(): RemoteListing {
    return {
      entries: this.entries,
      complete: this.failedDirs.length === 0,
      failedDirs: this.failedDirs,
      ...(this.nameProblems.length > 0 ? { nameProblems: this.nameProblems } : {}),
      ...(this.twins.size > 0 ? { twins: [...this.twins] } : {}),
    };
  }

  private problem(message: string): void {
    this.nameProblems.push(message);
    this.logger?.warn(message);
  }

  private toEntry(dir: string, item: ListedItem): RemoteEntry | undefined {
    const name = item.name;
    if (name === "." || name === "..") return undefined;
    // Our own transfers in progress (or left by a crash, resumed or removed through the partials
    // table): never part of the synced tree, or a two-way job would copy them back.
    if (isTempName(name)) return undefined;
    const why = unsafeNameReason(name);
    if (why) {
      this.problem(`refused a remote name in ${escapeName(remoteJoin(this.root, dir) || "/")}: "${escapeName(name)}" (${why}); skipped`);
      return undefined;
    }
    const type = item.type;
    if (type !== "file" && type !== "dir") {
      this.logger?.debug(`skipped remote ${type === "symlink" ? "symlink" : "entry"} ${name}`);
      return undefined;
    }
    const parentServer = dir === "" ? "" : this.dirServerPath.get(dir) ?? dir;
    const serverPath = parentServer ? parentServer + "/" + name : name;
    const path = toNfc(serverPath);
    if (type === "dir") this.dirServerPath.set(path, serverPath);
    return {
      path,
      type,
      size: type === "file" ? item.size : 0,
      modifyMs: item.modifyMs,
      precision: item.precision,
      ...(serverPath !== path ? { serverPath } : {}),
    };
  }
}

/**
 * Lists folders from a queue, `width` at a time, until none is left: `next` takes one or more
 * folders off the queue, lists them and returns their subfolders (it never rejects: a folder that
 * cannot be listed is reported by the collector). Rejects with the signal's reason once aborted.
 */
export function walkFolders(width: number, signal: AbortSignal | undefined, start: string[], next: (queue: string[]) => Promise<string[]>): Promise<void> {
  const queue: string[] = [...start];
  if (queue.length === 0) return Promise.resolve();
  let active = 0;
  return new Promise<void>((resolve, reject) => {
    const pump = () => {
      if (signal?.aborted) return reject(signal.reason);
      while (queue.length > 0 && active < width) {
        active++;
        next(queue)
          .then((subdirs) => queue.push(...subdirs))
          .finally(() => {
            active--;
            if (queue.length === 0 && active === 0) resolve();
            else pump();
          });
      }
    };
    pump();
  });
}

function baseOf(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}
