import type { Db } from "../state/db.js";
import type { JobLocks, LockResult } from "./job-lock.js";

export interface PendingRun {
  job: string;
  triggers: string[];
  requestedAt: number;
}

interface QueueRow {
  job: string;
  triggers: string;
  requested_at: number;
}

const toPending = (r: QueueRow): PendingRun => ({ job: r.job, triggers: r.triggers.split(","), requestedAt: r.requested_at });

/**
 * The durable run queue: per job at most one pending run (further requests fold into it) and,
 * through JobLocks, at most one in progress. Triggers only call request(); the runner claims.
 * Kept in SQLite so queued work survives a restart or a crash.
 */
export class RunQueue {
  constructor(private readonly db: Db) {}

  /** Asks for a run of `job`. Returns false when it folded into a run already pending. */
  request(job: string, trigger: string, now = Date.now()): boolean {
    const existing = this.db.prepare("SELECT * FROM run_queue WHERE job = ?").get(job) as QueueRow | undefined;
    if (existing) {
      const triggers = new Set(existing.triggers.split(","));
      triggers.add(trigger);
      this.db.prepare("UPDATE run_queue SET triggers = ?, updated_at = ? WHERE job = ?").run([...triggers].join(","), now, job);
      return false;
    }
    this.db.prepare("INSERT INTO run_queue (job, triggers, requested_at, updated_at) VALUES (?, ?, ?, ?)").run(job, trigger, now, now);
    return true;
  }

  /** Oldest request first. */
  pending(): PendingRun[] {
    return (this.db.prepare("SELECT * FROM run_queue ORDER BY requested_at, job").all() as QueueRow[]).map(toPending);
  }

  isPending(job: string): boolean {
    return this.db.prepare("SELECT 1 FROM run_queue WHERE job = ?").get(job) !== undefined;
  }

  depth(): number {
    return (this.db.prepare("SELECT COUNT(*) AS n FROM run_queue").get() as { n: number }).n;
  }

  remove(job: string): void {
    this.db.prepare("DELETE FROM run_queue WHERE job = ?").run(job);
  }

  /**
   * Atomically takes the job's lock and its pending request, so that two daemons sharing a
   * state directory can never both start it. Returns the folded triggers, or why not.
   */
  claim(job: string, locks: JobLocks): { ok: true; triggers: string[] } | Extract<LockResult, { ok: false }> | { ok: false; holder?: undefined } {
    return this.db
      .transaction(() => {
        const row = this.db.prepare("SELECT * FROM run_queue WHERE job = ?").get(job) as QueueRow | undefined;
        if (!row) return { ok: false as const };
        const lock = locks.acquireInTx(job, row.triggers);
        if (!lock.ok) return lock;
        this.db.prepare("DELETE FROM run_queue WHERE job = ?").run(job);
        return { ok: true as const, triggers: toPending(row).triggers };
      })
      .immediate();
  }
}
