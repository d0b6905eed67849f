import { HttpListenError } from "../errors.js";
import type { Server } from "node:http";
import type { AgentConfig } from "../config/types.js";
import type { Logger } from "../log.js";
import type { StateStore } from "../state/index.js";
import { afterRun, checkDeadlines, type AfterRunDeps } from "./after-run.js";
import { AgentRegistry, HEARTBEAT_MS } from "./agents.js";
import { registerConfigMetrics } from "./config-metrics.js";
import { ConfigProblems, type AgentLoad, type BadJob } from "./config-problems.js";
import { ExpectedArrivals } from "./expect/arrivals.js";
import { fullCollection, IdleCollector } from "./idle-gc.js";
import { DEFAULT_HISTORY, HistoryPruner } from "./history-pruner.js";
import { startHttp } from "./http.js";
import { JobLocks } from "./job-lock.js";
import { AgentMetrics } from "./metrics.js";
import { Notifier } from "./notify/notifier.js";
import { pidAlive } from "./pid.js";
import { RunQueue } from "./queue.js";
import { Runner } from "./runner.js";
import { WarmPools } from "./warm-pools.js";
import { collectStatusInSlices } from "./status.js";
import { startTriggers, type Triggers } from "./triggers.js";
import type { WatchState } from "./watcher.js";
import type { FolderChange } from "./folder-watch.js";
import { WatchScopes } from "./watch-scopes.js";

/** How often the agent looks whether an expected file is late (it also looks after each run). */
const DEADLINE_CHECK_MS = 30_000;
/** How long a stopping agent waits for notifications still being delivered. */
const NOTIFY_GRACE_MS = 5_000;

export interface DaemonOptions {
  config: AgentConfig;
  /** Job files left out of `config` because they cannot be loaded: reported, while the other jobs run. */
  badJobs?: BadJob[];
  state: StateStore;
  logger: Logger;
  /** Reads the configuration again (SIGHUP); throws ConfigError when agent.config.json is invalid. */
  reload: () => AgentLoad;
}

/**
 * Work left by a previous process that died (kill -9, power loss): runs still "running" are
 * marked interrupted, stale locks cleared, and their jobs queued again.
 */
function recover(config: AgentConfig, state: StateStore, queue: RunQueue, logger: Logger): void {
  const interrupted = state.runs.markInterrupted(pidAlive);
  const stale = new JobLocks(state.jobLocks).clearStale();
  for (const job of new Set([...interrupted, ...stale])) {
    if (!config.jobs[job]) continue;
    logger.warn("a run of this job was cut short by a process that died; queued again", { job });
    queue.request(job, "recovered");
  }
  // Watched and polled jobs may have changed while no agent was watching.
  for (const job of Object.values(config.jobs)) {
    if (job.watch || (job.pollMs !== undefined && job.direction !== "upload")) queue.request(job.name, "startup");
  }
}

/**
 * `ftps-sync run`: triggers, queue, runner, heartbeat and the optional HTTP listener, until
 * SIGTERM or SIGINT. Resolves with the exit code (0 after a graceful stop).
 */
