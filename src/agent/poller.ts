import type { JobConfig } from "../config/types.js";
import type { RequestRun } from "./scheduler.js";

/** Poll trigger (download and two-way jobs): the remote side cannot be watched, so ask every pollMs. */
export function pollJob(job: JobConfig, request: RequestRun): { stop(): void } | undefined {
  if (job.pollMs === undefined || job.direction === "upload") return undefined;
  const timer = setInterval(() => request(job.name, "poll"), job.pollMs);
  return { stop: () => clearInterval(timer) };
}
