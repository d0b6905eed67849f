/**
 * `apply FILE`: carries out exactly the plan that `plan <job> --out FILE` saved (plan-out.ts), or
 * refuses (exit 9) when anything it relied on changed since (src/sync/apply-plan.ts).
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import { JobLocks } from "../../agent/job-lock.js";
import { ConfigError, PlanChangedError, SafetyGuardError } from "../../errors.js";
import { parseSavedPlan } from "../../plan/plan-file.js";
import type { SavedPlan } from "../../plan/saved-plan.js";
import { FtpsFolder } from "../../protocol/ftps-folder.js";
import { applyPhases } from "../../sync/apply-plan.js";
import { runJob, type RunSummary } from "../../sync/run-job.js";
import { loadApp, type AppContext, type GlobalOptions } from "../context.js";
import { AlreadyRunningError, failureOf } from "../failure.js";
import { isoTime, writeJson } from "../json-output.js";
import { notifyAfterCliRun } from "../notify-after-run.js";
import { planView, summaryView } from "../json-views.js";
import { peakRssBytes } from "../peak-rss.js";
import { exitCodeOf, formatSummary, summaryFailure } from "./sync.js";

function readPlanFile(file: string): SavedPlan {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new ConfigError(`cannot read the plan file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { file });
  }
  return parseSavedPlan(text, file);
}

/** `apply FILE`: loads the plan, then the config it names (unless --config or FTPS_SYNC_CONFIG says another), and applies it. */
export async function applyCommand(program: Command, file: string, flags: { json?: boolean }): Promise<void> {
  const saved = readPlanFile(file);
  const opts = program.opts<GlobalOptions>();
  const config = opts.config?.trim() || process.env.FTPS_SYNC_CONFIG?.trim() || saved.config;
  const app = loadApp({ ...opts, config }, { jobs: [saved.job], ownRunLines: true });
  try {
    process.exitCode = await applyPlanFile(app, saved, resolve(file), flags);
  } finally {
    app.close();
  }
}

async function applyPlanFile(app: AppContext, saved: SavedPlan, file: string, flags: { json?: boolean }): Promise<number> {
  const jobName = saved.job;
  const started = Date.now();
  const failed = (err: unknown) => {
    if (flags.json) {
      const zero = { uploaded: 0, downloaded: 0, deletedLocal: 0, deletedRemote: 0, conflicts: 0, failed: 0, bytes: 0 };
      const ended = Date.now();
      writeJson("apply", {
        job: jobName, kind: "apply", planFile: file, status: err instanceof SafetyGuardError || err instanceof PlanChangedError ? "aborted" : "failed", dryRun: false, ...zero,
        changed: err instanceof PlanChangedError ? err.changed : [],
        startedAt: isoTime(started), endedAt: isoTime(ended), durationMs: ended - started,
      }, failureOf(err));
    }
    return err;
  };
  // Like a sync: the job's lock, shared with the agent, so that no other run moves under the plan.
  const locks = new JobLocks(app.state().jobLocks);
  const lock = locks.tryAcquire(jobName, "apply");
  if (!lock.ok) throw failed(new AlreadyRunningError(`job ${jobName} is already running (pid ${lock.holder.pid}); try again when it has finished`));
  let summary: RunSummary | undefined;
  let thrown: unknown;
  // The job's notifications, as after a sync (a refused plan is a failed run of the job).
  const notified = notifyAfterCliRun(app, jobName, started);
  try {
    summary = await runJob(app.config, app.state(), jobName, {
      logger: app.logger, trigger: "apply", openRemote: (remote, logger) => new FtpsFolder(remote, logger),
    }, applyPhases(saved));
  } catch (err) {
    thrown = err;
  } finally {
    notified.runEnded(summary);
    locks.release(jobName);
  }
  if (!summary) {
    await notified.delivered();
    throw failed(thrown);
  }
  if (flags.json) {
    const { plan, totals } = planView(summary.plan);
    writeJson("apply", { ...summaryView(summary, { startedAt: started, endedAt: Date.now() }, peakRssBytes()), kind: "apply", planFile: file, changed: [], plan, totals }, summaryFailure(summary));
  } else {
    process.stdout.write(`applied the plan ${file} (made ${saved.createdAt})\n` + formatSummary(summary));
  }
  await notified.delivered();
  return exitCodeOf(summary);
}
