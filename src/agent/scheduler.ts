import { createHash } from "node:crypto";
import cron, { type TaskContext } from "node-cron";
import type { JobConfig } from "../config/types.js";

/** `dueAt`: when a scheduled run should start (its cron time plus the job's spread offset). */
export type RequestRun = (job: string, trigger: string, dueAt?: number) => void;

export interface ScheduledJob {
  /** When the next scheduled run is due (its spread offset included). */
  nextRun(): Date | undefined;
  destroy(): Promise<void>;
}

/**
 * The job's fixed offset within its `scheduleSpread`, as systemd's RandomizedDelaySec with
 * FixedRandomDelay: a hash of the job's name, so a job keeps its slot across restarts and
 * reloads, and hundreds of jobs on the same cron expression do not all start at :00.
 */
export function spreadOffsetMs(job: string, spreadMs: number | undefined): number {
  if (!spreadMs || spreadMs <= 0) return 0;
  const fraction = createHash("sha256").update(job).digest().readUIntBE(0, 6) / 2 ** 48;
  return Math.floor(fraction * spreadMs);
}

/**
 * Cron trigger: at each time of the job's `schedule` (in its `timezone`), plus its spread
 * offset, request a run. A time node-cron misses (the event loop held past its 1 s tolerance)
 * is requested late rather than lost: the runner logs and counts how late it started.
 */
export function scheduleJob(job: JobConfig, request: RequestRun): ScheduledJob | undefined {
  if (!job.schedule) return undefined;
  const offset = spreadOffsetMs(job.name, job.scheduleSpreadMs);
  const waiting = new Map<NodeJS.Timeout, number>();
  const fire = (ctx: TaskContext) => {
    // ctx.date is the cron time itself, not when the callback got to run.
    const due = ctx.date.getTime() + offset;
    const wait = due - Date.now();
    if (wait <= 0) return request(job.name, "schedule", due);
    const timer = setTimeout(() => {
      waiting.delete(timer);
      request(job.name, "schedule", due);
    }, wait);
    waiting.set(timer, due);
  };
  const task = cron.schedule(job.schedule, fire, {
    timezone: job.timezone,
    name: `ftps-sync:${job.name}`,
    // Missed times are handled below; node-cron needn't warn about a busy event loop.
    suppressMissedWarning: true,
  });
  task.on("execution:missed", fire);
  // node-cron works the next time out on each call: kept until it has passed (status for 500 jobs).
  let nextCron: number | undefined;
  return {
    nextRun: () => {
      if (nextCron === undefined || nextCron <= Date.now()) nextCron = task.getNextRun()?.getTime();
      const times = [...waiting.values(), ...(nextCron !== undefined ? [nextCron + offset] : [])];
      return times.length ? new Date(Math.min(...times)) : undefined;
    },
    destroy: async () => {
      for (const timer of waiting.keys()) clearTimeout(timer);
      waiting.clear();
      await task.destroy();
    },
  };
}

/** The next time a cron expression fires after `from`, without starting anything; plus `offsetMs` (the job's spread). */
export function nextCronTime(expression: string, timezone?: string, offsetMs = 0): Date | undefined {
  const task = cron.createTask(expression, () => undefined, { timezone });
  try {
    // getNextRun() answers null for a task that was never started; getNextRuns() does not care.
    const next = task.getNextRuns(1)[0];
    return next && new Date(next.getTime() + offsetMs);
  } finally {
    void task.destroy();
  }
}
