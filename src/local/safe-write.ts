import { mkdir, open, realpath, rename, stat, unlink } from "node:fs/promises";
import { dirname, relative, sep } from "node:path";

/** Creates the parent folders of `target` and proves (after symlinks) that they are inside `root`. */
export async function ensureLocalParent(root: string, target: string): Promise<void> {
  const dir = dirname(target);
  await mkdir(dir, { recursive: true });
  const [realRoot, realDir] = await Promise.all([realpath(root), realpath(dir)]);
  const rel = relative(realRoot, realDir);
  if (rel.startsWith(".." + sep) || rel === ".." || rel.startsWith("/")) {
    throw new Error(`refusing to write through a symlink that leaves the job folder: ${dir}`);
  }
}

/** Flushes a finished temporary file to disk so that the rename that follows publishes whole data. */
export async function fsyncFile(path: string): Promise<void> {
  const fh = await open(path, "r+");
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

export async function sizeOrUndefined(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
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

/** rename(2) is atomic within a filesystem: the target is either the old or the new file. */
export async function publish(temp: string, target: string): Promise<void> {
  await rename(temp, target);
}
