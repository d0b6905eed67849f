import { JobLocks } from "../../agent/job-lock.js";
import { AgentError, ExitCode } from "../../errors.js";
import type { Action } from "../../plan/types.js";
import { runJob, type Progress, type RunSummary } from "../../sync/run-job.js";
import type { AppContext } from "../context.js";
import { humanBytes, humanDuration } from "../format.js";

export interface SyncFlags {
  dryRun?: boolean;
  force?: boolean;
  json?: boolean;
}

const LABEL: Record<Action["kind"], string> = {
  "mkdir-remote": "mkdir remote",
  "mkdir-local": "mkdir local",
  upload: "upload",
  download: "download",
  "delete-local": "delete local",
  "delete-remote": "delete remote",
  conflict: "conflict",
  adopt: "in sync",
  forget: "forget",
};

/** The plan as a compact table: action, path, reason. */
export function formatPlan(plan: Action[]): string {
  const shown = plan.filter((a) => a.kind !== "adopt" && a.kind !== "forget");
  if (shown.length === 0) return "nothing to do: both sides agree\n";
  const width = Math.max(...shown.map((a) => LABEL[a.kind].length));
  return (
    shown
      .map((a) => {
        const extra = a.kind === "conflict" ? ` -> ${a.resolution}${a.conflictName ? ` (remote copy kept as ${a.conflictName})` : ""}` : "";
        return `${LABEL[a.kind].padEnd(width)}  ${a.path}  (${a.reason}${extra})`;
      })
      .join("\n") + `\n${shown.length} action(s)\n`
  );
}

function formatSummary(s: RunSummary): string {
  const lines = [
    `${s.job}: ${s.status}${s.dryRun ? " (dry run: nothing changed)" : ""} in ${humanDuration(s.durationMs)}`,
    `  uploaded ${s.uploaded}, downloaded ${s.downloaded}, deleted local ${s.deletedLocal}, deleted remote ${s.deletedRemote}, ` +
      `conflicts ${s.conflicts}, failed ${s.failed}, ${humanBytes(s.bytes)}`,
  ];
  if (s.deferred) lines.push(`  ${s.deferred} file(s) changed while being synced: taken again next run`);
  if (s.skippedDeletes) lines.push(`  ${s.skippedDeletes} deletion(s) skipped for safety`);
  for (const e of s.errors.slice(0, 10)) lines.push(`  error: ${e}`);
  if (s.errors.length > 10) lines.push(`  ... and ${s.errors.length - 10} more errors (see the log)`);
  return lines.join("\n") + "\n";
}

function progressPrinter(): ((p: Progress) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  let last = 0;
  return (p) => {
    const now = Date.now();
    if (p.phase !== "done" && now - last < 100) return;
    last = now;
    const text =
      p.phase === "listing" || p.phase === "planning"
        ? `${p.phase}...`
        : `${p.phase} ${p.done}/${p.total} ${humanBytes(p.bytes)} ${p.current ?? ""}`;
    process.stderr.write(`\r\x1b[2K${text.slice(0, (process.stderr.columns ?? 80) - 1)}`);
    if (p.phase === "done") process.stderr.write("\r\x1b[2K");
  };
}

export function exitCodeOf(s: RunSummary): number {
  if (s.status === "aborted") return ExitCode.SafetyGuard;
  return s.status === "ok" ? ExitCode.Ok : ExitCode.Failures;
}

export async function syncCommand(app: AppContext, jobName: string, flags: SyncFlags): Promise<number> {
  // A real run takes the job's lock, shared with the agent (`ftps-sync run`): never two at once.
  const locks = flags.dryRun || !app.config.jobs[jobName] ? undefined : new JobLocks(app.state().db);
  const lock = locks?.tryAcquire(jobName, "cli");
  if (lock && !lock.ok) throw new AgentError(`job ${jobName} is already running (pid ${lock.holder.pid}); try again when it has finished`, ExitCode.Failures);
  let summary: RunSummary;
  try {
    summary = await runJob(app.config, app.state(), jobName, {
      logger: app.logger,
      dryRun: flags.dryRun,
      force: flags.force,
      trigger: "cli",
      onProgress: flags.json ? undefined : progressPrinter(),
    });
  } finally {
    locks?.release(jobName);
  }
  if (flags.dryRun && !flags.json) process.stdout.write(formatPlan(summary.plan));
  if (flags.json) {
    const { plan, ...rest } = summary;
    // Peak resident memory of this process (maxRSS is in KiB): lets tests and the benchmark
    // check that memory stays flat whatever the file sizes.
    const measured = { ...rest, peakRssBytes: process.resourceUsage().maxRSS * 1024 };
    const out = flags.dryRun ? { ...measured, plan: plan.map(({ kind, path, reason }) => ({ kind, path, reason })) } : measured;
    process.stdout.write(JSON.stringify(out) + "\n");
  } else {
    process.stdout.write(formatSummary(summary));
  }
  return exitCodeOf(summary);
}
