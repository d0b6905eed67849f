import { redact } from "../redact.js";
import type { Db } from "./db.js";

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

/** Run history: one row per run, written at start and completed at the end. */
export class RunStore {
  constructor(private readonly db: Db) {}

  start(job: string, trigger: string, dryRun: boolean): number {
    const info = this.db
      .prepare("INSERT INTO runs (job, trigger, started_at, status, dry_run, pid) VALUES (?, ?, ?, 'running', ?, ?)")
      .run(job, trigger, Date.now(), dryRun ? 1 : 0, process.pid);
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
    const stale = (this.db.prepare("SELECT id, job, pid FROM runs WHERE status = 'running'").all() as {
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
    this.db
      .prepare(`UPDATE runs SET status = 'interrupted', ended_at = COALESCE(ended_at, ?)
        WHERE id = (SELECT MAX(id) FROM runs WHERE job = ? AND pid = ? AND dry_run = 0) AND status IN ('failed', 'running')`)
      .run(now, job, pid);
  }

  history(job?: string, limit = 20): RunRecord[] {
    const rows = job
      ? this.db.prepare("SELECT * FROM runs WHERE job = ? ORDER BY id DESC LIMIT ?").all(job, limit)
      : this.db.prepare("SELECT * FROM runs ORDER BY id DESC LIMIT ?").all(limit);
    return (rows as RunRow[]).map(toRecord);
  }

  last(job: string): RunRecord | undefined {
    const row = this.db.prepare("SELECT * FROM runs WHERE job = ? AND dry_run = 0 ORDER BY id DESC LIMIT 1").get(job);
    return row ? toRecord(row as RunRow) : undefined;
  }

  lastSuccess(job: string): RunRecord | undefined {
    const row = this.db
      .prepare("SELECT * FROM runs WHERE job = ? AND status = 'ok' AND dry_run = 0 ORDER BY id DESC LIMIT 1")
      .get(job);
    return row ? toRecord(row as RunRow) : undefined;
  }
}
