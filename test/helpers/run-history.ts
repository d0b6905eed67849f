import type { AgentConfig, JobConfig } from "../../src/config/types.js";
import type { Db } from "../../src/state/db.js";
import { jobConfig } from "./job-config.js";

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

export const idsOf = (db: Db, name: string) => (db.prepare("SELECT id FROM runs WHERE job = ? ORDER BY id").pluck().all(name) as number[]);
