import type { AgentConfig } from "../config/types.js";
import { RemoteError } from "../errors.js";
import type { Logger } from "../log.js";
import type { StateStore } from "../state/index.js";
import { runJob, type RunSummary } from "../sync/run-job.js";
import { JobLocks } from "./job-lock.js";
import type { AgentMetrics } from "./metrics.js";
import { RunQueue } from "./queue.js";
import type { WarmPools } from "./warm-pools.js";
import type { IdleCollector } from "./idle-gc.js";
import type { WatchScopes } from "./watch-scopes.js";

type RunFn = typeof runJob;

export interface RunnerDeps {
  state: StateStore;
  logger: Logger;
  /** Read at each dispatch, so a SIGHUP reload takes effect for the next run. */
  config: () => AgentConfig;
  metrics?: AgentMetrics;
  /** Injected in unit tests. */
  run?: RunFn;
  /** How often to look at the queue without being woken (requests from other processes, locks freed by them). */
  tickMs?: number;
  /** Connections kept open between a job's runs (the agent); without it each run opens its own. */
  pools?: WarmPools;
  /** A job whose file cannot be loaded now: its queued run waits for the file to be fixed. */
  invalidJob?: (job: string) => boolean;
  /** Called once a run is recorded (not one cut short by shutdown): notifications, expected arrivals. */
  afterRun?: (job: string, startedAt: number, summary?: RunSummary) => void;
  /** The clock scheduled runs' lateness is measured with; injected in tests. */
  now?: () => number;
  /** The folders watch events named: a run set off by them alone looks at those only. */
  scopes?: WatchScopes;
  /** Told of each run's start and end: collects the runs' garbage once the agent is idle. */
  collector?: IdleCollector;
}

/** A scheduled run that starts later than this after its time is logged as a warning (otherwise at debug). */
export const LATE_START_MS = 5_000;

interface ActiveRun {
  soft: AbortController;
  hard: AbortController;
  done: Promise<void>;
}

const timeout = (ms: number) => new Promise<"timeout">((r) => setTimeout(() => r("timeout"), ms).unref());

/**
 * Takes pending runs off the durable queue and runs them: at most `maxConcurrentJobs` at once,
 * never two of one job (the job lock, shared with `ftps-sync sync` and other agents).
 */
export class Runner {
  private readonly queue: RunQueue;
  private readonly locks: JobLocks;
  private readonly active = new Map<string, ActiveRun>();
  private accepting = true;
  private stopping = false;
  private scheduled = false;
  private readonly ticker: NodeJS.Timeout;
  /** Per job, when the scheduled run it has pending was due (this process's schedule only). */
  private readonly due = new Map<string, number>();
  /** A run again per job, when minAge held files back that nothing else would bring (a watch-only job). */
  private readonly later = new Map<string, NodeJS.Timeout>();

  constructor(private readonly deps: RunnerDeps) {
    this.queue = new RunQueue(deps.state.runQueue);
    this.locks = new JobLocks(deps.state.jobLocks);
    this.ticker = setInterval(() => this.wake(), deps.tickMs ?? 1000);
  }

