import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { AgentMetrics } from "../../src/agent/metrics.js";
import type { NotifyConfig } from "../../src/config/types.js";
import { OtherProcessRuns } from "../../src/agent/other-runs.js";
import { STATE_DB_NAME } from "../../src/state/db.js";
import { RunFeedStore } from "../../src/state/run-feed.js";
import { openState, type StateStore } from "../../src/state/index.js";
import { testTempDir } from "../helpers/temp-dir.js";
import { expectIndexedReads, preparesSeen } from "../helpers/run-history.js";

const pkg = (await import("../../package.json", { with: { type: "json" } })).default as { version: string };

const ZERO = { uploaded: 0, downloaded: 0, deletedLocal: 0, deletedRemote: 0, conflicts: 0, failed: 0, bytes: 0 };
const opened: { state: StateStore; raw: Database.Database }[] = [];

function setup() {
  const dir = testTempDir("metrics");
  const state = openState(dir);
  // A second connection, as another process would have: it writes runs with another pid.
  const raw = new Database(join(dir, STATE_DB_NAME));
  opened.push({ state, raw });
  return { state, raw };
}

afterEach(() => {
  for (const { state, raw } of opened.splice(0)) {
    raw.close();
    state.close();
  }
});

/** Records a finished run as process `pid` would (`ftps-sync sync` in another process). */
function recordRun(state: StateStore, raw: Database.Database, job: string, pid: number, status: "ok" | "failed", counts = ZERO, dryRun = false): number {
  const id = state.runs.start(job, "cli", dryRun);
  raw.prepare("UPDATE runs SET pid = ? WHERE id = ?").run(pid, id);
  if (status) state.runs.finish(id, status, counts);
  return id;
}

