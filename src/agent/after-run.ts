/**
 * What follows a recorded run, in `sync` and in the agent alike: its "success" or "failure"
 * notification, and the expected arrivals it brought (or did not): "recovered", "late". Never
 * throws: nothing here may change how the run went.
 */
import { hostname } from "node:os";
import type { JobConfig } from "../config/types.js";
import type { Logger } from "../log.js";
import type { StateStore } from "../state/index.js";
import type { RunSummary } from "../sync/run-job.js";
import { arrivedPaths, ExpectedArrivals, type ExpectEvent } from "./expect/arrivals.js";
import type { Notifier } from "./notify/notifier.js";
import { expectNotification, runNotification } from "./notify/payload.js";

export interface AfterRunDeps {
  state: StateStore;
  logger: Logger;
  notifier: Notifier;
  clock?: () => number;
}

/** Logs an expected-arrival event and sends it. */
export function announceExpectEvent(deps: AfterRunDeps, job: JobConfig, e: ExpectEvent): void {
  const now = (deps.clock ?? Date.now)();
  if (e.event === "late") {
    deps.logger.warn(`late: no file matching "${e.expected.match}" has arrived by ${e.expected.by} (${e.expected.timezone}), deadline ${e.expected.deadline}`, { job: job.name });
  } else {
    deps.logger.info(`recovered: ${e.arrived?.path} arrived after the deadline ${e.expected.deadline}`, { job: job.name });
  }
  deps.notifier.send(job, expectNotification(e, hostname(), now));
}

/**
 * After a real (not dry) run of `job` that started at `startedAt`: `summary` when the run ended
 * with one, undefined when it threw (it is recorded as failed or aborted all the same).
 */
export function afterRun(deps: AfterRunDeps, job: JobConfig, startedAt: number, summary?: RunSummary): void {
  const { state, logger, notifier } = deps;
  const clock = deps.clock ?? Date.now;
  try {
    // The run just recorded: the job's lock is still held, no other run of it could come between.
    const record = state.runs.last(job.name);
    const ours = record && record.startedAt >= startedAt && record.status !== "running" && record.status !== "interrupted" ? record : undefined;
    if (ours) notifier.send(job, runNotification(ours, summary?.errors, hostname(), clock()));
    if (job.expect) {
      const arrived = summary && !summary.dryRun ? arrivedPaths(job, summary, state) : [];
      for (const e of new ExpectedArrivals(state, clock).afterRun(job, arrived, ours?.id)) announceExpectEvent(deps, job, e);
    }
  } catch (err) {
    logger.warn(`after the run: ${(err as Error).message}`, { job: job.name });
  }
}

/** The agent's look at its jobs' deadlines, between runs: "late" as soon as one passes. */
export function checkDeadlines(deps: AfterRunDeps, jobs: JobConfig[]): void {
  const arrivals = new ExpectedArrivals(deps.state, deps.clock ?? Date.now);
  for (const job of jobs) {
    if (!job.expect) continue;
    try {
      const e = arrivals.check(job);
      if (e) announceExpectEvent(deps, job, e);
    } catch (err) {
      deps.logger.warn(`checking the expected arrival: ${(err as Error).message}`, { job: job.name });
    }
  }
}
