import type { Logger } from "../log.js";
import type { RunStore } from "../state/runs.js";

/** How much run history the agent keeps (agent.config.json "history"). */
export interface HistoryLimits {
  maxAgeMs: number;
  maxRunsPerJob: number;
}

/**
 * 90 days answers "what happened last quarter"; 10 000 runs is a week of a job that runs every
 * minute (about 2.5 MB of rows per job), and years of a nightly one.
 */
export const DEFAULT_HISTORY: HistoryLimits = { maxAgeMs: 90 * 86_400_000, maxRunsPerJob: 10_000 };

/** Rows deleted per slice: a few milliseconds of work, so that a run's own writes or a scrape never wait long. */
export const PRUNE_BATCH = 300;
export const PRUNE_INTERVAL_MS = 10 * 60_000;
export const PRUNE_FIRST_DELAY_MS = 30_000;

export interface PruneResult {
  deleted: number;
  /** Statements run, each followed by a yield to the event loop. */
  slices: number;
  /** The longest a slice held the event loop. */
  longestSliceMs: number;
}

export interface HistoryPrunerDeps {
  runs: RunStore;
  limits: () => HistoryLimits;
  /** The configured jobs: their last run and last success are kept even past maxAge. */
  jobs: () => string[];
  logger: Logger;
  now?: () => number;
  batch?: number;
  /** Between slices, given how long the slice took; by default a pause as long as the slice (restAfter). */
  yieldFn?: (sliceMs: number) => Promise<void>;
}

/**
 * One job's history brought within the limits at once: `ftps-sync sync` does this after its run
 * (started by system cron, say, no agent prunes for it). The count first, so the age pass reads
 * at most maxRunsPerJob rows. Returns the runs deleted.
 */
export function pruneJobHistory(runs: RunStore, job: string, limits: HistoryLimits, now = Date.now(), batch = PRUNE_BATCH): number {
  const protect = runs.protectedIds(job);
  let deleted = 0;
  const cutoff = runs.nthNewestId(job, limits.maxRunsPerJob);
  if (cutoff !== undefined) {
    for (let n = batch; n === batch; deleted += n) n = runs.pruneJobBefore(job, cutoff, protect, batch);
  }
  for (let n = batch; n === batch; deleted += n) n = runs.pruneJobStartedBefore(job, now - limits.maxAgeMs, protect, batch);
  return deleted;
}

/**
 * After a slice, the event loop is left free for as long as the slice held it: pruning a long
 * backlog takes at most about half of the agent's thread. Yielding only a turn (setImmediate)
 * let a scrape that yields between its metrics wait a slice at each of its ~40 turns (/metrics
 * 0.7 s while 21 million runs were pruned).
 */
const restAfter = (sliceMs: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.ceil(sliceMs) + 1));

/**
 * Deletes runs past `maxRunsPerJob` (per job) and past `maxAge`, a few hundred rows per
 * statement, yielding to the event loop after each, so that pruning a long backlog (the first
 * start after an upgrade) never holds up a run, a request or a heartbeat. Each job keeps its
 * last real run and its last success, whatever their age: `status` and /readyz judge it by them.
 */
export class HistoryPruner {
  private pass?: Promise<PruneResult>;
  private stopped = false;
  private timer?: NodeJS.Timeout;

  constructor(private readonly deps: HistoryPrunerDeps) {}

  /** One full pass; a call during a pass returns that pass. */
  prune(): Promise<PruneResult> {
    this.pass ??= this.runPass().finally(() => (this.pass = undefined));
    return this.pass;
  }

  /** Passes on a timer: the first after `firstDelayMs`, then every `intervalMs`. */
  start(intervalMs = PRUNE_INTERVAL_MS, firstDelayMs = PRUNE_FIRST_DELAY_MS): void {
    const tick = (delay: number) => {
      this.timer = setTimeout(() => {
        this.prune().then(
          (r) => {
            if (r.deleted > 0) {
              this.deps.logger.info(
                `run history pruned: ${r.deleted} old run(s) deleted in ${r.slices} slice(s), the longest ${Math.round(r.longestSliceMs)} ms`,
              );
            }
          },
          (err: Error) => this.deps.logger.warn(`pruning the run history failed (tried again in ${Math.round(intervalMs / 60_000)} min): ${err.message}`),
        ).finally(() => {
          if (!this.stopped) tick(intervalMs);
        });
      }, delay);
      this.timer.unref();
    };
    tick(firstDelayMs);
  }

  /** No slice starts after this; resolves when the one in progress, if any, has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.pass?.catch(() => undefined);
  }

  private async runPass(): Promise<PruneResult> {
    const result: PruneResult = { deleted: 0, slices: 0, longestSliceMs: 0 };
    await this.pruneByCount(result);
    await this.pruneByAge(result);
    return result;
  }

  /** A slice: one statement, then a turn of the event loop. False once stopped. */
  private async slice(result: PruneResult, fn: () => number): Promise<number | undefined> {
    if (this.stopped) return undefined;
    const t0 = performance.now();
    const n = fn();
    const took = performance.now() - t0;
    result.longestSliceMs = Math.max(result.longestSliceMs, took);
    result.slices++;
    result.deleted += n;
    await (this.deps.yieldFn ?? restAfter)(took);
    return n;
  }

  private async pruneByCount(result: PruneResult): Promise<void> {
    const { runs } = this.deps;
    const batch = this.deps.batch ?? PRUNE_BATCH;
    // Every job with history, configured or not: one index seek to find each next name.
    for (let job = runs.nextJobWithHistory(); job !== undefined; job = runs.nextJobWithHistory(job)) {
      const name = job;
      const cutoff = runs.nthNewestId(name, this.deps.limits().maxRunsPerJob);
      if (cutoff === undefined) {
        if ((await this.slice(result, () => 0)) === undefined) return;
        continue;
      }
      const protect = runs.protectedIds(name);
      for (;;) {
        const n = await this.slice(result, () => runs.pruneJobBefore(name, cutoff, protect, batch));
        if (n === undefined) return;
        if (n < batch) break;
      }
    }
  }

  private async pruneByAge(result: PruneResult): Promise<void> {
    const { runs } = this.deps;
    const batch = this.deps.batch ?? PRUNE_BATCH;
    const cutoff = (this.deps.now ?? Date.now)() - this.deps.limits().maxAgeMs;
    // Two seeks per job: a hundred jobs per slice.
    const protect: number[] = [];
    const jobs = this.deps.jobs();
    for (let i = 0; i < jobs.length; i += 100) {
      const chunk = jobs.slice(i, i + 100);
      if ((await this.slice(result, () => (protect.push(...chunk.flatMap((job) => runs.protectedIds(job))), 0))) === undefined) return;
    }
    for (;;) {
      const n = await this.slice(result, () => runs.pruneStartedBefore(cutoff, protect, batch));
      if (n === undefined || n < batch) return;
    }
  }
}