/** The value of one series in the exposition text, or undefined when the series is absent. */
function value(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(series + " "));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("the agent's /metrics", () => {
  it("names the Node.js and process metrics by their standard names, and the agent's own under ftps_sync_ with their units", async () => {
    const { state } = setup();
    const text = await new AgentMetrics(state, () => ["alpha"]).scrape();
    expect(text).not.toMatch(/ftps_sync_process_/);
    expect(text).toMatch(/^# TYPE process_cpu_user_seconds_total counter$/m);
    expect(text).toMatch(/^# TYPE process_resident_memory_bytes gauge$/m);
    expect(text).toMatch(/^# TYPE nodejs_heap_size_used_bytes gauge$/m);
    expect(text).toMatch(/^# TYPE nodejs_eventloop_lag_seconds gauge$/m);
    const types: Record<string, string> = {
      ftps_sync_build_info: "gauge",
      ftps_sync_runs_total: "counter",
      ftps_sync_files_total: "counter",
      ftps_sync_transferred_bytes_total: "counter",
      ftps_sync_run_duration_seconds: "histogram",
      ftps_sync_connection_errors_total: "counter",
      ftps_sync_last_success_timestamp_seconds: "gauge",
      ftps_sync_last_run_status: "gauge",
      ftps_sync_notifications_total: "counter",
      ftps_sync_job_late: "gauge",
      ftps_sync_queue_depth: "gauge",
      ftps_sync_schedule_delay_seconds: "histogram",
      ftps_sync_schedule_skipped_total: "counter",
    };
    for (const [name, type] of Object.entries(types)) {
      expect(text).toMatch(new RegExp(`^# HELP ${name} \\S`, "m"));
      expect(text).toMatch(new RegExp(`^# TYPE ${name} ${type}$`, "m"));
    }
    // Every metric of the agent's own, those added later too: a counter ends in _total, a unit
    // comes last or right before _total.
    const own = [...text.matchAll(/^# TYPE (ftps_sync_\w+) (\w+)$/gm)].map((m) => ({ name: m[1], type: m[2] }));
    expect(own.length).toBeGreaterThanOrEqual(Object.keys(types).length);
    for (const m of own) {
      if (m.type === "counter") expect(m.name).toMatch(/_total$/);
      expect(m.name).not.toMatch(/_(seconds|bytes)_(?!total$)/);
    }
    expect(text).not.toMatch(/ftps_sync_bytes_transferred_total/);
  });

  it("gives ftps_sync_build_info the package's version and the Node.js version, at 1", async () => {
    const { state } = setup();
    const text = await new AgentMetrics(state, () => []).scrape();
    expect(value(text, `ftps_sync_build_info{version="${pkg.version}",node="${process.version}"}`)).toBe(1);
  });

  it("has every configured job's series from start-up at zero, before any run", async () => {
    const { state } = setup();
    const text = await new AgentMetrics(state, () => ["alpha", "beta"]).scrape();
    for (const job of ["alpha", "beta"]) {
      for (const result of ["ok", "failed", "aborted", "error", "interrupted"]) expect(value(text, `ftps_sync_runs_total{job="${job}",result="${result}"}`)).toBe(0);
      for (const kind of ["uploaded", "downloaded", "deleted_local", "deleted_remote"]) expect(value(text, `ftps_sync_files_total{job="${job}",kind="${kind}"}`)).toBe(0);
      expect(value(text, `ftps_sync_transferred_bytes_total{job="${job}"}`)).toBe(0);
      expect(value(text, `ftps_sync_connection_errors_total{job="${job}"}`)).toBe(0);
      expect(value(text, `ftps_sync_schedule_skipped_total{job="${job}"}`)).toBe(0);
      expect(value(text, `ftps_sync_run_duration_seconds_count{job="${job}"}`)).toBe(0);
      expect(value(text, `ftps_sync_last_success_timestamp_seconds{job="${job}"}`)).toBe(0);
      expect(value(text, `ftps_sync_last_run_status{job="${job}"}`)).toBe(-1);
    }
  });

  it("adds a job's series when a reload configures it, and drops those of a job no longer configured", async () => {
    const { state } = setup();
    let jobs = ["alpha"];
    const metrics = new AgentMetrics(state, () => jobs);
    expect(value(await metrics.scrape(), 'ftps_sync_runs_total{job="alpha",result="ok"}')).toBe(0);
    jobs = ["beta"];
    metrics.reconfigured();
    const text = await metrics.scrape();
    expect(value(text, 'ftps_sync_runs_total{job="beta",result="ok"}')).toBe(0);
    expect(value(text, 'ftps_sync_last_run_status{job="beta"}')).toBe(-1);
    expect(text).not.toMatch(/job="alpha"/);
  });

  it("follows a job's notify through a reload: series of new events and channels at zero, those no longer configured gone, counts kept", async () => {
    const { state } = setup();
    let notify: NotifyConfig | undefined = { on: ["failure"], command: ["true"], timeoutMs: 1000, attempts: 1 };
    const metrics = new AgentMetrics(state, () => ["alpha", "quiet"], undefined, (job) => (job === "alpha" ? notify : undefined));
    let text = await metrics.scrape();
    expect(value(text, 'ftps_sync_notifications_total{job="alpha",event="failure",channel="command",outcome="failed"}')).toBe(0);
    expect(text).not.toMatch(/ftps_sync_notifications_total\{job="quiet"/);
    metrics.notification({ job: "alpha", event: "failure", channel: "command", outcome: "delivered" });

    notify = { on: ["failure", "success"], command: ["true"], webhook: "https://hooks.example.com/x", timeoutMs: 1000, attempts: 1 };
    metrics.reconfigured();
    text = await metrics.scrape();
    expect(value(text, 'ftps_sync_notifications_total{job="alpha",event="failure",channel="command",outcome="delivered"}')).toBe(1);
    expect(value(text, 'ftps_sync_notifications_total{job="alpha",event="success",channel="webhook",outcome="delivered"}')).toBe(0);
    expect(value(text, 'ftps_sync_notifications_total{job="alpha",event="success",channel="command",outcome="retried"}')).toBe(0);

    notify = { on: ["failure"], command: ["true"], timeoutMs: 1000, attempts: 1 };
    metrics.reconfigured();
    text = await metrics.scrape();
    expect(value(text, 'ftps_sync_notifications_total{job="alpha",event="failure",channel="command",outcome="delivered"}')).toBe(1);
    expect(text).not.toMatch(/channel="webhook"/);
    expect(text).not.toMatch(/event="success"/);
  });

  it("makes the configured jobs' zero series at start-up and at a reload, not at each scrape, and writes the same text either way", async () => {
    const { state } = setup();
    const notify: NotifyConfig = { on: ["failure"], command: ["true"], timeoutMs: 1000, attempts: 1 };
    let jobs = ["alpha"];
    let asked = 0;
    const metrics = new AgentMetrics(state, () => jobs, undefined, () => (asked++, notify));
    expect(asked).toBe(1);
    const first = await metrics.scrape();
    const second = await metrics.scrape();
    expect(asked).toBe(1);
    const agentsOwn = (text: string) => text.split("\n").filter((l) => l.startsWith("ftps_sync_"));
    expect(agentsOwn(second)).toEqual(agentsOwn(first));
    expect(value(second, 'ftps_sync_notifications_total{job="alpha",event="failure",channel="command",outcome="failed"}')).toBe(0);
    jobs = ["alpha", "beta"];
    metrics.reconfigured();
    expect(asked).toBe(3);
    expect(value(await metrics.scrape(), 'ftps_sync_notifications_total{job="beta",event="failure",channel="command",outcome="failed"}')).toBe(0);
    expect(asked).toBe(3);
  });

  it("makes no series for a notification sent as a reload took its channel or its job away", async () => {
    const { state } = setup();
    let jobs = ["alpha", "beta"];
    let notify: NotifyConfig = { on: ["failure"], command: ["true"], webhook: "https://hooks.example.com/x", timeoutMs: 1000, attempts: 1 };
    const metrics = new AgentMetrics(state, () => jobs, undefined, () => notify);
    jobs = ["alpha"];
    notify = { on: ["failure"], command: ["true"], timeoutMs: 1000, attempts: 1 };
    metrics.reconfigured();
    // Runs that were in flight: their notifications end after the reload.
    metrics.notification({ job: "alpha", event: "failure", channel: "webhook", outcome: "delivered" });
    metrics.notification({ job: "beta", event: "failure", channel: "command", outcome: "failed" });
    metrics.notification({ job: "alpha", event: "failure", channel: "command", outcome: "delivered" });
    const text = await metrics.scrape();
    expect(text).not.toMatch(/channel="webhook"/);
    expect(text).not.toMatch(/job="beta"/);
    expect(value(text, 'ftps_sync_notifications_total{job="alpha",event="failure",channel="command",outcome="delivered"}')).toBe(1);
  });

  it("reads each job's last success and last run status from the state, plans left out", async () => {
    const { state, raw } = setup();
    const metrics = new AgentMetrics(state, () => ["alpha", "beta"]);
    const before = Date.now();
    recordRun(state, raw, "alpha", process.pid, "ok");
    const okEnd = (raw.prepare("SELECT ended_at FROM runs WHERE job = 'alpha'").get() as { ended_at: number }).ended_at;
    recordRun(state, raw, "beta", process.pid, "ok");
    recordRun(state, raw, "beta", process.pid, "failed");
    recordRun(state, raw, "beta", process.pid, "ok", ZERO, true); // a plan: not a run
    state.runs.start("beta", "cli", false); // still running: the last finished run is the failed one
    const text = await metrics.scrape();
    expect(value(text, 'ftps_sync_last_success_timestamp_seconds{job="alpha"}')).toBe(okEnd / 1000);
    expect(okEnd).toBeGreaterThanOrEqual(before);
    expect(value(text, 'ftps_sync_last_run_status{job="alpha"}')).toBe(1);
    expect(value(text, 'ftps_sync_last_run_status{job="beta"}')).toBe(0);
    expect(value(text, 'ftps_sync_last_success_timestamp_seconds{job="beta"}')).toBeGreaterThan(0);
  });

  it("counts the runs another process (ftps-sync sync) records, once each, and not the agent's own from the state", async () => {
    const { state, raw } = setup();
    const other = process.ppid; // a live process that is not this one
    recordRun(state, raw, "alpha", other, "ok", { ...ZERO, uploaded: 3, bytes: 300 }); // before the agent: not counted
    const metrics = new AgentMetrics(state, () => ["alpha"]);
    recordRun(state, raw, "alpha", other, "ok", { ...ZERO, uploaded: 2, deletedRemote: 1, bytes: 1234 });
    recordRun(state, raw, "alpha", process.pid, "ok", { ...ZERO, uploaded: 5, bytes: 5 }); // the agent's own: counted by its runner
    recordRun(state, raw, "alpha", other, "ok", { ...ZERO, uploaded: 1, bytes: 1 }, true); // a plan
    recordRun(state, raw, "ghost", other, "ok"); // not a configured job
    let text = await metrics.scrape();
    expect(value(text, 'ftps_sync_runs_total{job="alpha",result="ok"}')).toBe(1);
    expect(value(text, 'ftps_sync_files_total{job="alpha",kind="uploaded"}')).toBe(2);
    expect(value(text, 'ftps_sync_files_total{job="alpha",kind="deleted_remote"}')).toBe(1);
    expect(value(text, 'ftps_sync_transferred_bytes_total{job="alpha"}')).toBe(1234);
    expect(value(text, 'ftps_sync_run_duration_seconds_count{job="alpha"}')).toBe(1);
    expect(text).not.toMatch(/job="ghost"/);
    recordRun(state, raw, "alpha", other, "failed");
    text = await metrics.scrape();
    text = await metrics.scrape();
    expect(value(text, 'ftps_sync_runs_total{job="alpha",result="ok"}')).toBe(1);
    expect(value(text, 'ftps_sync_runs_total{job="alpha",result="failed"}')).toBe(1);
  });
});

describe("the runs of other processes, read by id", () => {
  it("counts a run once it ends, also one under way when the agent started, and never waits for a dead process's run", () => {
    const { state, raw } = setup();
    const cli = 424242;
    const alive = new Set([cli]);
    const running = (job: string, pid: number) => {
      const id = state.runs.start(job, "cli", false);
      raw.prepare("UPDATE runs SET pid = ? WHERE id = ?").run(pid, id);
      return id;
    };
    const early = running("alpha", cli); // under way at start-up
    running("alpha", 999_999); // left running by a process that died
    const feed = new OtherProcessRuns(state, 1, (pid) => alive.has(pid));
    expect(feed.ended()).toEqual([]);
    const later = running("beta", cli);
    expect(feed.ended()).toEqual([]);
    state.runs.finish(later, "ok", ZERO);
    expect(feed.ended().map((r) => [r.id, r.job, r.status])).toEqual([[later, "beta", "ok"]]);
    state.runs.finish(early, "failed", ZERO);
    expect(feed.ended().map((r) => [r.id, r.status])).toEqual([[early, "failed"]]);
    expect(feed.ended()).toEqual([]);
    // A run whose process dies mid-run is dropped, not kept waiting on forever.
    const dying = running("beta", cli);
    expect(feed.ended()).toEqual([]);
    alive.delete(cli);
    expect(feed.ended()).toEqual([]);
    state.runs.finish(dying, "interrupted" as never, ZERO);
    expect(feed.ended()).toEqual([]);
  });
});

describe("the reads a scrape makes of the run history", () => {
  it("go through the primary key or an index, never a scan of the table or a sort", () => {
    const { state, raw } = setup();
    for (let i = 0; i < 50; i++) recordRun(state, raw, i % 2 ? "alpha" : "beta", 1, "ok");
    const seen: string[] = [];
    const feed = new RunFeedStore(preparesSeen(raw, (sql) => seen.push(sql)));
    expect(feed.newestId()).toBe(50);
    expect(feed.running()).toEqual([]);
    expect(feed.runsAfter(48, [3, 4]).map((r) => r.id)).toEqual([3, 4, 49, 50]);
    expect(seen.length).toBe(4);
    expectIndexedReads(raw, seen, 1);
  });
});
