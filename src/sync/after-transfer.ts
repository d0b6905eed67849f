/**
 * afterTransfer: what a one-way job does with a source file once its copy at the destination is
 * verified (size, and the server's hash where it offers one) and recorded in the state with
 * `sourceTaken` set: "delete" removes it, { archive } moves it into a folder on the source side
 * (excluded from the sync). Called only after the transfer returned, so a partial or unverified
 * copy never costs the source its file.
 *
 * Only the version that was sent is taken: a source file changed since is left where it is (and
 * sent again next run). A move cut short loses nothing: the file is in one place or the other,
 * and a retry that finds it already moved counts that as done.
 */
import { renameSync, statSync, unlinkSync } from "node:fs";
import type { JobConfig } from "../config/types.js";
import type { Logger } from "../log.js";
import { JobFolder } from "../local/safe-open.js";
import { conflictStamp } from "../plan/diff.js";
import { baseName, parentOf, remoteJoin } from "../plan/names.js";
import { localChanged, remoteChanged, sameLocalVersion } from "../plan/signatures.js";
import type { Action, LocalEntry, RemoteEntry, StateEntry } from "../plan/types.js";
import type { RemoteFolder } from "../remote/remote-folder.js";
import { withRetry } from "../remote/retry.js";
import { sameRemoteVersion } from "../remote/same-version.js";
import { RemoteChanged, SourceChanged } from "./transfers.js";

/** Whether the job takes its source files away after transfer (never a two-way job: the config refuses it). */
export function takesSource(job: Pick<JobConfig, "afterTransfer" | "direction">): boolean {
  return job.afterTransfer !== undefined && job.afterTransfer !== "keep" && job.direction !== "two-way";
}

/**
 * A transfer whose copy is already at the destination, recorded, and whose source the job has yet
 * to take (its taking failed, or the run stopped first): both sides are still the recorded versions.
 * Only the taking is left to do; sending it again would hand a partner the same file twice.
 */
export function onlyTakingLeft(a: Extract<Action, { kind: "upload" | "download" }>, s: StateEntry | undefined): boolean {
  if (!s?.sourceTaken) return false;
  const [l, r] = [a.local, a.remote];
  return l !== undefined && r !== undefined && !localChanged(l, s) && !remoteChanged(r, s);
}

export interface TakerContext {
  job: JobConfig;
  remote: RemoteFolder;
  logger: Logger;
  signal?: AbortSignal;
}

/** "a/b.txt" -> "a/b.20261206T013000.txt", then "...-2" and on: a name free in the archive folder. */
function stampedName(rel: string, stamp: string, n: number): string {
  const dir = parentOf(rel);
  const base = baseName(rel);
  const dot = base.lastIndexOf(".");
  const [stem, ext] = dot > 0 ? [base.slice(0, dot), base.slice(dot)] : [base, ""];
  return `${dir ? dir + "/" : ""}${stem}.${stamp}${n > 1 ? `-${n}` : ""}${ext}`;
}

export class SourceTaker {
  private folderOnce?: JobFolder;

  constructor(private readonly ctx: TakerContext) {}

  private get job(): JobConfig {
    return this.ctx.job;
  }

  private get archive(): string | undefined {
    const a = this.job.afterTransfer;
    return typeof a === "object" ? a.archive : undefined;
  }

  private get folder(): JobFolder {
    return (this.folderOnce ??= new JobFolder(this.job.local, { followSymlinks: this.job.followSymlinks, followRootSymlink: !!this.job.followRootSymlink }));
  }

  private retry<T>(what: string, fn: () => Promise<T>): Promise<T> {
    return withRetry(fn, this.job.retries, {
      signal: this.ctx.signal,
      onRetry: (err, attempt, delay) =>
        this.ctx.logger.warn(`${what}: ${(err as Error).message} (attempt ${attempt} of ${this.job.retries.attempts}; retrying in ${delay} ms)`),
    });
  }

