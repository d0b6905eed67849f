import type { AgentConfig } from "../config/types.js";
import { RemoteError } from "../errors.js";
import type { Logger } from "../log.js";
import type { StateStore } from "../state/index.js";
import { runJob, type RunSummary } from "../sync/run-job.js";
import { JobLocks } from "./job-lock.js";
import type { AgentMetrics } from "./metrics.js";
import { RunQueue } from "./queue.js";
import type { WarmPools } from "./warm-pools.js";
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
  /** Called once a run is recorded (not one cut short by shutdown): notifications, expected arrivals. */
  afterRun?: (job: string, startedAt: number, summary?: RunSummary) => void;
  /** The folders watch events named: a run set off by them alone looks at those only. */
  scopes?: WatchScopes;
}

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

  constructor(private readonly deps: RunnerDeps) {
    this.queue = new RunQueue(deps.state.runQueue);
    this.locks = new JobLocks(deps.state.jobLocks);
    this.ticker = setInterval(() => this.wake(), deps.tickMs ?? 1000);
  }

  /** Triggers call this: record the request durably, then look for work. */
  request(job: string, trigger: string): void {
    if (this.stopping) return;
    const fresh = this.queue.request(job, trigger);
    this.deps.logger.debug(fresh ? `run requested (${trigger})` : `run already pending; ${trigger} folded into it`, { job });
    this.wake();
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
        this.deps.logger.warn(`dropping a queued run of "${p.job}": no such job in ${config.jobsDir} any more`);
        this.queue.remove(p.job);
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
    logger.info(`run started (${trigger})`, { job });
    const remote = config.remotes[config.jobs[job].remote];
    const folder = remote ? this.deps.pools?.take(job, remote) : undefined;
    const scope = this.deps.scopes?.take(job, triggers);
    const done = run(config, state, job, { logger, trigger, signal: soft.signal, hardStop: hard.signal, remote: folder, scope })
      .then((s: RunSummary) => {
        if (this.stopping && s.status !== "ok") return this.interrupted(job, started);
        metrics?.runFinished(s);
        logger.info(
          `run ${s.status}: uploaded ${s.uploaded}, downloaded ${s.downloaded}, deleted ${s.deletedLocal + s.deletedRemote}, ` +
            `conflicts ${s.conflicts}, failed ${s.failed}, ${s.bytes} bytes in ${s.durationMs} ms`,
          { job },
        );
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
        this.wake();
      });
    this.active.set(job, { soft, hard, done });
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
