/**
 * Versions (the job's "backup" key): before a run overwrites or deletes a file, on either side,
 * the file is moved into the versions folder on that side, under the run's time:
 * `<job root>/<backup.dir>/2026-12-05T030000Z/<path>`. A move is a rename (RNFR/RNTO on the
 * server), never a copy and a delete: a connection cut mid-way leaves the file in one place or
 * the other, and the retried move sees which (see moveRemote). Retention (prune) removes whole
 * run folders, by age or by count, at the end of a run.
 */
import { copyFileSync, lstatSync, readdirSync, renameSync, rmSync, unlinkSync, utimesSync } from "node:fs";
import type { BackupConfig } from "../config/backup.js";
import type { JobConfig } from "../config/types.js";
import type { Logger } from "../log.js";
import type { JobFolder, LocalDir } from "../local/safe-open.js";
import { baseName, parentOf, remoteJoin } from "../plan/names.js";
import { RemoteRootMissing, type RemoteFolder } from "../remote/remote-folder.js";

/** A run folder's name: the run's time in UTC to the second, without colons ("2026-12-05T030000Z"). */
export function versionStamp(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/:/g, "").replace(/\.\d{3}Z$/, "Z");
}

const STAMP = /^(\d{4}-\d{2}-\d{2})T(\d{2})(\d{2})(\d{2})Z$/;