export async function runDaemon(opts: DaemonOptions): Promise<number> {
  const { state, logger } = opts;
  let config = opts.config;
  const queue = new RunQueue(state.runQueue);
  const agents = new AgentRegistry(state.agents);
  const arrivals = new ExpectedArrivals(state);
  const metrics = new AgentMetrics(
    state,
    () => Object.keys(config.jobs),
    () => Object.values(config.jobs).filter((j) => j.expect).map((j) => ({ job: j.name, late: arrivals.lateness(j).late })),
    (job) => config.jobs[job]?.notify,
  );
  const problems = new ConfigProblems(logger);
  problems.started({ config, badJobs: opts.badJobs ?? [] });
  registerConfigMetrics(metrics.registry, () => config, problems);
  const notifier = new Notifier({ logger, onOutcome: (o) => metrics.notification(o) });
  const after: AfterRunDeps = { state, logger, notifier };
  const startedAt = Date.now();

  recover(config, state, queue, logger);
  agents.register();
  const heartbeat = setInterval(() => {
    try {
      agents.heartbeat();
    } catch (err) {
      logger.warn(`heartbeat: ${(err as Error).message}`);
    }
  }, HEARTBEAT_MS);

  const scopes = new WatchScopes();
  const mib = (b: number) => `${Math.round(b / 2 ** 20)} MiB`;
  const collector = new IdleCollector({
    collect: fullCollection(),
    onCollected: (r) => logger.debug(`runs over: garbage collected in ${r.ms.toFixed(0)} ms, heap ${mib(r.heapBefore)} -> ${mib(r.heapAfter)}, RSS ${mib(process.memoryUsage.rss())}`),
  });
  const runner = new Runner({
    state, logger, metrics, config: () => config, pools: new WarmPools(logger), scopes, collector,
    invalidJob: (job) => problems.badJobs().some((b) => b.job === job),
    afterRun: (job, started, summary) => config.jobs[job] && afterRun(after, config.jobs[job], started, summary),
  });
  // Expected arrivals: "late" fires once a deadline passes without the file, between runs too. Not
  // at once at start-up: the start-up runs may be about to bring the file (each run looks too).
  const lookAtDeadlines = () => checkDeadlines(after, Object.values(config.jobs));
  const deadlines = setInterval(lookAtDeadlines, DEADLINE_CHECK_MS);
  // How each job is watched, in the state, for `status` and /readyz (which may be another process).
  const watchOptions = {
    onFolders: (job: string, changes: FolderChange[]) => scopes.add(job, changes),
    onState: (job: string, w: WatchState) => {
      try {
        state.watchStates.save({ job, pid: process.pid, updatedAt: Date.now(), ...(w.mode === "watching" ? { mode: w.mode, watches: w.watches } : { mode: w.mode, watches: 0, pollMs: w.pollMs, reason: w.reason }) });
      } catch (err) {
        logger.warn(`recording how ${job} is watched: ${(err as Error).message}`);
      }
    },
  };
  let triggers: Triggers = startTriggers(config, (job, t, due) => runner.request(job, t, due), logger, watchOptions);

  let http: Server | undefined;
  if (config.http) {
    try {
      http = await startHttp(config.http, {
        logger,
        metrics,
        status: () =>
          collectStatusInSlices(config, state, { since: startedAt, nextRun: (j) => triggers.nextRun(j), badJobs: problems.badJobs(), configProblem: problems.configProblem() }),
      });
    } catch (err) {
      // An operator who configured the endpoint relies on it (probes, scrapes): not serving it is
      // a failure to start, said at once, not a run without it. Nothing has run yet.
      await triggers.stop();
      await runner.stop(0);
      clearInterval(heartbeat);
      clearInterval(deadlines);
      agents.unregister();
      const code = (err as NodeJS.ErrnoException).code;
      const why = code === "EADDRINUSE" ? "the port is taken by another process" : code === "EADDRNOTAVAIL" ? "the address is not one of this machine's" : (err as Error).message;
      throw new HttpListenError(`http.listen: cannot listen on ${config.http.host}:${config.http.port}: ${why}${code ? ` (${code})` : ""}`);
    }
  }
  const invalid = problems.badJobs().length;
  logger.info(
    `agent started (pid ${process.pid}): ${Object.keys(config.jobs).length} job(s), at most ${config.maxConcurrentJobs} at once` +
      (invalid > 0 ? `; ${invalid} job file(s) invalid, left out` : ""),
  );
  runner.wake();
  // Bounded history: small slices on a timer, between which runs and requests go on.
  const pruner = new HistoryPruner({ runs: state.runs, limits: () => config.history ?? DEFAULT_HISTORY, jobs: () => Object.keys(config.jobs), logger });
  pruner.start();

  let reloading = Promise.resolve();
  const onHup = () => {
    reloading = reloading.then(async () => {
      let load: AgentLoad;
      try {
        load = opts.reload();
      } catch (err) {
        problems.reloadFailed(err as Error);
        return;
      }
      // A job file that went bad keeps its previous version running; it is reported.
      const next = problems.reloaded(config, load);
      if (next.stateDir !== config.stateDir) logger.warn("stateDir changed: takes effect at the next start");
      if (JSON.stringify(next.http) !== JSON.stringify(config.http)) logger.warn("http.listen changed: takes effect at the next start");
      await triggers.stop();
      const added = Object.values(next.jobs).filter((j) => !config.jobs[j.name]);
      config = next;
      metrics.reconfigured();
      // A job added by the reload is new to its folder: look once, as at start-up.
      for (const job of added) if (job.watch || job.pollMs !== undefined) runner.request(job.name, "startup");
      // Queued work stays queued: it lives in the state store, not in the triggers.
      state.watchStates.removeOf(process.pid);
      triggers = startTriggers(config, (job, t, due) => runner.request(job, t, due), logger, watchOptions);
      logger.info(`configuration reloaded: ${Object.keys(config.jobs).length} job(s)`);
      runner.wake();
    });
  };

  const stopped = new Promise<string>((resolve) => {
    let signals = 0;
    const onStop = (signal: NodeJS.Signals) => {
      signals++;
      if (signals === 1) resolve(signal);
      else {
        logger.warn(`${signal} again: cutting transfers in flight now`);
        runner.hardStop();
      }
    };
    process.on("SIGTERM", onStop);
    process.on("SIGINT", onStop);
    process.on("SIGHUP", onHup);
  });

  const signal = await stopped;
  logger.info(`${signal}: stopping; no new runs start`);
  await reloading;
  await pruner.stop();
  await triggers.stop();
  await runner.stop(config.shutdownGraceSeconds * 1000);
  clearInterval(heartbeat);
  clearInterval(deadlines);
  // Notifications of the last runs get a moment; they never hold the stop up for long.
  const undelivered = await notifier.settle(NOTIFY_GRACE_MS);
  if (undelivered > 0) logger.warn(`stopping with ${undelivered} notification(s) not delivered`);
  state.watchStates.removeOf(process.pid);
  await new Promise<void>((resolve) => (http ? http.close(() => resolve()) : resolve()));
  http?.closeAllConnections();
  agents.unregister();
  process.off("SIGHUP", onHup);
  logger.info("agent stopped");
  // Anything still holding the event loop open (a socket being torn down) must not keep a
  // stopped agent alive: the state store is consistent at this point.
  setTimeout(() => process.exit(process.exitCode ?? 0), 3000).unref();
  return 0;
}
