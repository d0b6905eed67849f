import type { AgentConfig } from "../config/types.js";
import type { Logger } from "../log.js";
import { pollJob } from "./poller.js";
import { scheduleJob, type RequestRun, type ScheduledJob } from "./scheduler.js";
import { watchJob, type JobWatcher, type WatchOptions } from "./watcher.js";

export interface Triggers {
  /** Next scheduled time per scheduled job (cron time plus its spread offset). */
  nextRun(job: string): Date | undefined;
  stop(): Promise<void>;
}

/**
 * Test hooks (environment): FTPS_SYNC_TEST_MAX_WATCHES stands for a low fs.inotify.max_user_watches,
 * FTPS_SYNC_TEST_WATCH_POLL_MS shortens the polling that follows.
 */
function watchTestHooks(): Pick<WatchOptions, "maxWatches" | "fallbackPollMs"> {
  const max = Number(process.env.FTPS_SYNC_TEST_MAX_WATCHES);
  const poll = Number(process.env.FTPS_SYNC_TEST_WATCH_POLL_MS);
  return { ...(max >= 0 && process.env.FTPS_SYNC_TEST_MAX_WATCHES ? { maxWatches: max } : {}), ...(poll > 0 ? { fallbackPollMs: poll } : {}) };
}

/** Starts every job's cron, watcher and poller. They only request runs; the runner runs them. */
export function startTriggers(
  config: AgentConfig,
  request: RequestRun,
  logger: Logger,
  watchOptions: Pick<WatchOptions, "onState" | "onFolders"> = {},
): Triggers {
  const tasks = new Map<string, ScheduledJob>();
  const watchers: JobWatcher[] = [];
  const pollers: { stop(): void }[] = [];
  for (const job of Object.values(config.jobs)) {
    const task = scheduleJob(job, request);
    if (task) tasks.set(job.name, task);
    const w = watchJob(job, request, logger, { agent: config, ...watchOptions, ...watchTestHooks() });
    if (w) watchers.push(w);
    const p = pollJob(job, request);
    if (p) pollers.push(p);
  }
  return {
    nextRun: (job) => tasks.get(job)?.nextRun(),
    stop: async () => {
      for (const t of tasks.values()) await t.destroy();
      for (const p of pollers) p.stop();
      await Promise.all(watchers.map((w) => w.close()));
    },
  };
}
