import { expect } from "vitest";
import type { AgentConfig, JobConfig } from "../../src/config/types.js";
import { openStateDb, type Db } from "../../src/state/db.js";
import { openState, type StateStore } from "../../src/state/index.js";
import { jobConfig } from "./job-config.js";
import { testTempDir } from "./temp-dir.js";

/** Synthetic jobs and run history, for the tests of history, its pruning and what reads it. */

export const DAY = 86_400_000;
export const NOW = Date.UTC(2026, 11, 6);

export function job(name: string, local: string): JobConfig {
  return jobConfig(name, { local, schedule: "* * * * *" });
}

export function config(names: string[], local: string): AgentConfig {
  return {
    configPath: "/a.json", baseDir: "/", stateDir: "/s", jobsDir: "/jobs", log: { level: "info" }, maxConcurrentJobs: 2,
    shutdownGraceSeconds: 1, remotes: {}, jobs: Object.fromEntries(names.map((n) => [n, job(n, local)])),
  };
}

/** `n` synthetic runs of `job`, one every `stepMs` from `startAt`, written by SQLite itself (fast). */
export function addRuns(db: Db, name: string, n: number, o: { startAt: number; stepMs: number; status?: string; dryRun?: boolean }): void {
  db.prepare(
    `WITH RECURSIVE k(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i + 1 < ?)
     INSERT INTO runs (job, trigger, started_at, ended_at, status, dry_run)
     SELECT ?, 'schedule', ? + i * ?, ? + i * ? + 500, ?, ? FROM k`,
  ).run(n, name, o.startAt, o.stepMs, o.startAt, o.stepMs, o.status ?? "ok", o.dryRun ? 1 : 0);
}

/**
 * A state in a new folder, and a second connection to its database as another process would
 * have: for synthetic rows (addRuns), and for looking at them. close() closes both.
 */
export function openHistoryState(prefix: string): { dir: string; state: StateStore; db: Db; close: () => void } {
  const dir = testTempDir(prefix);
  const state = openState(dir);
  const db = openStateDb(dir);
  return { dir, state, db, close: () => (db.close(), state.close()) };
}

/** `db`, telling `onPrepare` each statement prepared through it (to count them, or to ask SQLite how it runs each). */
export function preparesSeen<T extends Db>(db: T, onPrepare: (sql: string) => void): T {
  return new Proxy(db, {
    get(target, key) {
      if (key === "prepare") return (sql: string) => (onPrepare(sql), target.prepare(sql));
      const v = Reflect.get(target, key) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/**
 * Each of `statements` reads the run history through the primary key or an index: no sort (a
 * temporary B-tree), no scan of the table or of a whole index over it (the partial index of
 * running runs holds few). `param`: the value for each of a statement's parameters.
 */
export function expectIndexedReads(db: Db, statements: Iterable<string>, param: unknown): void {
  for (const sql of statements) {
    const plan = (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...Array((sql.match(/\?/g) ?? []).length).fill(param)) as { detail: string }[]).map((p) => p.detail);
    const text = `${sql.replace(/\s+/g, " ")}\n  -> ${plan.join(" | ")}`;
    expect(plan.some((d) => d.includes("TEMP B-TREE")), text).toBe(false);
    expect(plan.some((d) => /^SCAN runs\b/.test(d) && !d.includes("runs_running")), text).toBe(false);
  }
}

export const idsOf = (db: Db, name: string) => (db.prepare("SELECT id FROM runs WHERE job = ? ORDER BY id").pluck().all(name) as number[]);
