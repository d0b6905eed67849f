/**
 * Which of a run's planned deletions may still be carried out after some of its actions failed.
 *
 * Deletions are the only irreversible actions. A failure that may mean this run saw a side wrongly
 * or only in part blocks every deletion of the run: a folder that could not be listed, a connection
 * or other temporary failure that outlived its retries, an error we do not recognise, a stopped run.
 * A permanent failure confined to one path (a name or a folder the server refuses, a permission, an
 * unreadable local file) fails again at every run: it is reported each time, and blocks only the
 * deletions at, below or above its path, so that it does not hold back the rest of the job's
 * deletions forever.
 */
import { RemoteError } from "../errors.js";

/** Server replies about one path: not found or not allowed (550, 551), a refused name (553), a bad argument (501). */
const PATH_REPLY_CODES = new Set([501, 550, 551, 553]);
/** Local errors about one path. Not the disk's (ENOSPC, EIO, EROFS...): those are everyone's. */
const PATH_FS_CODES = new Set(["EACCES", "EPERM", "ENOENT", "EISDIR", "ENOTDIR", "ENAMETOOLONG", "EEXIST", "ENOTEMPTY", "ELOOP"]);

/** Whether a failure concerns its own path only, and will fail the same way again. */
export function confinedToPath(err: unknown): boolean {
  if (err instanceof RemoteError) return err.kind === "path" && err.code !== undefined && PATH_REPLY_CODES.has(err.code);
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === "string" && PATH_FS_CODES.has(code);
}

/** `a` and `b` are the same path, or one is a folder the other lies in. */
export function onSameBranch(a: string, b: string): boolean {
  return a === b || a.startsWith(b + "/") || b.startsWith(a + "/");
}

export class DeletionGate {
  private blockedForAll = false;
  private readonly failedPaths: string[] = [];

  /** Nothing may be deleted in this run. */
  blockAll(): void {
    this.blockedForAll = true;
  }

  /** An action on `path` failed with `err`. */
  failed(path: string, err: unknown): void {
    if (confinedToPath(err)) this.failedPaths.push(path);
    else this.blockedForAll = true;
  }

  get blocksAll(): boolean {
    return this.blockedForAll;
  }

  /** The failed paths that hold back deletions near them (empty when every deletion is blocked anyway). */
  get paths(): readonly string[] {
    return this.failedPaths;
  }

  allows(path: string): boolean {
    return !this.blockedForAll && !this.failedPaths.some((failed) => onSameBranch(path, failed));
  }
}
