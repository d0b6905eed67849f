import type { JobConfig } from "../config/types.js";
import { setLongInterval } from "./long-timer.js";
import type { RequestRun } from "./scheduler.js";

/** Poll trigger (download and two-way jobs): the remote side cannot be watched, so ask every pollMs. */
export function pollJob(job: JobConfig, request: RequestRun): { stop(): void } | undefined {
  if (job.pollMs === undefined || job.direction === "upload") return undefined;
  // A poll may be longer than a Node timer holds ("30d"): chained timers.
  const timer = setLongInterval(() => request(job.name, "poll"), job.pollMs);
  return { stop: () => timer.clear() };
}
