import { constants, renameSync } from "node:fs";
import { lstat, open, unlink } from "node:fs/promises";

// Folders are reached through safe-open.ts; these never follow a symlink at the name itself
// either (a temporary file swapped for a link between two runs is not written through).

/** Flushes a finished temporary file to disk so that the rename that follows publishes whole data. */
export async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, constants.O_RDWR | constants.O_NOFOLLOW);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function sizeOrUndefined(path: string): Promise<number | undefined> {
  try {
    return (await lstat(path)).size;
  } catch {
    return undefined;
  }
}

export async function unlinkQuiet(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch {
    // already gone
  }
}

/**
 * rename(2) is atomic within a filesystem: the target is either the old or the new file. In line,
 * not through the thread pool: a rename of a name in one folder takes microseconds, the promise's
 * round trip through the pool several times more (once per downloaded file).
 */
export function publish(temp: string, target: string): void {
  renameSync(temp, target);
}
