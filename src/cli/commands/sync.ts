import { FtpsFolder } from "../../protocol/ftps-folder.js";
import { DEFAULT_HISTORY, pruneJobHistory } from "../../agent/history-pruner.js";
import { JobLocks } from "../../agent/job-lock.js";
import { notifyAfterCliRun } from "../notify-after-run.js";
import { ExitCode, SafetyGuardError } from "../../errors.js";
import type { Action } from "../../plan/types.js";
import { runJob, type Progress, type RunSummary } from "../../sync/run-job.js";
import type { AppContext } from "../context.js";
import { AlreadyRunningError, failureOf, hintFor, type Failure } from "../failure.js";
import { countsSentence, humanDuration, planSentence, planTable, planTotals } from "../format.js";
import { isoTime, writeJson } from "../json-output.js";
import { summaryView } from "../json-views.js";
import { peakRssBytes } from "../peak-rss.js";
import { effectiveMode, progressPrinter, type ProgressMode } from "../progress-printer.js";

export interface SyncFlags {
  dryRun?: boolean;
  force?: boolean;
  json?: boolean;
  /** The command the user typed, which names the JSON schema (`sync --dry-run` is still `sync`). */
  command?: "sync" | "plan";
  /** `plan --out FILE`: save the plan for `apply` (plan-out.ts). */
  out?: string;
  /** --progress: auto (a line redrawn on a terminal, nothing elsewhere), tty, plain (a line per file) or none. */
  progress?: ProgressMode;
}

/** The plan as a compact table: action, path, size, reason (the summary line words the totals). */
export function formatPlan(plan: Action[]): string {
  return planTable(plan, process.stdout.columns ?? 120, { totals: false });
}

/**
 * The closing lines. A plan (dry run) says what it would do and that nothing changed; a sync
 * says what it did.
 */
export function formatSummary(s: RunSummary): string {
  const took = humanDuration(s.durationMs);
  // A plan that failed before it had a plan has nothing to say about what it would do.
  const lines = s.dryRun
    ? [
        s.status !== "ok" && s.plan.length === 0
          ? `${s.job}: plan ${s.status} in ${took}; nothing changed`
          : `${s.job}: ${s.status === "ok" ? "" : `${s.status}; `}${planSentence(planTotals(s.plan))}; nothing changed (plan, ${took})`,
      ]
    : [
        `${s.job}: ${s.status} in ${took}`,
        // Worded as the log's summary line words it (daemon and CLI alike).
        `  ${countsSentence(s)}`,
      ];
  if (s.deferred) lines.push(`  ${s.deferred} file(s) changed while being synced: taken again next run`);
  if (s.skippedDeletes) lines.push(`  ${s.skippedDeletes} deletion(s) ${s.dryRun ? "would be " : ""}skipped: held back by the delete policy, or for safety`);
  for (const e of s.errors.slice(0, 10)) lines.push(`  error: ${e}`);
  if (s.errors.length > 10) lines.push(`  ... and ${s.errors.length - 10} more errors (see the log)`);
  return lines.join("\n") + "\n";
}

export function exitCodeOf(s: RunSummary): number {
  if (s.status === "aborted") return ExitCode.SafetyGuard;
  return s.status === "ok" ? ExitCode.Ok : ExitCode.Failures;
}

/** A run that ended but not well, as the JSON output's `error`; undefined for a run that went fine. */
export function summaryFailure(s: RunSummary): Failure | undefined {
  if (s.status === "ok") return undefined;
  const what = s.dryRun ? "plan" : "sync";
  if (s.status === "aborted") {
    return { code: "safety-guard", exitCode: ExitCode.SafetyGuard, message: s.errors[0] ?? `${what} of ${s.job} stopped by a safety guard`, hint: hintFor("safety-guard") };
  }
  // No file failed: the run stopped on an error of its own (the remote folder missing, a listing
  // that failed, a stop). README "JSON output": code error, "a run that could not go on".
  if (s.failed === 0) {
    const why = s.errors.at(-1) ?? "stopped before the run finished";
    return { code: "error", exitCode: ExitCode.Failures, message: `${what} of ${s.job} could not go on: ${why}`, hint: hintFor("error") };
  }
  const message = `${what} of ${s.job} finished with ${s.failed} failure(s)${s.errors.length ? `: ${s.errors[0]}` : ""}`;
  return { code: "failures", exitCode: ExitCode.Failures, message, hint: hintFor("failures") };
}