  /** An upload's source: the local file, if it is still the version the plan saw (and sent). */
  takeLocal(rel: string, planned: LocalEntry): void {
    const spelled = planned.diskPath ?? rel;
    const dir = this.folder.openDir(parentOf(spelled));
    try {
      const from = dir.at(baseName(spelled));
      const st = statSync(from, { throwIfNoEntry: false });
      if (!st) return;
      if (!st.isFile() || !sameLocalVersion(st, planned)) {
        throw new SourceChanged(`${rel} changed on local after it was sent; kept there, sent again next run`);
      }
      const archive = this.archive;
      if (archive === undefined) {
        unlinkSync(from);
        this.ctx.logger.info(`${rel}: deleted on local after its upload was verified and recorded (afterTransfer)`);
        return;
      }
      const target = this.freeLocalName(`${archive}/${spelled}`);
      const into = this.folder.openDir(parentOf(target), { create: true });
      try {
        renameSync(from, into.at(baseName(target)));
      } finally {
        into.close();
      }
      this.ctx.logger.info(`${rel}: moved on local to ${target} after its upload was verified and recorded (afterTransfer)`);
    } finally {
      dir.close();
    }
  }

  private localExists(rel: string): boolean {
    let dir;
    try {
      dir = this.folder.openDir(parentOf(rel));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw err;
    }
    try {
      return statSync(dir.at(baseName(rel)), { throwIfNoEntry: false }) !== undefined;
    } finally {
      dir.close();
    }
  }

  private freeLocalName(rel: string): string {
    const exists = (r: string) => this.localExists(r);
    if (!exists(rel)) return rel;
    const stamp = conflictStamp(new Date());
    for (let n = 1; ; n++) {
      const candidate = stampedName(rel, stamp, n);
      if (!exists(candidate)) return candidate;
    }
  }

  /** A download's source: the server's file, if it is still the version the plan saw (and fetched). */
  async takeRemote(rel: string, planned: RemoteEntry): Promise<void> {
    const server = this.ctx.remote;
    const spelled = planned.serverPath ?? rel;
    const abs = remoteJoin(this.job.remotePath, spelled);
    const archive = this.archive;
    if (archive === undefined) {
      await this.retry(`delete ${abs}`, async () => {
        const now = await server.stat(abs);
        if (!now) return;
        if (!sameRemoteVersion(planned, now)) throw new RemoteChanged(`${abs} changed on the server after it was fetched; kept there, fetched again next run`);
        await server.remove(abs);
      });
      this.ctx.logger.info(`${rel}: deleted on the server after its download was verified and recorded (afterTransfer)`);
      return;
    }
    const now = await this.retry(`check ${abs}`, () => server.stat(abs));
    if (!now) return;
    if (!sameRemoteVersion(planned, now)) throw new RemoteChanged(`${abs} changed on the server after it was fetched; kept there, fetched again next run`);
    const target = await this.freeRemoteName(`${archive}/${spelled}`);
    const targetAbs = remoteJoin(this.job.remotePath, target);
    await this.retry(`mkdir ${parentOf(targetAbs)}`, () => this.mkdirs(parentOf(target)));
    await this.retry(`rename ${abs}`, async () => {
      // A rename whose reply was lost may have been done: the file is then at the archive name.
      if (!(await server.stat(abs))) {
        if (!(await server.stat(targetAbs))) this.ctx.logger.warn(`${abs} is gone from the server before it could be archived (its copy is on local)`);
        return;
      }
      await server.rename(abs, targetAbs);
    });
    this.ctx.logger.info(`${rel}: moved on the server to ${targetAbs} after its download was verified and recorded (afterTransfer)`);
  }

  /** The archive folder and its parents, below the job's remote folder. */
  private async mkdirs(rel: string): Promise<void> {
    let path = "";
    for (const name of rel.split("/")) {
      path = path ? `${path}/${name}` : name;
      await this.ctx.remote.mkdir(remoteJoin(this.job.remotePath, path));
    }
  }

  private async freeRemoteName(rel: string): Promise<string> {
    const exists = async (r: string) => (await this.retry(`check ${r}`, () => this.ctx.remote.stat(remoteJoin(this.job.remotePath, r)))) !== undefined;
    if (!(await exists(rel))) return rel;
    const stamp = conflictStamp(new Date());
    for (let n = 1; ; n++) {
      const candidate = stampedName(rel, stamp, n);
      if (!(await exists(candidate))) return candidate;
    }
  }
}
