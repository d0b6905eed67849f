/**
 * What a job keeps in its versions folders (the "backup" key), and putting a version back:
 * `ftps-sync versions` and `ftps-sync restore`. A restore writes only in the job's local folder
 * (through descriptors, as every local write: safe-open.ts), to a temporary name first, and moves
 * the current file into the versions folder before the version takes its place. The state is not
 * touched: the next run sees the restored file as a local change (an upload or two-way job sends
 * it, keeping the server's current file as a version).
 */
import { copyFileSync, lstatSync, readdirSync, renameSync, utimesSync } from "node:fs";
import { join } from "node:path";
import type { JobConfig } from "../config/types.js";
import { AgentError, ExitCode } from "../errors.js";
import type { Logger } from "../log.js";
import { JobFolder, type LocalDir } from "../local/safe-open.js";
import { unlinkQuiet } from "../local/safe-write.js";
import { tempNameFor } from "../local/temp-names.js";
import { baseName, localPathInside, parentOf, remoteJoin, toNfc } from "../plan/names.js";
import { RemoteRootMissing, type RemoteFolder } from "../remote/remote-folder.js";
import { downloadFile } from "./receive-file.js";
import { RunVersions, stampTime } from "./versions.js";

/** One kept version of one file. */
export interface KeptVersion {
  /** Which side's versions folder holds it. */
  side: "local" | "remote";
  /** The run folder's name, and its time (epoch ms). */
  stamp: string;
  atMs: number;
  /** The file's job-relative path (NFC). */
  path: string;
  size: number;
  modifyMs?: number;
  /** Where it is, relative to the side's job root (as spelled there). */
  keptAs: string;
}

type BackupJob = JobConfig & { backup: NonNullable<JobConfig["backup"]> };

export function withBackup(job: JobConfig): BackupJob {
  if (!job.backup) throw new AgentError(`job ${job.name} keeps no versions: it has no "backup" key (see README "Versions")`, ExitCode.Usage);
  return job as BackupJob;
}

/** A path as the user typed it, as a job-relative path: refused when it leaves the job folder or points into the versions folder. */
export function jobPathOf(job: BackupJob, typed: string): string {
  const rel = toNfc(typed).replace(/\\/g, "/").replace(/^(\.\/)+/, "").replace(/^\/+/, "").replace(/\/+$/, "");
  if (rel === "" || rel.split("/").some((s) => s === ".." || s === ".")) {
    throw new AgentError(`${JSON.stringify(typed)} is not a path inside the job's folder (write it relative to ${job.local})`, ExitCode.Usage);
  }
  localPathInside(job.local, rel);
  if (rel === job.backup.dir || rel.startsWith(job.backup.dir + "/")) {
    throw new AgentError(`${typed} is inside the versions folder ${job.backup.dir}: name the file as it is in the job (e.g. "docs/a.txt")`, ExitCode.Usage);
  }
  return rel;
}

/** The versions kept on both sides (the server's only when `server` is given), of `path` and what is below it when given; newest first per path. */
export async function listVersions(job: BackupJob, server: RemoteFolder | undefined, logger: Logger, path?: string): Promise<KeptVersion[]> {
  const all = [...localVersions(job), ...(server ? await remoteVersions(job, server, logger) : [])];
  const wanted = path === undefined ? all : all.filter((v) => v.path === path || v.path.startsWith(path + "/"));
  return wanted.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : b.atMs - a.atMs || (a.side === "local" ? -1 : 1)));
}

function localVersions(job: BackupJob): KeptVersion[] {
  const root = join(job.local, job.backup.dir);
  const out: KeptVersion[] = [];
  let stamps: string[];
  try {
    stamps = readdirSync(root);
  } catch {
    return out;
  }
  for (const stamp of stamps) {
    const atMs = stampTime(stamp);
    if (atMs === undefined) continue;
    // Walked without following links: a link inside the versions folder is not a version.
    const walk = (dir: string, prefix: string) => {
      for (const d of readdirSync(dir, { withFileTypes: true })) {
        const rel = prefix + d.name;
        if (d.isDirectory()) walk(join(dir, d.name), rel + "/");
        else if (d.isFile()) {
          const st = lstatSync(join(dir, d.name));
          out.push({ side: "local", stamp, atMs, path: toNfc(rel), size: st.size, modifyMs: Math.floor(st.mtimeMs), keptAs: `${job.backup.dir}/${stamp}/${rel}` });
        }
      }
    };
    walk(join(root, stamp), "");
  }
  return out;
}

