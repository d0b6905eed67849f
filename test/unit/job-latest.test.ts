// Each job's latest finished real run and last success come from job_latest (migration 015),
// kept by triggers on `runs`. Whatever happens to the history (runs started, finished, marked
// interrupted, inserted finished, plans, pruned, or the latest ones deleted), the answer must be
// the one the history itself gives.
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { openStateDb, type Db } from "../../src/state/db.js";
import { migrate, readMigrations } from "../../src/state/migrate.js";
import { RunStore } from "../../src/state/runs.js";
import { addRuns, NOW } from "../helpers/run-history.js";
import { testTempDir } from "../helpers/temp-dir.js";

/** The answer from the history itself: the last finished real run, and the last success's end. */
function fromHistory(db: Db, jobs: string[]): Record<string, { id?: number; status?: string; endedAt?: number; uploaded?: number; lastSuccessAt?: number }> {
  const out: ReturnType<typeof fromHistory> = {};
  for (const job of jobs) {
    const last = db.prepare("SELECT * FROM runs WHERE job = ? AND dry_run = 0 AND status <> 'running' ORDER BY id DESC LIMIT 1").get(job) as
      | { id: number; status: string; ended_at: number | null; uploaded: number }
      | undefined;
    const ok = db.prepare("SELECT ended_at FROM runs WHERE job = ? AND dry_run = 0 AND status = 'ok' ORDER BY id DESC LIMIT 1").pluck().get(job) as number | null | undefined;
    out[job] = { id: last?.id, status: last?.status, endedAt: last?.ended_at ?? undefined, uploaded: last?.uploaded, lastSuccessAt: ok ?? undefined };
  }
  return out;
}

function fromStore(runs: RunStore, jobs: string[]): ReturnType<typeof fromHistory> {
  const latest = runs.latestByJob(jobs);
  return Object.fromEntries(
    jobs.map((job) => {
      const l = latest.get(job);
      const f = l?.lastFinished;
      return [job, { id: f?.id, status: f?.status, endedAt: f?.endedAt, uploaded: f?.uploaded, lastSuccessAt: l?.lastSuccessAt }];
    }),
  );
}

/** A small seeded generator (mulberry32): the same sequence of steps at every run. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("each job's latest run and last success (job_latest)", () => {
  let db: Db;
  let runs: RunStore;
  beforeEach(() => {
    db = openStateDb(testTempDir("job-latest"));
    runs = new RunStore(db);
  });
  afterEach(() => db.close());

  it("agrees with the history through 400 random steps: starts, finishes, plans, interruptions, finished inserts, pruning and deletions of the latest runs", () => {
    const jobs = ["a", "b", "c", "d"];
    const next = random(26);
    const pick = <T>(xs: T[]): T => xs[Math.floor(next() * xs.length)];
    const open: number[] = [];
    let now = NOW;
    for (let step = 0; step < 400; step++) {
      now += 60_000;
      const r = next();
      const job = pick(jobs);
      if (r < 0.3) {
        open.push(runs.start(job, "schedule", next() < 0.2, now));
      } else if (r < 0.55 && open.length > 0) {
        const id = open.splice(Math.floor(next() * open.length), 1)[0];
        runs.finish(id, pick(["ok", "ok", "failed", "aborted"] as const), { uploaded: step, downloaded: 0, deletedLocal: 0, deletedRemote: 0, conflicts: 0, failed: 0, bytes: 1 });
      } else if (r < 0.6) {
        runs.markShutdownInterrupted(job, process.pid, now);
        open.length = 0;
      } else if (r < 0.7) {
        addRuns(db, job, 1 + Math.floor(next() * 3), { startAt: now, stepMs: 1000, status: pick(["ok", "failed"]), dryRun: next() < 0.2 });
      } else if (r < 0.8) {
        // The latest finished run or the last success of a job, deleted by hand.
        const latest = fromHistory(db, [job])[job];
        const victim = next() < 0.5 ? latest.id : (db.prepare("SELECT id FROM runs WHERE job = ? AND status = 'ok' AND dry_run = 0 ORDER BY id DESC LIMIT 1").pluck().get(job) as number | undefined);
        if (victim !== undefined) db.prepare("DELETE FROM runs WHERE id = ?").run(victim);
      } else if (r < 0.9) {
        // The pruner's way: old runs, never the protected ones.
        const newest = runs.nthNewestId(job, 3);
        if (newest !== undefined) runs.pruneJobBefore(job, newest, runs.protectedIds(job), 5);
      } else {
        runs.pruneStartedBefore(now - 30 * 60_000, [...jobs.flatMap((j) => runs.protectedIds(j))], 10);
      }
      expect(fromStore(runs, jobs), `step ${step}`).toEqual(fromHistory(db, jobs));
    }
  });

  it("a job with no finished real run (only plans, or a run under way) has no latest run and no last success", () => {
    addRuns(db, "plans", 3, { startAt: NOW, stepMs: 1000, dryRun: true });
    runs.start("busy", "schedule", false, NOW);
    expect(fromStore(runs, ["plans", "busy", "never"])).toEqual({
      plans: { id: undefined, status: undefined, endedAt: undefined, uploaded: undefined, lastSuccessAt: undefined },
      busy: { id: undefined, status: undefined, endedAt: undefined, uploaded: undefined, lastSuccessAt: undefined },
      never: { id: undefined, status: undefined, endedAt: undefined, uploaded: undefined, lastSuccessAt: undefined },
    });
  });

  it("is filled from the history there already is when a database is upgraded to migration 015", () => {
    const dir = testTempDir("job-latest-upgrade");
    const old = new Database(`${dir}/state.db`);
    const all = readMigrations();
    migrate(old, all.filter((m) => m.version < 15));
    for (const [job, status] of [["x", "ok"], ["y", "failed"], ["z", "ok"]] as const) addRuns(old, job, 50, { startAt: NOW, stepMs: 60_000, status });
    addRuns(old, "x", 5, { startAt: NOW + 3_600_000, stepMs: 60_000, status: "failed" });
    addRuns(old, "z", 2, { startAt: NOW + 3_600_000, stepMs: 60_000, dryRun: true });
    old.prepare("INSERT INTO runs (job, trigger, started_at, status, dry_run) VALUES ('x', 'schedule', ?, 'running', 0)").run(NOW + 7_200_000);
    migrate(old, all);
    expect(fromStore(new RunStore(old), ["x", "y", "z", "w"])).toEqual(fromHistory(old, ["x", "y", "z", "w"]));
    expect(fromStore(new RunStore(old), ["x"]).x).toMatchObject({ status: "failed", lastSuccessAt: NOW + 49 * 60_000 + 500 });
    old.close();
  });
});
