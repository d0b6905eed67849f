import type Database from "better-sqlite3";
import { redact } from "../redact.js";
import { statementCache, type Db } from "./db.js";

export type RunStatus = "running" | "ok" | "failed" | "aborted" | "interrupted";

export interface RunCounts {
  uploaded: number;
  downloaded: number;
  deletedLocal: number;
  deletedRemote: number;
  conflicts: number;
  failed: number;
  bytes: number;
}

export interface RunRecord extends RunCounts {
  id: number;
  job: string;
  trigger: string;
  startedAt: number;
  endedAt?: number;
  status: RunStatus;
  dryRun: boolean;
  error?: string;
}

interface RunRow {
  id: number;
  job: string;
  trigger: string;
  started_at: number;
  ended_at: number | null;
  status: RunStatus;
  dry_run: number;
  uploaded: number;
  downloaded: number;
  deleted_local: number;
  deleted_remote: number;
  conflicts: number;
  failed: number;
  bytes: number;
  error: string | null;
}

function toRecord(r: RunRow): RunRecord {
  return {
    id: r.id,
    job: r.job,
    trigger: r.trigger,
    startedAt: r.started_at,
    endedAt: r.ended_at ?? undefined,
    status: r.status,
    dryRun: r.dry_run === 1,
    uploaded: r.uploaded,
    downloaded: r.downloaded,
    deletedLocal: r.deleted_local,
    deletedRemote: r.deleted_remote,
    conflicts: r.conflicts,
    failed: r.failed,
    bytes: r.bytes,
    error: r.error ?? undefined,
  };
}

/**
 * Every query that reads a job's history, each answered through an index of migration 009
 * (test/unit/run-history.test.ts checks their plans): however many runs are kept, none sorts or
 * scans a job's history.
 */
export const RUN_QUERIES = {
  /** A job's runs, newest first. */
  history: "SELECT * FROM runs WHERE job = ? ORDER BY id DESC LIMIT ?",
  /** A job's last real run (not a plan), finished or not. */
  last: "SELECT * FROM runs INDEXED BY runs_job_real WHERE job = ? AND dry_run = 0 ORDER BY id DESC LIMIT 1",
  /** A job's last real run that has ended (what `status` judges the job by). */
  lastFinished: "SELECT * FROM runs INDEXED BY runs_job_real WHERE job = ? AND dry_run = 0 AND status <> 'running' ORDER BY id DESC LIMIT 1",
  lastSuccess: "SELECT * FROM runs INDEXED BY runs_job_ok WHERE job = ? AND status = 'ok' AND dry_run = 0 ORDER BY id DESC LIMIT 1",
  running: "SELECT id, job, pid FROM runs INDEXED BY runs_running WHERE status = 'running'",
  /** The id of a job's N-th newest run (OFFSET N - 1): older ones are over maxRunsPerJob. */
  nthNewest: "SELECT id FROM runs INDEXED BY runs_job_newest WHERE job = ? ORDER BY id DESC LIMIT 1 OFFSET ?",
  /** The next job name after ?, one index seek each: the jobs with history without reading it all. */
  nextJob: "SELECT job FROM runs INDEXED BY runs_job_newest WHERE job > ? ORDER BY job LIMIT 1",
  /**
   * For each job named in a JSON array: its last finished real run and the end of its last
   * success, one row each of job_latest (migration 015, kept by triggers): status, /readyz and
   * /metrics for hundreds of jobs without touching the history's B-trees.
   */
  latestByJob: "SELECT j.value AS name, l.* FROM json_each(?) j LEFT JOIN job_latest l ON l.job = j.value",
  /** One slice of the count pruning: a job's oldest runs before an id. */
  overCount: `SELECT id FROM runs INDEXED BY runs_job_newest WHERE job = ? AND id < ? AND status <> 'running'
    AND id NOT IN (SELECT value FROM json_each(?)) ORDER BY id LIMIT ?`,
  /** One slice of the age pruning of one job: its oldest runs started before a time. */
  jobOverAge: `SELECT id FROM runs INDEXED BY runs_job_newest WHERE job = ? AND started_at < ? AND status <> 'running'
    AND id NOT IN (SELECT value FROM json_each(?)) ORDER BY id LIMIT ?`,
  /** One slice of the age pruning: the oldest runs started before a time. */
  overAge: `SELECT id FROM runs INDEXED BY runs_started WHERE started_at < ? AND status <> 'running'
    AND id NOT IN (SELECT value FROM json_each(?)) ORDER BY started_at LIMIT ?`,
} as const;

/** A job's last finished real run and the end of its last success (see RUN_QUERIES.latestByJob). */
export interface JobLatest {
  lastFinished?: RunRecord;
  lastSuccessAt?: number;
}

/** Run history: one row per run, written at start and completed at the end. */
export class RunStore {
  private readonly prepared: (sql: string) => Database.Statement;

  constructor(private readonly db: Db) {
    this.prepared = statementCache(db);
  }

  /** Each job's last finished real run and last success, in one statement. */
  latestByJob(jobs: string[]): Map<string, JobLatest> {
    const rows = this.prepared(RUN_QUERIES.latestByJob).all(JSON.stringify(jobs)) as (Partial<RunRow> & { name: string; last_success_at: number | null })[];
    return new Map(
      rows.map((r) => [
        r.name,
        { lastFinished: r.id == null ? undefined : toRecord(r as RunRow), lastSuccessAt: r.last_success_at ?? undefined },
      ]),
    );
  }