  /**
   * Triggers call this: record the request durably, then look for work. `dueAt`: when a
   * scheduled run should start; its lateness is measured when it does.
   */
  request(job: string, trigger: string, dueAt?: number): void {
    if (this.stopping) return;
    if (trigger === "schedule" && dueAt !== undefined) this.noteScheduled(job, dueAt);
    const fresh = this.queue.request(job, trigger);
    this.deps.logger.debug(fresh ? `run requested (${trigger})` : `run already pending; ${trigger} folded into it`, { job });
    this.wake();
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  /**
   * A scheduled time came. When the run of the job's previous scheduled time has not even
   * started, this one has no run of its own: said and counted, never folded silently.
   */
  private noteScheduled(job: string, dueAt: number): void {
    const { logger, metrics } = this.deps;
    let earlier = this.due.get(job);
    // Its pending run was taken by another agent on the same state directory: nothing is waiting here.
    if (earlier !== undefined && !this.queue.isPending(job)) {
      this.due.delete(job);
      earlier = undefined;
    }
    if (earlier !== undefined) {
      metrics?.scheduleSkipped(job);
      logger.warn(
        `scheduled run of ${new Date(dueAt).toISOString()} skipped: the one of ${new Date(earlier).toISOString()} has not started yet ` +
          `(${this.active.has(job) ? "the job's previous run is still going" : "waiting for one of maxConcurrentJobs"})`,
        { job },
      );
      return;
    }
    this.due.set(job, dueAt);
    if (this.active.has(job)) logger.info(`scheduled run due while the previous run is still going: it starts when that one ends`, { job });
  }

  /** A scheduled run starts: how late (returned), in the metric, and in the log. */
  private measureStart(job: string, triggers: string[], startedAt: number): number | undefined {
    const dueAt = this.due.get(job);
    this.due.delete(job);
    if (dueAt === undefined || !triggers.includes("schedule")) return undefined;
    const lateMs = Math.max(0, startedAt - dueAt);
    this.deps.metrics?.scheduleDelay(lateMs / 1000);
    const text = `scheduled run started ${(lateMs / 1000).toFixed(1)} s after its time (${new Date(dueAt).toISOString()})`;
    if (lateMs > LATE_START_MS) this.deps.logger.warn(`${text}: late`, { job, lateMs });
    else this.deps.logger.debug(text, { job, lateMs });
    return lateMs;
  }

  running(): string[] {
    return [...this.active.keys()];
  }

  wake(): void {
    if (!this.accepting || this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    // A pump scheduled just before stop() must not read the queue: the state may be closed by now.
    if (!this.accepting) return;
    const config = this.deps.config();
    for (const p of this.queue.pending()) {
      if (!this.accepting || this.active.size >= config.maxConcurrentJobs) return;
      if (this.active.has(p.job)) continue;
      if (!config.jobs[p.job]) {
        if (this.deps.invalidJob?.(p.job)) continue;
        this.deps.logger.warn(`dropping a queued run of "${p.job}": no such job in ${config.jobsDir} any more`);
        this.queue.remove(p.job);
        this.due.delete(p.job);
        continue;
      }
      const claim = this.queue.claim(p.job, this.locks);
      if (!claim.ok) {
        if (claim.holder) this.deps.logger.debug(`waiting: job is running in process ${claim.holder.pid}`, { job: p.job });
        continue;
      }
      this.start(config, p.job, claim.triggers);
    }
  }

  private start(config: AgentConfig, job: string, triggers: string[]): void {
    const { state, logger, metrics } = this.deps;
    const run = this.deps.run ?? runJob;
    const soft = new AbortController();
    const hard = new AbortController();
    const started = Date.now();
    const trigger = triggers.join(",");
    const lateMs = this.measureStart(job, triggers, this.now());
    logger.info(`run started (${trigger})`, lateMs === undefined ? { job } : { job, lateMs });
    const remote = config.remotes[config.jobs[job].remote];
    const folder = remote ? this.deps.pools?.take(job, remote) : undefined;
    const onHeldBack = (dueInMs: number) => this.requestLater(job, dueInMs);
    const scope = this.deps.scopes?.take(job, triggers);
    this.deps.collector?.runStarted();
    const done = run(config, state, job, { logger, trigger, signal: soft.signal, hardStop: hard.signal, remote: folder, onHeldBack, scope })
      .then((s: RunSummary) => {
        if (this.stopping && s.status !== "ok") return this.interrupted(job, started);
        metrics?.runFinished(s);
        // The run's summary line is runJob's (sync/run-log.ts): worded as the CLI words it.
        this.deps.afterRun?.(job, started, s);
      })
      .catch((err: unknown) => {
        if (this.stopping) return this.interrupted(job, started);
        const connect = err instanceof RemoteError && err.phase === "connect";
        metrics?.runError(job, connect ? "error" : "aborted", connect, Date.now() - started);
        logger.error(`run did not complete: ${(err as Error).message}`, { job });
        this.deps.afterRun?.(job, started);
      })
      .finally(() => {
        this.deps.pools?.release(job);
        this.locks.release(job);
        this.active.delete(job);
        this.deps.collector?.runEnded();
        this.wake();
      });
    this.active.set(job, { soft, hard, done });
  }

  /** Requests a run of `job` once `ms` have passed (the "minAge" trigger); a later call replaces an earlier one. */
  private requestLater(job: string, ms: number): void {
    clearTimeout(this.later.get(job));
    // A second more: a file then surely is old enough, whatever rounding the clocks did.
    const timer = setTimeout(() => {
      this.later.delete(job);
      this.request(job, "minAge");
    }, Math.max(0, ms) + 1000);
    timer.unref();
    this.later.set(job, timer);
  }

  /** A run cut short by shutdown: recorded as interrupted, and queued again for the next start. */
  private interrupted(job: string, started: number): void {
    const { state, logger, metrics } = this.deps;
    state.runs.markShutdownInterrupted(job);
    this.queue.request(job, "resume");
    metrics?.runError(job, "interrupted", false, Date.now() - started);
    logger.warn("run interrupted by shutdown; queued again for the next start", { job });
  }

  /**
   * Graceful stop: no new run starts; runs in progress finish the transfers in flight (no new
   * ones) within `graceMs`, after which their connections are cut. Resolves when all ended,
   * or `abandonMs` after the cut at the latest.
   */
  async stop(graceMs: number, abandonMs = 5000): Promise<void> {
    this.accepting = false;
    this.stopping = true;
    clearInterval(this.ticker);
    this.deps.collector?.stop();
    for (const t of this.later.values()) clearTimeout(t);
    this.later.clear();
    for (const a of this.active.values()) a.soft.abort(new Error("agent stopping"));
    const all = Promise.allSettled([...this.active.values()].map((a) => a.done));
    if (this.active.size > 0) {
      this.deps.logger.info(`waiting up to ${Math.round(graceMs / 1000)} s for ${this.active.size} run(s) to finish their transfers`);
      if ((await Promise.race([all, timeout(graceMs)])) === "timeout") {
        this.hardStop();
        if ((await Promise.race([all, timeout(abandonMs)])) === "timeout") {
          this.deps.logger.warn(`abandoning ${this.active.size} run(s) that did not end; the next start resumes them`);
        }
      }
    }
    await this.deps.pools?.closeAll();
  }

  /** Cuts every connection of every run now (grace expired, or a second signal). */
  hardStop(): void {
    for (const a of this.active.values()) a.hard.abort(new Error("agent stopping now"));
  }
}