async function remoteVersions(job: BackupJob, server: RemoteFolder, logger: Logger): Promise<KeptVersion[]> {
  const root = remoteJoin(job.remotePath, job.backup.dir);
  let listed;
  try {
    listed = await server.listTree(root, { accept: () => true, retry: job.retries, logger });
  } catch (err) {
    if (err instanceof RemoteRootMissing) return [];
    throw err;
  }
  const out: KeptVersion[] = [];
  for (const e of listed.entries.values()) {
    if (e.type !== "file") continue;
    const spelled = e.serverPath ?? e.path;
    const cut = spelled.indexOf("/");
    const atMs = cut > 0 ? stampTime(spelled.slice(0, cut)) : undefined;
    if (atMs === undefined) continue;
    out.push({ side: "remote", stamp: spelled.slice(0, cut), atMs, path: e.path.slice(e.path.indexOf("/") + 1), size: e.size, modifyMs: e.modifyMs, keptAs: `${job.backup.dir}/${spelled}` });
  }
  return out;
}

export interface Restored {
  path: string;
  from: KeptVersion;
  /** Where the file that was there is kept now (job-relative), when there was one. */
  currentKeptAs?: string;
}

/**
 * Puts back the newest version of `path` kept at or before `atMs` (the newest of all without it),
 * from either side's versions folder, into the job's local folder. The file there now is moved
 * into the versions folder first: nothing is lost.
 */
export async function restoreVersion(o: { job: BackupJob; server: RemoteFolder; logger: Logger; path: string; atMs?: number; nowMs: number }): Promise<Restored> {
  const { job, server, logger } = o;
  const path = jobPathOf(job, o.path);
  const candidates = (await listVersions(job, server, logger, path)).filter((v) => v.path === path && (o.atMs === undefined || v.atMs <= o.atMs));
  const from = candidates[0];
  if (!from) {
    const when = o.atMs === undefined ? "" : ` at or before ${new Date(o.atMs).toISOString()}`;
    throw new AgentError(`no version of ${path}${when} is kept in ${job.backup.dir} (see \`ftps-sync versions ${job.name} ${path}\`)`, ExitCode.Failures);
  }
  const folder = new JobFolder(job.local, { followSymlinks: job.followSymlinks, followRootSymlink: !!job.followRootSymlink });
  const dir = folder.openDir(parentOf(path), { create: true });
  const name = baseName(path);
  const temp = tempNameFor(name);
  try {
    const current = lstatSync(dir.at(name), { throwIfNoEntry: false });
    if (current && !current.isFile()) throw new AgentError(`${join(job.local, path)} is not a file; nothing was restored`, ExitCode.Failures);
    await fetchVersion(job, server, folder, from, dir.at(temp));
    const versions = new RunVersions({ job, remote: server, folder, logger, startedMs: o.nowMs });
    const currentKeptAs = current ? await versions.moveLocal(dir, name, path) : undefined;
    renameSync(dir.at(temp), dir.at(name));
    logger.info(`restored ${path} from ${from.side === "remote" ? "the server's " : ""}${from.keptAs}${currentKeptAs ? `; the file that was there is kept as ${currentKeptAs}` : ""}`);
    return { path, from, currentKeptAs };
  } catch (err) {
    await unlinkQuiet(dir.at(temp));
    throw err;
  } finally {
    dir.close();
  }
}

/** Copies (local) or downloads (remote) a version into `tempIo`, checks its size, and gives it the version's time. */
async function fetchVersion(job: BackupJob, server: RemoteFolder, folder: JobFolder, v: KeptVersion, tempIo: string): Promise<void> {
  if (v.side === "local") {
    const from: LocalDir = folder.openDir(parentOf(v.keptAs));
    try {
      copyFileSync(from.at(baseName(v.keptAs)), tempIo);
    } finally {
      from.close();
    }
  } else {
    await downloadFile(server, remoteJoin(job.remotePath, v.keptAs), tempIo, { announcedSize: v.size });
  }
  const got = lstatSync(tempIo).size;
  if (got !== v.size) throw new AgentError(`${v.keptAs}: got ${got} bytes, the version holds ${v.size}; nothing was restored`, ExitCode.Failures);
  if (v.modifyMs !== undefined) utimesSync(tempIo, new Date(v.modifyMs), new Date(v.modifyMs));
}
