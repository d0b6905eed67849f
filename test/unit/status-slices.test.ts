import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { startHttp } from "../../src/agent/http.js";
import type { BadJob } from "../../src/agent/config-problems.js";
import type { AgentMetrics } from "../../src/agent/metrics.js";
import { collectStatus, collectStatusInSlices } from "../../src/agent/status.js";
import type { AgentConfig } from "../../src/config/types.js";
import type { Logger } from "../../src/log.js";
import { openStateDb, type Db } from "../../src/state/db.js";
import type { StateStore } from "../../src/state/index.js";
import { WatchStateStore } from "../../src/state/watch-states.js";
import { testTempDir } from "../helpers/temp-dir.js";
import { addRuns, config, DAY, NOW, openHistoryState, preparesSeen } from "../helpers/run-history.js";

/** Seven jobs that differ in every way a status can: ok, failing, stale, folder missing, running, queued, a bad file; and one that cannot be loaded. */
function sevenJobs(dir: string, db: Db, state: StateStore): { cfg: AgentConfig; badJobs: BadJob[] } {
  const local = join(dir, "data");
  mkdirSync(local, { recursive: true });
  const names = ["a-ok", "b-failing", "c-stale", "d-missing", "e-running", "f-queued", "g-badfile"];
  const cfg = config(names, local);
  cfg.jobs["c-stale"].maxAgeMs = 3_600_000;
  cfg.jobs["d-missing"].local = join(dir, "not-there");
  for (const name of names) addRuns(db, name, 50, { startAt: NOW - 2 * DAY, stepMs: 60_000 });
  addRuns(db, "b-failing", 3, { startAt: NOW - 10 * 60_000, stepMs: 60_000, status: "failed" });
  addRuns(db, "gone", 5, { startAt: NOW - DAY, stepMs: 60_000 });
  state.jobLocks.put({ job: "e-running", pid: process.pid, acquiredAt: NOW });
  state.runQueue.add("f-queued", ["watch"], NOW);
  return {
    cfg,
    badJobs: [
      { job: "g-badfile", file: "/jobs/g-badfile.json", message: "JSON error at line 3", runsPrevious: true },
      { job: "gone", file: "/jobs/gone.json", message: "unknown key \"remote_path\"" },
    ],
  };
}

describe("the agent's status read in slices (/readyz, /healthz)", () => {
  let dir: string, state: StateStore, db: Db, close: () => void;
  beforeEach(() => void ({ dir, state, db, close } = openHistoryState("status-slices")));
  afterEach(() => close());

  it("gives the same answer as the status read at once, a slice of jobs at a time with the event loop let go between slices", async () => {
    const { cfg, badJobs } = sevenJobs(dir, db, state);
    const opts = { now: NOW, since: NOW - DAY, badJobs, configProblem: undefined };
    const atOnce = collectStatus(cfg, state, opts);
    // The history is read per slice: two jobs at a time, the job that cannot be loaded last.
    const asked: string[][] = [];
    const runs = state.runs;
    const spied = { ...state, runs: Object.assign(Object.create(Object.getPrototypeOf(runs) as object) as typeof runs, runs, { latestByJob: (jobs: string[]) => (asked.push(jobs), runs.latestByJob(jobs)) }) };
    const order: string[] = [];
    const yieldNow = async () => {
      order.push(`yield after ${asked.length} slice(s)`);
      await new Promise((r) => setImmediate(r));
    };
    const sliced = await collectStatusInSlices(cfg, spied, { ...opts, sliceJobs: 2, yieldNow });
    expect(sliced).toEqual(atOnce);
    expect(asked).toEqual([["a-ok", "b-failing"], ["c-stale", "d-missing"], ["e-running", "f-queued"], ["g-badfile"], ["gone"]]);
    expect(order).toEqual(["yield after 1 slice(s)", "yield after 2 slice(s)", "yield after 3 slice(s)"]);
    // And the answer is the one a user expects of these jobs.
    const byJob = Object.fromEntries(sliced.jobs.map((j) => [j.job, j]));
    expect(sliced.healthy).toBe(false);
    expect(byJob["a-ok"]).toMatchObject({ healthy: true, lastRun: { status: "ok" } });
    expect(byJob["b-failing"]).toMatchObject({ healthy: false, problemKind: "failing" });
    expect(byJob["c-stale"]).toMatchObject({ healthy: false, problemKind: "stale" });
    expect(byJob["d-missing"].problem).toMatch(/is missing/);
    expect(byJob["e-running"].running?.pid).toBe(process.pid);
    expect(byJob["f-queued"].queued).toBe(true);
    expect(byJob["g-badfile"].problem).toMatch(/^invalid job file \(the agent runs its previous version\)/);
    expect(byJob["gone"]).toMatchObject({ direction: null, healthy: false, lastRun: { status: "ok" } });
  });

  it("serves /readyz from a status read in slices: 503 and each job's problem, and 503 with the error when the state cannot be read", async () => {
    const { cfg, badJobs } = sevenJobs(dir, db, state);
    const logger = { info: () => undefined, warn: () => undefined } as unknown as Logger;
    let broken = false;
    const status = () => (broken ? Promise.reject(new Error("database is locked")) : collectStatusInSlices(cfg, state, { now: NOW, since: NOW - DAY, badJobs, sliceJobs: 3 }));
    const server = await startHttp({ host: "127.0.0.1", port: 0 }, { logger, metrics: {} as AgentMetrics, status });
    const port = (server.address() as { port: number }).port;
    try {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`);
      expect(res.status).toBe(503);
      const body = (await res.json()) as { status: string; jobs: Record<string, string> };
      expect(body.status).toBe("unhealthy");
      expect(Object.keys(body.jobs)).toEqual(["a-ok", "b-failing", "c-stale", "d-missing", "e-running", "f-queued", "g-badfile", "gone"]);
      expect(body.jobs["a-ok"]).toBe("ok");
      expect(body.jobs["b-failing"]).toMatch(/^last run failed/);
      broken = true;
      const failed = await fetch(`http://127.0.0.1:${port}/healthz`);
      expect(failed.status).toBe(503);
      expect(await failed.json()).toEqual({ status: "unhealthy", error: "database is locked" });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe("the watch states that status and /readyz read for every watched job", () => {
  it("are read through one prepared statement, not one compiled per job", () => {
    const dir = testTempDir("watch-states");
    const db = openStateDb(dir);
    try {
      let prepared = 0;
      const store = new WatchStateStore(preparesSeen(db, () => prepared++));
      store.save({ job: "j7", pid: 42, mode: "polling", watches: 0, pollMs: 60_000, reason: "limit", updatedAt: NOW });
      prepared = 0;
      const read = Array.from({ length: 50 }, (_, i) => store.get(`j${i}`));
      expect(prepared).toBe(1);
      expect(read.filter((r) => r !== undefined)).toEqual([{ job: "j7", pid: 42, mode: "polling", watches: 0, pollMs: 60_000, reason: "limit", updatedAt: NOW }]);
    } finally {
      db.close();
    }
  });
});
