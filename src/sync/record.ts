/**
 * Recording: the state writes of what a run gathered and learnt before it carries out its plan
 * (transfers that landed before an earlier run stopped, the memos of the shortcuts), and the
 * run's row. A dry run records its run row only.
 */
import { formatSettledMemo, remoteSideDigest } from "../plan/settled-run.js";
import { scanFingerprint } from "../plan/trusted-remote.js";
import type { RunCounts } from "../state/runs.js";
import type { Gathered } from "./gather.js";
import type { Landed } from "./landed-uploads.js";
import type { Plan } from "./plan-run.js";
import { rawPlanEmpty } from "./plan-run.js";
import type { RunContext } from "./run-context.js";
import type { Memo, NothingToDo } from "./shortcut.js";
import { settledListing } from "./shortcut.js";

/** Writes the records of transfers that landed before an earlier run stopped, and closes their partial rows. */
export function recordLanded(ctx: RunContext, landed: Landed[]): void {
  const { state, job, logger } = ctx;
  for (const { entry, direction } of landed) {
    state.entries.batch(() => {
      state.entries.put(job.name, entry);
      state.partials.end(job.name, entry.path, direction);
    });
    logger.info(`${entry.path}: its ${direction} was renamed into place before the last run stopped; recorded now`);
  }
}

/**
 * The memo for the next run's shortcut: a trusted run whose tree matched the state remembers its
 * scan; a listing run that found nothing to do, both sides seen whole and no time refined, remembers
 * both sides (settled-run.ts). Taken at the generation read before the run wrote anything.
 */
export function rememberMemos(ctx: RunContext, memo: Memo, g: Gathered, plan: Plan, unchanged: boolean): void {
  const { state, job, server } = ctx;
  const local = g.localScan.entries;
  if (unchanged) state.unchangedScans.remember(job.name, memo.generation, scanFingerprint(local));
  const trustedJob = job.trustRemote && job.direction === "upload";
  if (!trustedJob && g.listed && rawPlanEmpty(plan) && memo.noPartials && settledListing(g.localScan, g.listed) && g.refinedDayTimes === 0) {
    const settledMemo = formatSettledMemo({ local: scanFingerprint(local), remote: remoteSideDigest(local, g.listed.entries, job) });
    state.unchangedScans.remember(job.name, memo.generation, settledMemo, server.listingHints(g.listed.entries));
  }
}

/** A settled memo from before STAT estimates were kept gets them, for the next run. */
export function refreshMemo(ctx: RunContext, memo: Memo, done: NothingToDo): void {
  if (done.refreshMemo) ctx.state.unchangedScans.remember(ctx.job.name, memo.generation, done.refreshMemo.fingerprint, done.refreshMemo.statEstimates);
}

export type RunStatusResult = "ok" | "failed" | "aborted";

/** The run's row: started now, finished once (later calls change nothing). `runId` is its id (`history`), which the run's log lines carry. */
export function runRecord(ctx: RunContext): ((status: RunStatusResult, counts: RunCounts, error?: string) => void) & { runId: number } {
  const runId = ctx.state.runs.start(ctx.job.name, ctx.opts.trigger ?? "manual", !!ctx.opts.dryRun);
  let recorded = false;
  const finish = (status: RunStatusResult, counts: RunCounts, error?: string) => {
    if (!recorded) ctx.state.runs.finish(runId, status, counts, error);
    recorded = true;
  };
  return Object.assign(finish, { runId });
}
