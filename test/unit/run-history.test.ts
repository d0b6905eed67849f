import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AgentMetrics } from "../../src/agent/metrics.js";
import { collectStatus } from "../../src/agent/status.js";
import type { Db } from "../../src/state/db.js";
import type { StateStore } from "../../src/state/index.js";
import { RunStore } from "../../src/state/runs.js";
import { addRuns, config, DAY, expectIndexedReads, idsOf, NOW, openHistoryState, preparesSeen } from "../helpers/run-history.js";


describe("run history", () => {
  let dir: string, state: StateStore, db: Db, close: () => void;
  beforeEach(() => void ({ dir, state, db, close } = openHistoryState("history")));
  afterEach(() => close());

  it("answers status, the last success and start-up recovery through indexes, never by sorting or scanning a job's history", () => {
    for (const name of ["a", "b", "c"]) addRuns(db, name, 3000, { startAt: NOW - 3000 * 60_000, stepMs: 60_000 });
    // Every statement the run store prepares, to ask SQLite how it would run each.
    const seen: string[] = [];
    const runs = new RunStore(preparesSeen(db, (sql) => seen.push(sql)));
    collectStatus(config(["a", "b", "c"], dir), { ...state, runs }, { now: NOW });
    runs.history("a", 20);
    runs.last("a");
    runs.lastSuccess("a");
    runs.markInterrupted(() => true);
    runs.markShutdownInterrupted("a");
    expect(seen.length).toBeGreaterThanOrEqual(6);
    expectIndexedReads(db, [...new Set(seen)].filter((sql) => /\bruns\b/.test(sql) && !/^\s*INSERT/i.test(sql)), "a");
  });

  it("runs as many statements on the run history for 300 jobs as for 3, and still shows which are running or queued", () => {
    const names = Array.from({ length: 300 }, (_, i) => `p${String(i).padStart(3, "0")}`);
    for (const name of names) addRuns(db, name, 20, { startAt: NOW - 20 * 60_000, stepMs: 60_000 });
    let executed = 0;
    const counting = new Proxy(db, {
      get(target, key) {
        if (key === "prepare") {
          return (sql: string) =>
            new Proxy(target.prepare(sql), {
              get(st, k) {
                const v = Reflect.get(st, k) as unknown;
                if (typeof v !== "function") return v;
                return (...args: unknown[]) => {
                  if (k === "get" || k === "all" || k === "run" || k === "iterate") executed++;
                  const out = (v as (...a: unknown[]) => unknown).apply(st, args);
                  // pluck() and friends return the statement itself: keep counting through it.
                  return out === st ? counting.prepare(sql) : out;
                };
              },
            });
        }
        const v = Reflect.get(target, key) as unknown;
        return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    }) as Db;
    const runs = new RunStore(counting);
    const statusOf = (jobs: string[]) => {
      executed = 0;
      const s = collectStatus(config(jobs, dir), { ...state, runs }, { now: NOW });
      return { s, executed };
    };
    const few = statusOf(names.slice(0, 3));
    state.jobLocks.put({ job: "p007", pid: process.pid, acquiredAt: NOW });
    state.runQueue.add("p011", ["watch"], NOW);
    const many = statusOf(names);
    expect(few.executed).toBeGreaterThan(0);
    expect(many.executed).toBe(few.executed);
    expect(many.s.jobs).toHaveLength(300);
    expect(many.s.jobs.every((j) => j.lastRun?.status === "ok" && j.lastSuccessAt === NOW - 60_000 + 500)).toBe(true);
    expect(many.s.jobs.filter((j) => j.running).map((j) => j.job)).toEqual(["p007"]);
    expect(many.s.jobs.filter((j) => j.queued).map((j) => j.job)).toEqual(["p011"]);
  });

  it("reports each job's last finished run and last success (status and /metrics) correctly among a large history with plans and a run in progress on top", async () => {
    addRuns(db, "steady", 20_000, { startAt: NOW - 20_000 * 60_000, stepMs: 60_000 });
    // A failing job whose only success is old, then thousands of failures.
    addRuns(db, "broken", 1, { startAt: NOW - 40 * DAY, stepMs: 1 });
    addRuns(db, "broken", 5000, { startAt: NOW - 5000 * 60_000, stepMs: 60_000, status: "failed" });
    const lastReal = idsOf(db, "steady").at(-1)!;
    // Newest: a few plans (dry runs) and a run still going: neither is what the job is judged by.
    addRuns(db, "steady", 6, { startAt: NOW - 50_000, stepMs: 1000, status: "ok", dryRun: true });
    addRuns(db, "steady", 1, { startAt: NOW - 1000, stepMs: 1, status: "running" });
    const status = collectStatus(config(["broken", "steady"], dir), state, { now: NOW, since: NOW - DAY });
    const [broken, steady] = status.jobs;
    expect(steady.lastRun).toMatchObject({ id: lastReal, status: "ok", dryRun: false });
    expect(steady.lastSuccessAt).toBe(NOW - 60_000 + 500);
    expect(steady.healthy).toBe(true);
    expect(broken.lastRun?.status).toBe("failed");
    expect(broken.lastSuccessAt).toBe(NOW - 40 * DAY + 500);
    expect(broken.healthy).toBe(false);
    expect(broken.problemKind).toBe("failing");
    // The last-success gauge of /metrics reads the same; a job that never succeeded has its series at 0.
    const metrics = new AgentMetrics(state, () => ["broken", "steady", "never"]);
    const gauge = await metrics.registry.getSingleMetricAsString("ftps_sync_last_success_timestamp_seconds");
    expect(gauge).toContain(`ftps_sync_last_success_timestamp_seconds{job="steady"} ${(NOW - 60_000 + 500) / 1000}`);
    expect(gauge).toContain(`ftps_sync_last_success_timestamp_seconds{job="broken"} ${(NOW - 40 * DAY + 500) / 1000}`);
    expect(gauge).toContain('ftps_sync_last_success_timestamp_seconds{job="never"} 0');
  });
});
