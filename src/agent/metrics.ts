import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { RunSummary } from "../sync/run-job.js";
import type { StateStore } from "../state/index.js";
import { RunQueue } from "./queue.js";

/**
 * Prometheus metrics of the agent. Counters count what this process did; the gauges for last
 * success and queue depth are read from the state store at scrape time, so they are right
 * after a restart too.
 */
export class AgentMetrics {
  readonly registry = new Registry();
  private readonly runs: Counter<"job" | "result">;
  private readonly files: Counter<"job" | "kind">;
  private readonly bytes: Counter<"job">;
  private readonly duration: Histogram<"job">;
  private readonly connectionErrors: Counter<"job">;
  private readonly notifications: Counter<"job" | "event" | "channel" | "outcome">;
  private readonly scheduleDelays: Histogram;
  private readonly scheduleSkips: Counter<"job">;

  /** `late`: each job with an "expect", and whether it is late now (read at scrape time). */
  constructor(state: StateStore, jobs: () => string[], late?: () => Array<{ job: string; late: boolean }>) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: "ftps_sync_process_" });
    this.runs = new Counter({ name: "ftps_sync_runs_total", help: "Runs by job and result (ok, failed, aborted, error, interrupted)", labelNames: ["job", "result"], registers });
    this.files = new Counter({ name: "ftps_sync_files_total", help: "Files uploaded, downloaded or deleted", labelNames: ["job", "kind"], registers });
    this.bytes = new Counter({ name: "ftps_sync_bytes_transferred_total", help: "Bytes transferred", labelNames: ["job"], registers });
    this.duration = new Histogram({
      name: "ftps_sync_run_duration_seconds", help: "Run duration", labelNames: ["job"], registers,
      buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
    });
    this.connectionErrors = new Counter({ name: "ftps_sync_connection_errors_total", help: "Runs that could not connect", labelNames: ["job"], registers });
    // Not per job: the agent's lateness distribution (its p99 against scheduleSpread); the log names each late job.
    this.scheduleDelays = new Histogram({
      name: "ftps_sync_schedule_delay_seconds", help: "How long after its scheduled time (plus its spread offset) a scheduled run started", registers,
      buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
    });
    this.scheduleSkips = new Counter({
      name: "ftps_sync_schedule_skipped_total", help: "Scheduled times that got no run of their own: the run of the previous time had not started yet", labelNames: ["job"], registers,
    });
    new Gauge({
      name: "ftps_sync_last_success_timestamp_seconds", help: "End of the last successful run per job (unix time)", labelNames: ["job"], registers,
      collect() {
        this.reset();
        // One statement for every job (an index seek each), not one per job.
        for (const [job, { lastSuccessAt }] of state.runs.latestByJob(jobs())) {
          if (lastSuccessAt) this.set({ job }, lastSuccessAt / 1000);
        }
      },
    });
    this.notifications = new Counter({
      name: "ftps_sync_notifications_total", help: "Notification attempts by job, event, channel (webhook, command) and outcome (delivered, retried, failed)",
      labelNames: ["job", "event", "channel", "outcome"], registers,
    });
    new Gauge({
      name: "ftps_sync_job_late", help: "1 while the job's expected file has not arrived by its time (jobs with \"expect\")", labelNames: ["job"], registers,
      collect() {
        this.reset();
        for (const j of late?.() ?? []) this.set({ job: j.job }, j.late ? 1 : 0);
      },
    });
    const queue = new RunQueue(state.runQueue);
    new Gauge({
      name: "ftps_sync_queue_depth", help: "Runs waiting to start", registers,
      collect() {
        this.set(queue.depth());
      },
    });
  }

  runFinished(s: RunSummary): void {
    this.runs.inc({ job: s.job, result: s.status });
    this.duration.observe({ job: s.job }, s.durationMs / 1000);
    this.bytes.inc({ job: s.job }, s.bytes);
    const kinds = { uploaded: s.uploaded, downloaded: s.downloaded, deleted_local: s.deletedLocal, deleted_remote: s.deletedRemote };
    for (const [kind, n] of Object.entries(kinds)) if (n > 0) this.files.inc({ job: s.job, kind }, n);
  }

  notification(o: { job: string; event: string; channel: string; outcome: string }): void {
    this.notifications.inc({ job: o.job, event: o.event, channel: o.channel, outcome: o.outcome });
  }

  scheduleDelay(seconds: number): void {
    this.scheduleDelays.observe(seconds);
  }

  scheduleSkipped(job: string): void {
    this.scheduleSkips.inc({ job });
  }

  runError(job: string, result: "error" | "aborted" | "interrupted", connect: boolean, durationMs: number): void {
    this.runs.inc({ job, result });
    this.duration.observe({ job }, durationMs / 1000);
    if (connect) this.connectionErrors.inc({ job });
  }
}
