import { Gauge, type Registry } from "prom-client";
import type { AgentConfig } from "../config/types.js";
import type { ConfigProblems } from "./config-problems.js";
import { localFolderProblem } from "./status.js";

/**
 * The configuration's health as metrics, read at scrape time:
 * - ftps_sync_job_config_error{job}: 1 while the job's file cannot be loaded (the job does not
 *   run, or runs its previous version after a reload), 0 for the other jobs;
 * - ftps_sync_job_local_folder_missing{job}: 1 while the job's local folder is not there (a
 *   share not mounted) or not a folder;
 * - ftps_sync_config_last_reload_successful: 0 after a reload that failed (the previous
 *   configuration runs on), else 1.
 */
export function registerConfigMetrics(registry: Registry, config: () => AgentConfig, problems: ConfigProblems): void {
  const registers = [registry];
  new Gauge({
    name: "ftps_sync_job_config_error", help: "1 while the job's file cannot be loaded (the job does not run, or runs its previous version)", labelNames: ["job"], registers,
    collect() {
      this.reset();
      const bad = new Set(problems.badJobs().map((b) => b.job));
      for (const job of Object.keys(config().jobs)) this.set({ job }, bad.has(job) ? 1 : 0);
      for (const job of bad) this.set({ job }, 1);
    },
  });
  new Gauge({
    name: "ftps_sync_job_local_folder_missing", help: "1 while the job's local folder is missing or not a folder", labelNames: ["job"], registers,
    collect() {
      this.reset();
      for (const job of Object.values(config().jobs)) this.set({ job: job.name }, localFolderProblem(job) === undefined ? 0 : 1);
    },
  });
  new Gauge({
    name: "ftps_sync_config_last_reload_successful", help: "0 when the last reload failed (the previous configuration runs on), else 1", registers,
    collect() {
      this.set(problems.lastReloadSucceeded() ? 1 : 0);
    },
  });
}
