import { JobLocks } from "../../agent/job-lock.js";
import { AgentError, ExitCode, RemoteError, SafetyGuardError } from "../../errors.js";
import type { Action } from "../../plan/types.js";
import { runJob, type Progress, type RunSummary } from "../../sync/run-job.js";
import type { AppContext } from "../context.js";
import { peakRssBytes } from "../peak-rss.js";
import { humanBytes, humanDuration, planTable, progressLine } from "../format.js";

export interface SyncFlags {
  dryRun?: boolean;
  force?: boolean;
  json?: boolean;
}

/** The plan as a compact table: action, path, size, reason; then the totals (see planTable). */
export function formatPlan(plan: Action[]): string {
  return planTable(plan, process.stdout.columns ?? 120);
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

/** A live progress line (bar, counts, bytes, rate) on stderr when it is a terminal; nothing otherwise. */
function progressPrinter(): ((p: Progress) => void) | undefined {
  if (!process.stderr.isTTY) return undefined;
  const started = Date.now();
  let last = 0;
  return (p) => {
    if (p.phase === "done") return void process.stderr.write("\r\x1b[2K");
    const now = Date.now();
    if (now - last < 100) return;
    last = now;
    process.stderr.write(`\r\x1b[2K${progressLine(p, process.stderr.columns ?? 80, now - started)}`);
  };
}

export function exitCodeOf(s: RunSummary): number {
  if (s.status === "aborted") return ExitCode.SafetyGuard;
  return s.status === "ok" ? ExitCode.Ok : ExitCode.Failures;
}

export async function syncCommand(app: AppContext, jobName: string, flags: SyncFlags): Promise<number> {
  // A real run takes the job's lock, shared with the agent (`ftps-sync run`): never two at once.
  const locks = flags.dryRun || !app.config.jobs[jobName] ? undefined : new JobLocks(app.state().jobLocks);
  const lock = locks?.tryAcquire(jobName, "cli");
  if (lock && !lock.ok) throw new AgentError(`job ${jobName} is already running (pid ${lock.holder.pid}); try again when it has finished`, ExitCode.Failures);
  let summary: RunSummary;
  const onProgress = flags.json ? undefined : progressPrinter();
  const started = Date.now();
  try {
    summary = await runJob(app.config, app.state(), jobName, {
      logger: app.logger,
      dryRun: flags.dryRun,
      force: flags.force,
      trigger: "cli",
      onProgress,
    });
  } catch (err) {
    // A guard stop (exit 3) or a failed connection (exit 4) still ends with the JSON line that
    // scripts read; the error itself goes to stderr as usual.
    if (flags.json && (err instanceof SafetyGuardError || err instanceof RemoteError)) {
      const status = err instanceof SafetyGuardError ? "aborted" : "failed";
      const zero = { uploaded: 0, downloaded: 0, deletedLocal: 0, deletedRemote: 0, conflicts: 0, failed: 0, bytes: 0 };
      process.stdout.write(JSON.stringify({ job: jobName, status, ...zero, durationMs: Date.now() - started, error: err.message }) + "\n");
    }
    throw err;
  } finally {
    locks?.release(jobName);
    // A dry run or a failed run ends without a "done" step: clear the progress line anyway.
    onProgress?.({ phase: "done", done: 0, total: 0, bytes: 0 });
  }
  // A dry run that failed before it had a plan has none to show ("nothing to do" would be wrong).
  if (flags.dryRun && !flags.json && (summary.status === "ok" || summary.plan.length > 0)) process.stdout.write(formatPlan(summary.plan));
  if (flags.json) {
    const { plan, ...rest } = summary;
    // Peak resident memory of this process: lets tests and the benchmark check that memory
    // stays flat whatever the file sizes.
    const measured = { ...rest, peakRssBytes: peakRssBytes() };
    const out = flags.dryRun ? { ...measured, plan: plan.map(({ kind, path, reason }) => ({ kind, path, reason })) } : measured;
    process.stdout.write(JSON.stringify(out) + "\n");
  } else {
    process.stdout.write(formatSummary(summary));
  }
  return exitCodeOf(summary);
}
