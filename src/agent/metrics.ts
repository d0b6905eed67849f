import { readFileSync } from "node:fs";
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import type { NotifyConfig } from "../config/types.js";
import type { RunSummary } from "../sync/run-job.js";
import type { StateStore } from "../state/index.js";
import type { RunCounts } from "../state/runs.js";
import { OtherProcessRuns } from "./other-runs.js";
import { RunQueue } from "./queue.js";

/** runs_total's results: each job has every one of them from start-up, at zero. */
const RESULTS = ["ok", "failed", "aborted", "error", "interrupted"] as const;
/** files_total's kinds, likewise. */
const FILE_KINDS = ["uploaded", "downloaded", "deleted_local", "deleted_remote"] as const;
/** notifications_total's outcomes: each event and channel a job notifies has them all from start-up. */
const NOTIFY_OUTCOMES = ["delivered", "retried", "failed"] as const;
/** ftps_sync_last_run_status: how the job's last finished run ended; -1 while it has none. */
export const LAST_RUN_STATUS = { ok: 1, failed: 0, aborted: 0, interrupted: 0, none: -1 } as const;

/** The package's version (package.json sits two folders above this module, bundled or not). */
function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

type NotificationLabels = { job: string; event: string; channel: string; outcome: string };

/** The notification series a job's "notify" makes: its events × its channels × every outcome. */
function notificationSeries(job: string, notify: NotifyConfig | undefined): NotificationLabels[] {
  if (!notify) return [];
  const channels = [...(notify.webhook !== undefined ? ["webhook"] : []), ...(notify.command !== undefined ? ["command"] : [])];
  return notify.on.flatMap((event) => channels.flatMap((channel) => NOTIFY_OUTCOMES.map((outcome) => ({ job, event, channel, outcome }))));
}

const seriesKey = (l: NotificationLabels) => `${l.event}\n${l.channel}\n${l.outcome}`;

/** What a run moved, as the counters take it: this agent's runs and other processes' (FedRun). */
type MovedCounts = Pick<RunCounts, "uploaded" | "downloaded" | "deletedLocal" | "deletedRemote" | "bytes">;

