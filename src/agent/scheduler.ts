import cron, { type ScheduledTask } from "node-cron";
import type { JobConfig } from "../config/types.js";

export type RequestRun = (job: string, trigger: string) => void;

/** Cron trigger: at each time of the job's `schedule` (in its `timezone`), request a run. */
export function scheduleJob(job: JobConfig, request: RequestRun): ScheduledTask | undefined {
  if (!job.schedule) return undefined;
  return cron.schedule(job.schedule, () => request(job.name, "schedule"), {
    timezone: job.timezone,
    name: `ftps-sync:${job.name}`,
    // The queue folds overlapping requests; node-cron needn't warn about a busy event loop.
    suppressMissedWarning: true,
  });
}

/** The next time a cron expression fires after `from`, without starting anything. */
export function nextCronTime(expression: string, timezone?: string): Date | undefined {
  const task = cron.createTask(expression, () => undefined, { timezone });
  try {
    // getNextRun() answers null for a task that was never started; getNextRuns() does not care.
    return task.getNextRuns(1)[0];
  } finally {
    void task.destroy();
  }
}