/** The time of a run folder's name (epoch ms), or undefined for any other name (left alone by retention). */
export function stampTime(name: string): number | undefined {
  const m = STAMP.exec(name);
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}T${m[2]}:${m[3]}:${m[4]}Z`);
  return Number.isNaN(ms) || versionStamp(ms) !== name ? undefined : ms;
}

/** The run folders that retention removes, given every run folder's name (oldest removed first). */
export function expiredStamps(stamps: string[], keep: BackupConfig["keep"], nowMs: number): string[] {
  const runs = stamps.filter((s) => stampTime(s) !== undefined).sort();
  if (keep.kind === "runs") return runs.slice(0, Math.max(0, runs.length - keep.count));
  return runs.filter((s) => stampTime(s)! < nowMs - keep.ms);
}

export interface VersionsContext {
  job: JobConfig & { backup: BackupConfig };
  remote: RemoteFolder;
  folder: JobFolder;
  logger: Logger;
  /** The run's start: the run folder's name. */
  startedMs: number;
}

/** Where a run keeps versions, on both sides; one per run (its stamp is chosen once, unique among the job's run folders). */
export class RunVersions {
  private stampOnce?: Promise<string>;
  private readonly remoteDirs = new Set<string>();

  constructor(private readonly ctx: VersionsContext) {}

  get dir(): string {
    return this.ctx.job.backup.dir;
  }

  /** The versions folder on the server (absolute). */
  get remoteRoot(): string {
    return remoteJoin(this.ctx.job.remotePath, this.dir);
  }

  /**
   * The run folder's name: the run's start, one second later for each earlier run folder of
   * that name on either side (two runs within one second must not share one: a rename onto a
   * kept version would replace it).
   */
  stamp(): Promise<string> {
    return (this.stampOnce ??= (async () => {
      // The server's run folders by a listing of the versions folder: a folder's own stat is not
      // something every server answers (vsftpd's STAT -a lists what is inside it).
      const server = this.ctx.remote;
      const remote = !server.closed && server.capabilities ? await this.remoteRunFolders() : [];
      const taken = new Set(remote);
      for (let ms = this.ctx.startedMs; ; ms += 1000) {
        const name = versionStamp(ms);
        if (!taken.has(name) && !this.localExists(`${this.dir}/${name}`)) return name;
      }
    })());
  }

  /** The names of the folders in the server's versions folder (none when it does not exist). */
  private async remoteRunFolders(): Promise<string[]> {
    const top = await this.listRemote(this.remoteRoot, (p) => !p.includes("/"));
    return top ? [...top.entries.values()].filter((e) => e.type === "dir").map((e) => e.serverPath ?? e.path) : [];
  }

  private localExists(rel: string): boolean {
    let dir: LocalDir | undefined;
    try {
      dir = this.ctx.folder.openDir(parentOf(rel));
      return lstatSync(dir.at(baseName(rel)), { throwIfNoEntry: false }) !== undefined;
    } catch {
      return false;
    } finally {
      dir?.close();
    }
  }

  /** The job-relative path a version of `rel` gets in this run (`.versions/<stamp>/<rel>`). */
  async versionPath(rel: string): Promise<string> {
    return `${this.dir}/${await this.stamp()}/${rel}`;
  }

  /**
   * Moves the server's file `abs` (whose job-relative name is `rel`, as the server spells it) into
   * this run's folder. Safe to call again after a failure: when `abs` is gone and the version is
   * there, the earlier call moved it. Returns the version's absolute path, or undefined when there
   * was no file to move.
   */
  async moveRemote(abs: string, rel: string): Promise<string | undefined> {
    const server = this.ctx.remote;
    const to = remoteJoin(this.ctx.job.remotePath, await this.versionPath(rel));
    const now = await server.stat(abs);
    if (now?.type !== "file") return (await server.stat(to))?.type === "file" ? to : undefined;
    await this.ensureRemoteDir(parentOf(to));
    await server.rename(abs, to);
    this.ctx.logger.info(`${abs}: the old version kept as ${to}`);
    return to;
  }

  /** Puts a version moved by moveRemote back in place (when what was to replace it could not be placed), unless something is there now. */
  async putBackRemote(version: string, abs: string): Promise<void> {
    const server = this.ctx.remote;
    if ((await server.stat(abs)) !== undefined) return;
    await server.rename(version, abs);
  }

  private async ensureRemoteDir(abs: string): Promise<void> {
    if (this.remoteDirs.has(abs) || abs === this.ctx.job.remotePath || !abs.startsWith(this.ctx.job.remotePath)) return;
    await this.ensureRemoteDir(abs.slice(0, abs.lastIndexOf("/")) || "/");
    await this.ctx.remote.mkdir(abs);
    this.remoteDirs.add(abs);
  }

  /**
   * Moves the local file `name` of the open folder `dir` (job-relative `rel`, as spelled on disk)
   * into this run's folder, through descriptors (no symlink sends it out of the job folder).
   * Returns the version's job-relative path, or undefined when there was no file.
   */
  async moveLocal(dir: LocalDir, name: string, rel: string): Promise<string | undefined> {
    const from = dir.at(name);
    const st = lstatSync(from, { throwIfNoEntry: false });
    if (!st?.isFile()) return undefined;
    const version = await this.versionPath(rel);
    const into = this.ctx.folder.openDir(parentOf(version), { create: true });
    try {
      const to = into.at(baseName(version));
      try {
        renameSync(from, to);
      } catch (err) {
        // Another file system mounted inside the job folder: a copy (with the file's time), then the original goes.
        if ((err as NodeJS.ErrnoException).code !== "EXDEV") throw err;
        copyFileSync(from, to);
        utimesSync(to, st.atime, st.mtime);
        unlinkSync(from);
      }
    } finally {
      into.close();
    }
    this.ctx.logger.info(`${rel}: the old local version kept as ${version}`);
    return version;
  }

  /** Moves a version made by moveLocal back to `name` in `dir`, unless something is there now. */
  putBackLocal(dir: LocalDir, name: string, version: string): void {
    if (lstatSync(dir.at(name), { throwIfNoEntry: false })) return;
    const from = this.ctx.folder.openDir(parentOf(version));
    try {
      renameSync(from.at(baseName(version)), dir.at(name));
    } finally {
      from.close();
    }
  }

  /**
   * Retention: removes the run folders past `keep` on both sides (the server's only when it is
   * connected). Failures are returned as warnings: a version left is never a failure of the sync.
   */
  async prune(nowMs: number): Promise<{ removed: string[]; warnings: string[] }> {
    const removed: string[] = [];
    const warnings: string[] = [];
    try {
      for (const s of this.pruneLocal(nowMs)) removed.push(`${this.dir}/${s} (local)`);
    } catch (err) {
      warnings.push(`pruning local versions in ${this.dir}: ${(err as Error).message}`);
    }
    const server = this.ctx.remote;
    if (!server.closed && server.capabilities) {
      try {
        for (const s of await this.pruneRemote(nowMs)) removed.push(`${this.dir}/${s} (remote)`);
      } catch (err) {
        warnings.push(`pruning remote versions in ${this.remoteRoot}: ${(err as Error).message}`);
      }
    }
    if (removed.length > 0) this.ctx.logger.info(`versions removed by retention: ${removed.join(", ")}`);
    return { removed, warnings };
  }

  private pruneLocal(nowMs: number): string[] {
    let root: LocalDir;
    try {
      root = this.ctx.folder.openDir(this.dir);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw err;
    }
    try {
      // The names are read by path; every removal goes through the open folder's descriptor.
      const names = readdirSync(root.path).filter((n) => lstatSync(root.at(n), { throwIfNoEntry: false })?.isDirectory());
      const expired = expiredStamps(names, this.ctx.job.backup.keep, nowMs);
      for (const s of expired) rmSync(root.at(s), { recursive: true, force: true });
      return expired;
    } finally {
      root.close();
    }
  }

  private async pruneRemote(nowMs: number): Promise<string[]> {
    const { remote: server, job, logger } = this.ctx;
    const stamps = await this.remoteRunFolders();
    const expired = expiredStamps(stamps, job.backup.keep, nowMs);
    for (const s of expired) {
      const runRoot = remoteJoin(this.remoteRoot, s);
      const tree = await this.listRemote(runRoot, () => true);
      if (!tree) continue;
      if (!tree.complete) throw new Error(`${runRoot} could not be listed whole; left for a later run`);
      const entries = [...tree.entries.values()];
      for (const e of entries.filter((x) => x.type === "file")) await server.remove(remoteJoin(runRoot, e.serverPath ?? e.path));
      // Folders deepest first, then the run folder itself.
      const dirs = entries.filter((x) => x.type === "dir").map((x) => x.serverPath ?? x.path).sort((a, b) => b.split("/").length - a.split("/").length);
      for (const d of dirs) await server.removeDir(remoteJoin(runRoot, d));
      await server.removeDir(runRoot);
      logger.debug(`removed ${runRoot}`);
    }
    return expired;
  }

  private async listRemote(root: string, accept: (path: string) => boolean) {
    const { remote: server, job, logger } = this.ctx;
    try {
      return await server.listTree(root, { accept, retry: job.retries, logger });
    } catch (err) {
      if (err instanceof RemoteRootMissing) return undefined;
      throw err;
    }
  }
}