/**
 * Prometheus metrics of the agent, named by Prometheus' conventions: its own under `ftps_sync_`
 * with the unit before `_total`; the process and Node.js metrics under their standard names
 * (`process_*`, `nodejs_*`), so that stock dashboards find them. Counters count the runs of this
 * agent as they end, and the runs other processes (`ftps-sync sync`) record in the state, read at
 * each scrape. The per-job gauges are read from the state at scrape time, so they are right after
 * a restart too. Every configured job has its series from start-up, at zero; a reload adds and
 * removes jobs' series (reconfigured()), not each scrape.
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
  private readonly otherRuns: OtherProcessRuns;
  /** The jobs whose series exist: the configured ones, as of start-up or the last reconfigured(). */
  private readonly known = new Set<string>();
  /** Each job's notification series that exist, by event, channel and outcome. */
  private readonly notificationsOf = new Map<string, Map<string, NotificationLabels>>();

  /**
   * `late`: each job with an "expect", and whether it is late now (read at scrape time).
   * `notifyOf`: the job's "notify" (its own or the agent's), whose events and channels get their
   * notification series at zero.
   */
  constructor(
    state: StateStore,
    private readonly jobs: () => string[],
    late?: () => Array<{ job: string; late: boolean }>,
    private readonly notifyOf: (job: string) => NotifyConfig | undefined = () => undefined,
  ) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    new Gauge({ name: "ftps_sync_build_info", help: "Always 1: the agent's version and the Node.js version it runs on", labelNames: ["version", "node"], registers })
      .set({ version: packageVersion(), node: process.version }, 1);
    this.runs = new Counter({ name: "ftps_sync_runs_total", help: "Runs by job and result (ok, failed, aborted, error, interrupted)", labelNames: ["job", "result"], registers });
    this.files = new Counter({ name: "ftps_sync_files_total", help: "Files uploaded, downloaded or deleted", labelNames: ["job", "kind"], registers });
    this.bytes = new Counter({ name: "ftps_sync_transferred_bytes_total", help: "Bytes transferred", labelNames: ["job"], registers });
    this.duration = new Histogram({
      name: "ftps_sync_run_duration_seconds", help: "Run duration", labelNames: ["job"], registers,
      buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
    });
    this.connectionErrors = new Counter({ name: "ftps_sync_connection_errors_total", help: "Runs of the agent that could not connect", labelNames: ["job"], registers });
    // Not per job: the agent's lateness distribution (its p99 against scheduleSpread); the log names each late job.
    this.scheduleDelays = new Histogram({
      name: "ftps_sync_schedule_delay_seconds", help: "How long after its scheduled time (plus its spread offset) a scheduled run started", registers,
      buckets: [0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
    });
    this.scheduleSkips = new Counter({
      name: "ftps_sync_schedule_skipped_total", help: "Scheduled times that got no run of their own: the run of the previous time had not started yet", labelNames: ["job"], registers,
    });
    // Read at scrape time, each from one statement for every job (an index seek each).
    new Gauge({
      name: "ftps_sync_last_success_timestamp_seconds", help: "End of the job's last successful run (unix time; 0: none yet)", labelNames: ["job"], registers,
      collect() {
        this.reset();
        for (const [job, { lastSuccessAt }] of state.runs.latestByJob(jobs())) this.set({ job }, (lastSuccessAt ?? 0) / 1000);
      },
    });
    new Gauge({
      name: "ftps_sync_last_run_status", help: "How the job's last finished run ended: 1 ok, 0 failed, aborted or interrupted, -1 no run yet", labelNames: ["job"], registers,
      collect() {
        this.reset();
        for (const [job, { lastFinished }] of state.runs.latestByJob(jobs())) {
          const status = lastFinished?.status;
          this.set({ job }, status === undefined || status === "running" ? LAST_RUN_STATUS.none : LAST_RUN_STATUS[status]);
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
    this.otherRuns = new OtherProcessRuns(state);
    this.configuredJobs();
  }

  /**
   * After a reload: the jobs' series follow the job set and each job's "notify" as they are now
   * (added at zero, or removed). Not done at each scrape: they change only with the configuration.
   */
  reconfigured(): void {
    this.configuredJobs();
  }

  /** The text of /metrics: other processes' runs brought up to date first. */
  async scrape(): Promise<string> {
    for (const r of this.otherRuns.ended()) {
      if (this.known.has(r.job)) this.count(r.job, r.status, (r.endedAt ?? r.startedAt) - r.startedAt, r);
    }
    // One metric at a time, each after a turn of the event loop: with hundreds of jobs the text
    // is ~1 MB, and written in one go it held the agent's only thread ~40 ms (as Registry.metrics
    // does: it only awaits promises between metrics, which lets nothing else run).
    const texts: string[] = [];
    for (const metric of this.registry.getMetricsAsArray()) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      texts.push(await this.registry.getSingleMetricAsString(metric.name));
    }
    return `${texts.join("\n\n")}\n`;
  }

  /** Every configured job gets its series at zero; a job no longer configured loses them. */
  private configuredJobs(): void {
    const jobs = new Set(this.jobs());
    for (const job of jobs) {
      if (this.known.has(job)) continue;
      this.known.add(job);
      for (const result of RESULTS) this.runs.inc({ job, result }, 0);
      for (const kind of FILE_KINDS) this.files.inc({ job, kind }, 0);
      this.bytes.inc({ job }, 0);
      this.duration.zero({ job });
      this.connectionErrors.inc({ job }, 0);
      this.scheduleSkips.inc({ job }, 0);
    }
    for (const job of this.known) {
      if (jobs.has(job)) continue;
      this.known.delete(job);
      for (const result of RESULTS) this.runs.remove({ job, result });
      for (const kind of FILE_KINDS) this.files.remove({ job, kind });
      this.bytes.remove({ job });
      this.duration.remove({ job });
      this.connectionErrors.remove({ job });
      this.scheduleSkips.remove({ job });
    }
    this.configuredNotifications(jobs);
  }

  /**
   * Each configured job's notification series as its "notify" now says (a reload may change its
   * events and channels); a job no longer configured loses all of its own.
   */
  private configuredNotifications(jobs: Set<string>): void {
    for (const [job, series] of this.notificationsOf) {
      if (jobs.has(job)) continue;
      for (const labels of series.values()) this.notifications.remove(labels);
      this.notificationsOf.delete(job);
    }
    for (const job of jobs) {
      const wanted = new Map(notificationSeries(job, this.notifyOf(job)).map((l) => [seriesKey(l), l]));
      const series = this.notificationsOf.get(job) ?? new Map<string, NotificationLabels>();
      this.notificationsOf.set(job, series);
      for (const [key, labels] of series) {
        if (wanted.has(key)) continue;
        this.notifications.remove(labels);
        series.delete(key);
      }
      for (const [key, labels] of wanted) {
        if (series.has(key)) continue;
        this.notifications.inc(labels, 0);
        series.set(key, labels);
      }
    }
  }

  private count(job: string, result: string, durationMs: number, c: MovedCounts): void {
    this.runs.inc({ job, result });
    this.duration.observe({ job }, durationMs / 1000);
    this.bytes.inc({ job }, c.bytes);
    const kinds = { uploaded: c.uploaded, downloaded: c.downloaded, deleted_local: c.deletedLocal, deleted_remote: c.deletedRemote };
    for (const [kind, n] of Object.entries(kinds)) if (n > 0) this.files.inc({ job, kind }, n);
  }

  runFinished(s: RunSummary): void {
    this.count(s.job, s.status, s.durationMs, s);
  }

  notification(o: { job: string; event: string; channel: string; outcome: string }): void {
    const labels = { job: o.job, event: o.event, channel: o.channel, outcome: o.outcome };
    // Only a series the job's "notify" has now: one of a notification sent as a reload took its
    // event, channel or job away (a run in flight) is not made again.
    if (this.notificationsOf.get(o.job)?.has(seriesKey(labels))) this.notifications.inc(labels);
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
