import { createHash } from "node:crypto";
import { chownSync, mkdirSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync, utimesSync } from "node:fs";
import { dirname, join } from "node:path";

/** Every file under `root` (dotfiles included) as relative path -> sha256 of its bytes. */
export function treeOf(root: string, opts: { skip?: (rel: string) => boolean } = {}): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir).sort()) {
      const abs = join(dir, name);
      const r = rel ? `${rel}/${name}` : name;
      if (opts.skip?.(r)) continue;
      const st = statSync(abs);
      if (st.isDirectory()) walk(abs, r);
      else if (st.isFile()) out.set(r.normalize("NFC"), createHash("sha256").update(readFileSync(abs)).digest("hex"));
    }
  };
  walk(root, "");
  return out;
}

/** Object form for readable assertion diffs. */
export function treeObject(root: string, opts: { skip?: (rel: string) => boolean } = {}): Record<string, string> {
  return Object.fromEntries([...treeOf(root, opts)].sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** Writes files (creating folders), optionally owned by uid/gid, with an optional mtime. */
export function writeTree(root: string, files: Record<string, string | Buffer>, owner?: { uid: number; gid: number }, mtime?: Date): void {
  for (const [rel, content] of Object.entries(files)) {
    const abs = join(root, rel);
    const parts = rel.split("/");
    let dir = root;
    for (const p of parts.slice(0, -1)) {
      dir = join(dir, p);
      mkdirSync(dir, { recursive: true });
      if (owner) chownSync(dir, owner.uid, owner.gid);
    }
    mkdirSync(dirname(abs), { recursive: true });
    writeFileSync(abs, content);
    if (owner) chownSync(abs, owner.uid, owner.gid);
    if (mtime) utimesSync(abs, mtime, mtime);
  }
}

/** A file's content changed and its mtime moved, as an editor would leave it. */
export function edit(root: string, rel: string, content: string, secondsLater = 120): void {
  const abs = join(root, rel);
  const before = statSync(abs).mtime;
  writeFileSync(abs, content);
  const t = new Date(before.getTime() + secondsLater * 1000);
  utimesSync(abs, t, t);
}

/** An empty folder `name` under a server's root, owned by its FTP user as the server's own files are; its path. */
export function makeServerFolder(root: string, name: string, owner: { uid: number; gid: number }): string {
  writeTree(root, { [`${name}/.keep-dir`]: "" }, owner);
  unlinkSync(join(root, name, ".keep-dir"));
  return join(root, name);
}
