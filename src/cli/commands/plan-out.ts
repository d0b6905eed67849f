/**
 * `plan <job> --out FILE`: the plan saved with what it was based on (src/plan/saved-plan.ts),
 * for `ftps-sync apply FILE` (apply.ts) once reviewed.
 */
import { realpathSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { ConfigError } from "../../errors.js";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { jobIdentity, type SavedPlan } from "../../plan/saved-plan.js";
import { savedPlanOf } from "../../sync/apply-plan.js";
import type { Gathered } from "../../sync/gather.js";
import type { Plan } from "../../sync/plan-run.js";
import type { RunSummary } from "../../sync/run-job.js";
import type { AppContext } from "../context.js";

/** What `plan --out` collects during the run, to save once it has ended well. */
export interface PlanCapture {
  now: Date;
  onPlanned: (plan: Plan, gathered: Gathered) => void;
  /** The plan to save, once the run has ended (an empty one when the run had nothing to do). */
  saved(app: AppContext, jobName: string, summary: RunSummary, force: boolean): SavedPlan;
}

/**
 * A plan file inside the job's local folder would be synced with it (the job's paths, host and
 * user sent to the server): refused before the run, exit 2.
 */
export function refuseInsideJob(out: string, jobLocal: string): void {
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return resolve(p);
    }
  };
  const rel = relative(real(jobLocal), join(real(dirname(resolve(out))), basename(out)));
  if (rel !== "" && !rel.startsWith("..") && !isAbsolute(rel)) {
    throw new ConfigError(`the plan file would be inside the job's local folder ${jobLocal}, and synced with it: write it elsewhere`, { file: resolve(out) });
  }
}

export function capturePlan(): PlanCapture {
  const now = new Date();
  let planned: { plan: Plan; gathered: Gathered } | undefined;
  return {
    now,
    onPlanned: (plan, gathered) => (planned = { plan, gathered }),
    saved(app, jobName, summary, force) {
      const job = app.config.jobs[jobName];
      const plan = planned?.plan ?? { actions: [], skippedDeletes: summary.skippedDeletes, warnings: [], errors: [] };
      const identity = jobIdentity(job, app.config.remotes[job.remote]);
      return savedPlanOf({ plan, gathered: planned?.gathered, job: jobName, config: app.config.configPath, identity, force, createdAt: now });
    },
  };
}

/** Writes the plan file whole or not at all (a temporary name beside it, then a rename). */
export function writePlanFile(path: string, saved: SavedPlan): string {
  const target = resolve(path);
  const temp = join(dirname(target), `.${basename(target)}.${process.pid}.tmp`);
  try {
    writeFileSync(temp, JSON.stringify(saved, null, 2) + "\n", { mode: 0o600 });
    renameSync(temp, target);
  } catch (err) {
    rmSync(temp, { force: true });
    throw new ConfigError(`cannot write the plan file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { file: target });
  }
  return target;
}