export async function syncCommand(app: AppContext, jobName: string, flags: SyncFlags): Promise<number> {
  const command = flags.command ?? (flags.dryRun ? "plan" : "sync");
  const started = Date.now();
  // A failure before or during the run still ends with the one JSON object that scripts read:
  // the run's fields (zero counts) with the error. The error itself goes to stderr as usual.
  const failed = (err: unknown) => {
    if (flags.json) {
      const status = err instanceof SafetyGuardError ? "aborted" : "failed";
      const zero = { uploaded: 0, downloaded: 0, deletedLocal: 0, deletedRemote: 0, conflicts: 0, failed: 0, bytes: 0 };
      const ended = Date.now();
      writeJson(command, {
        job: jobName, kind: command, status, dryRun: !!flags.dryRun, ...zero,
        startedAt: isoTime(started), endedAt: isoTime(ended), durationMs: ended - started,
      }, failureOf(err));
    }
    return err;
  };
  const job = app.config.jobs[jobName];
  // `plan --out` only: the saved plan's modules are not loaded for a sync.
  const planOut = flags.out !== undefined ? await import("./plan-out.js") : undefined;
  if (flags.out !== undefined && job) planOut!.refuseInsideJob(flags.out, job.local);
  // A real run takes the job's lock, shared with the agent (`ftps-sync run`): never two at once.
  const locks = flags.dryRun || !app.config.jobs[jobName] ? undefined : new JobLocks(app.state().jobLocks);
  const lock = locks?.tryAcquire(jobName, "cli");
  if (lock && !lock.ok) {
    throw failed(new AlreadyRunningError(`job ${jobName} is already running (pid ${lock.holder.pid}); try again when it has finished`));
  }
  let summary: RunSummary | undefined;
  let thrown: unknown;
  // --json keeps the terminal quiet unless progress was asked for by name.
  const progressMode = flags.json && (flags.progress ?? "auto") === "auto" ? "none" : (flags.progress ?? "auto");
  const onProgress = progressPrinter(progressMode);
  // Notifications (the job's "notify") are sent once the run is recorded, and waited for at the end, briefly.
  const notified = lock?.ok ? notifyAfterCliRun(app, jobName, started) : undefined;
  const capture = planOut?.capturePlan();
  try {
    summary = await runJob(app.config, app.state(), jobName, {
      logger: app.logger,
      dryRun: flags.dryRun,
      force: flags.force,
      trigger: "cli",
      onProgress,
      // A line per file (plain) needs no count of the bytes in flight.
      progressBytes: effectiveMode(progressMode, process.stderr) === "tty",
      openRemote: (remote, logger) => new FtpsFolder(remote, logger),
      ...(capture ? { now: capture.now, onPlanned: capture.onPlanned } : {}),
    });
  } catch (err) {
    thrown = err;
  } finally {
    notified?.runEnded(summary);
    // Only a lock this run took is released: a refused run leaves the holder's lock alone.
    if (lock?.ok) locks?.release(jobName);
    // A dry run or a failed run ends without a "done" step: clear the progress line anyway.
    onProgress?.({ phase: "done", done: 0, total: 0, bytes: 0 });
  }
  if (!summary) {
    await notified?.delivered();
    throw failed(thrown);
  }
  // A job run by system cron has no agent pruning its history: bounded here as well (a few ms).
  try {
    pruneJobHistory(app.state().runs, jobName, app.config.history ?? DEFAULT_HISTORY);
  } catch (err) {
    app.logger.warn(`pruning the run history of ${jobName} failed: ${(err as Error).message}`);
  }
  // A dry run that failed before it had a plan has none to show ("nothing to do" would be wrong).
  if (flags.dryRun && !flags.json && (summary.status === "ok" || summary.plan.length > 0)) process.stdout.write(formatPlan(summary.plan));
  // Only a plan that ended well is saved: one with unread folders or failures is no plan to apply.
  const planFile = capture && summary.status === "ok" ? planOut!.writePlanFile(flags.out!, capture.saved(app, jobName, summary, !!flags.force)) : undefined;
  if (flags.json) {
    const saved = capture ? { planFile: planFile ?? null } : {};
    writeJson(command, { ...summaryView(summary, { startedAt: started, endedAt: Date.now() }, peakRssBytes()), ...saved }, summaryFailure(summary));
  } else {
    process.stdout.write(formatSummary(summary));
    if (planFile) process.stdout.write(`plan saved to ${planFile}; carry it out with: ftps-sync apply ${planFile}\n`);
    else if (capture) process.stdout.write(`no plan saved: the plan did not end well\n`);
  }
  await notified?.delivered();
  return exitCodeOf(summary);
}
