/**
 * `ftps-sync versions <job> [path]` and `ftps-sync restore <job> <path> [--at <time>]`: what a
 * job with "backup" keeps, on both sides, and putting a version back (sync/restore.ts).
 */
import { JobLocks } from "../../agent/job-lock.js";
import { FtpsFolder } from "../../protocol/ftps-folder.js";
import type { RemoteFolder } from "../../remote/remote-folder.js";
import { jobPathOf, listVersions, restoreVersion, withBackup, type KeptVersion } from "../../sync/restore.js";
import { stampTime } from "../../sync/versions.js";
import type { AppContext } from "../context.js";
import { AlreadyRunningError } from "../failure.js";
import { humanBytes } from "../format.js";
import { isoTime, writeJson } from "../json-output.js";
import { UsageError } from "../usage.js";

/** How the commands reach the server: the FTPS folder, or one a test gives. */
export type OpenRemote = (app: AppContext, jobName: string) => RemoteFolder;

const openFtps: OpenRemote = (app, jobName) => new FtpsFolder(app.config.remotes[app.config.jobs[jobName].remote], app.logger);

/** `--at`: an ISO 8601 time ("2026-12-05T03:00:00Z", "2026-12-05") or a run folder's name ("2026-12-05T030000Z"). */
export function parseAt(text: string): number {
  const ms = stampTime(text) ?? Date.parse(text);
  if (Number.isNaN(ms)) throw new UsageError(`--at ${JSON.stringify(text)}: not a time; write e.g. "2026-12-05T03:00:00Z" or a run folder's name such as "2026-12-05T030000Z"`);
  return ms;
}

function versionView(v: KeptVersion) {
  return { path: v.path, side: v.side, run: v.stamp, at: isoTime(v.atMs), size: v.size, modifiedAt: isoTime(v.modifyMs), keptAs: v.keptAs };
}

async function withServer<T>(app: AppContext, jobName: string, open: OpenRemote, fn: (server: RemoteFolder) => Promise<T>): Promise<T> {
  const server = open(app, jobName);
  try {
    await server.open(app.config.jobs[jobName].retries);
    return await fn(server);
  } finally {
    await server.close();
  }
}

export async function versionsCommand(app: AppContext, jobName: string, typed: string | undefined, flags: { json?: boolean }, open: OpenRemote = openFtps): Promise<number> {
  const job = withBackup(app.config.jobs[jobName]);
  const path = typed === undefined ? undefined : jobPathOf(job, typed);
  const kept = await withServer(app, jobName, open, (server) => listVersions(job, server, app.logger, path));
  if (flags.json) {
    writeJson("versions", { job: jobName, dir: job.backup.dir, path: path ?? null, versions: kept.map(versionView) });
    return 0;
  }
  if (kept.length === 0) {
    process.stdout.write(`${jobName}: no versions kept${path ? ` of ${path}` : ""} in ${job.backup.dir}\n`);
    return 0;
  }
  for (const v of kept) process.stdout.write(`${isoTime(v.atMs)}  ${v.side.padEnd(6)}  ${humanBytes(v.size).padStart(9)}  ${v.path}\n`);
  process.stdout.write(`${jobName}: ${kept.length} version(s) kept in ${job.backup.dir}\n`);
  return 0;
}

export async function restoreCommand(app: AppContext, jobName: string, typed: string, flags: { at?: string; json?: boolean }, open: OpenRemote = openFtps): Promise<number> {
  const job = withBackup(app.config.jobs[jobName]);
  const path = jobPathOf(job, typed);
  const atMs = flags.at === undefined ? undefined : parseAt(flags.at);
  // Never beside a run of the same job (the agent's or another `sync`): the same lock.
  const locks = new JobLocks(app.state().jobLocks);
  const lock = locks.tryAcquire(jobName, "cli");
  if (!lock.ok) throw new AlreadyRunningError(`job ${jobName} is running (pid ${lock.holder.pid}); restore when it has finished`);
  try {
    const r = await withServer(app, jobName, open, (server) => restoreVersion({ job, server, logger: app.logger, path, atMs, nowMs: Date.now() }));
    if (flags.json) {
      writeJson("restore", { job: jobName, path, from: versionView(r.from), currentKeptAs: r.currentKeptAs ?? null });
    } else {
      process.stdout.write(
        `${jobName}: restored ${path} from the version of ${isoTime(r.from.atMs)} (${r.from.side} ${r.from.keptAs})` +
          `${r.currentKeptAs ? `; the file that was there is kept as ${r.currentKeptAs}` : ""}\n`,
      );
    }
    return 0;
  } finally {
    locks.release(jobName);
  }
}