  start(job: string, trigger: string, dryRun: boolean, now = Date.now()): number {
    const info = this.db
      .prepare("INSERT INTO runs (job, trigger, started_at, status, dry_run, pid) VALUES (?, ?, ?, 'running', ?, ?)")
      .run(job, trigger, now, dryRun ? 1 : 0, process.pid);
    return Number(info.lastInsertRowid);
  }

  /** The error text often quotes a server's reply: secrets are scrubbed from it before it is stored. */
  finish(id: number, status: Exclude<RunStatus, "running">, counts: RunCounts, error?: string): void {
    this.db
      .prepare(`UPDATE runs SET ended_at = ?, status = ?, uploaded = ?, downloaded = ?, deleted_local = ?,
        deleted_remote = ?, conflicts = ?, failed = ?, bytes = ?, error = ? WHERE id = ?`)
      .run(Date.now(), status, counts.uploaded, counts.downloaded, counts.deletedLocal, counts.deletedRemote,
        counts.conflicts, counts.failed, counts.bytes, error === undefined ? null : redact(error), id);
  }

  /** Runs left "running" by a process that died are marked interrupted. Returns their jobs. */
  markInterrupted(isAlive: (pid: number) => boolean): string[] {
    const stale = (this.prepared(RUN_QUERIES.running).all() as {
      id: number;
      job: string;
      pid: number | null;
    }[]).filter((r) => r.pid === null || !isAlive(r.pid));
    const mark = this.db.prepare("UPDATE runs SET status = 'interrupted', ended_at = ? WHERE id = ?");
    for (const r of stale) mark.run(Date.now(), r.id);
    return [...new Set(stale.map((r) => r.job))];
  }

  /**
   * A run of this process cut short by shutdown: its last real run of the job, if it ended failed
   * or is still running, is recorded as interrupted.
   */
  markShutdownInterrupted(job: string, pid = process.pid, now = Date.now()): void {
    // ORDER BY ... LIMIT 1 rather than MAX(id): it walks the job's newest runs backwards and stops.
    this.db
      .prepare(`UPDATE runs SET status = 'interrupted', ended_at = COALESCE(ended_at, ?)
        WHERE id = (SELECT id FROM runs INDEXED BY runs_job_real WHERE job = ? AND pid = ? AND dry_run = 0 ORDER BY id DESC LIMIT 1)
        AND status IN ('failed', 'running')`)
      .run(now, job, pid);
  }

  history(job?: string, limit = 20): RunRecord[] {
    const rows = job
      ? this.prepared(RUN_QUERIES.history).all(job, limit)
      : this.db.prepare("SELECT * FROM runs ORDER BY id DESC LIMIT ?").all(limit);
    return (rows as RunRow[]).map(toRecord);
  }

  last(job: string): RunRecord | undefined {
    return this.one(RUN_QUERIES.last, job);
  }

  lastFinished(job: string): RunRecord | undefined {
    return this.one(RUN_QUERIES.lastFinished, job);
  }

  lastSuccess(job: string): RunRecord | undefined {
    return this.one(RUN_QUERIES.lastSuccess, job);
  }

  private one(sql: string, job: string): RunRecord | undefined {
    const row = this.prepared(sql).get(job);
    return row ? toRecord(row as RunRow) : undefined;
  }

  // ---- pruning: each call is one small statement; the pruner yields between them

  /** The first job name after `after` (in byte order) that has runs, or undefined. */
  nextJobWithHistory(after = ""): string | undefined {
    return (this.prepared(RUN_QUERIES.nextJob).get(after) as { job: string } | undefined)?.job;
  }

  /** The id of the job's `n`-th newest run, when it has that many. */
  nthNewestId(job: string, n: number): number | undefined {
    return (this.prepared(RUN_QUERIES.nthNewest).get(job, n - 1) as { id: number } | undefined)?.id;
  }

  /** Ids never pruned: each job's last real run and last success, so `status` stays true about it. */
  protectedIds(job: string): number[] {
    return [this.last(job)?.id, this.lastSuccess(job)?.id].filter((id): id is number => id !== undefined);
  }

  /** Deletes at most `limit` of the job's runs older than run `beforeId` (never one running or protected). */
  pruneJobBefore(job: string, beforeId: number, protect: number[], limit: number): number {
    const ids = this.prepared(RUN_QUERIES.overCount).pluck().all(job, beforeId, JSON.stringify(protect), limit) as number[];
    return this.deleteIds(ids);
  }

  /** Deletes at most `limit` runs started before `cutoffMs` (never one running or protected). */
  pruneStartedBefore(cutoffMs: number, protect: number[], limit: number): number {
    const ids = this.prepared(RUN_QUERIES.overAge).pluck().all(cutoffMs, JSON.stringify(protect), limit) as number[];
    return this.deleteIds(ids);
  }

  /** Deletes at most `limit` of the job's runs started before `cutoffMs` (never one running or protected). */
  pruneJobStartedBefore(job: string, cutoffMs: number, protect: number[], limit: number): number {
    const ids = this.prepared(RUN_QUERIES.jobOverAge).pluck().all(job, cutoffMs, JSON.stringify(protect), limit) as number[];
    return this.deleteIds(ids);
  }

  private deleteIds(ids: number[]): number {
    if (ids.length === 0) return 0;
    return this.db.prepare("DELETE FROM runs WHERE id IN (SELECT value FROM json_each(?))").run(JSON.stringify(ids)).changes;
  }
}
