/**
 * Finds the agent's own files (src/plan/own-paths.ts) from one job's point of view: which of
 * them lie inside the job's folder, by real path, and the device and inode numbers of those
 * that exist. Read at the start of every run and whenever a watcher is armed: files such as the
 * state database's -wal or a new day's log appear and disappear between runs.
 */
import { readdirSync, realpathSync, statSync } from "node:fs";
import { basename, dirname, extname, isAbsolute, join, relative, sep } from "node:path";
import type { AgentConfig } from "../config/types.js";
import { AgentError, ExitCode } from "../errors.js";
import { logNamePattern, type OwnFilesSpec } from "../plan/own-paths.js";
import { toNfc } from "../plan/names.js";
import { STATE_DB_NAME } from "../state/db.js";

/** The job's local folder is not there (deleted, moved, or its disk not mounted). */
export class LocalFolderMissing extends AgentError {
  constructor(readonly path: string) {
    super(`local folder ${path} is missing (deleted, moved or not mounted): nothing was synced`, ExitCode.Failures);
  }
}

/** The real path of a job's local folder; LocalFolderMissing when it is not there or not a folder. */
export function realLocalFolder(path: string): string {
  let real: string;
  try {
    real = realpathSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") throw new LocalFolderMissing(path);
    throw err;
  }
  if (!statSync(real).isDirectory()) throw new LocalFolderMissing(path);
  return real;
}

/** Every file the agent reads or writes by name (folders and logs apart), absolute. */
function ownFileList(config: AgentConfig): string[] {
  const db = join(config.stateDir, STATE_DB_NAME);
  const files = [config.configPath, db, `${db}-wal`, `${db}-shm`, `${db}-journal`];
  for (const job of Object.values(config.jobs)) files.push(job.file);
  for (const remote of Object.values(config.remotes)) {
    if (remote.passwordFile !== undefined) files.push(remote.passwordFile);
    if (remote.caPath !== undefined) files.push(remote.caPath);
    for (const f of [remote.clientCertPath, remote.clientKeyPath, remote.clientKeyPassphraseFile, remote.proxy?.passwordFile]) if (f !== undefined) files.push(f);
  }
  return files;
}

/** The real path of `path`, or of its nearest existing parent with the rest appended. */
function realPathOf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    const parent = dirname(path);
    return parent === path ? path : join(realPathOf(parent), basename(path));
  }
}

/** `real` relative to `root` ("/"-separated, NFC), "" for the root itself, undefined outside it. */
function relativeInside(root: string, real: string): string | undefined {
  const rel = relative(root, real);
  if (rel === ".." || rel.startsWith(".." + sep) || isAbsolute(rel)) return undefined;
  return toNfc(rel.split(sep).join("/"));
}

/** The agent's own files as seen from the job folder whose real path is `realRoot`. */
export function ownFilesIn(config: AgentConfig, realRoot: string): OwnFilesSpec {
  const spec: OwnFilesSpec = { files: [], dirs: [], inodes: [] };
  const remember = (real: string) => {
    const st = statSync(real, { throwIfNoEntry: false });
    if (st) spec.inodes.push([st.dev, st.ino]);
  };
  for (const file of new Set(ownFileList(config))) {
    const real = realPathOf(file);
    const rel = relativeInside(realRoot, real);
    if (rel) spec.files.push(rel);
    remember(real);
  }
  for (const dir of new Set([config.stateDir, config.jobsDir])) {
    const real = realPathOf(dir);
    // A folder that holds the job's folder (or is it) is not left out whole: its files above are.
    if (relativeInside(real, realRoot) !== undefined) continue;
    const rel = relativeInside(realRoot, real);
    if (rel) spec.dirs.push(rel);
    remember(real);
  }
  if (config.log.file !== undefined) {
    const ext = extname(config.log.file);
    const pattern = logNamePattern(basename(config.log.file, ext), ext);
    const realDir = realPathOf(dirname(config.log.file));
    const rel = relativeInside(realRoot, realDir);
    if (rel !== undefined) spec.logs = { dir: rel, pattern };
    const name = new RegExp(pattern);
    let names: string[] = [];
    try {
      names = readdirSync(realDir);
    } catch {
      // no log written yet
    }
    for (const n of names) if (name.test(n)) remember(join(realDir, n));
  }
  return spec;
}
