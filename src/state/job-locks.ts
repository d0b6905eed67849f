import type { Db } from "./db.js";

/** A job's lock as stored: which process took it, when, and for which trigger(s). */
export interface StoredLock {
  job: string;
  pid: number;
  acquiredAt: number;
  trigger?: string;
}

/**
 * The job locks' rows (table job_locks, at most one per job). Who may take or keep a lock
 * (a live holder, a stale one) is src/agent/job-lock.ts.
 */
export interface JobLockStore {
  get(job: string): StoredLock | undefined;
  all(): StoredLock[];
  /** Takes the job's row, replacing whatever holder it had. */
  put(lock: StoredLock): void;
  /** Removes the job's lock only while `pid` holds it. */
  remove(job: string, pid: number): void;
  /** One IMMEDIATE transaction of the state database (see RunQueueStore.atomically). */
  atomically<T>(fn: () => T): T;
}

interface LockRow {
  job: string;
  pid: number;
  acquired_at: number;
  trigger: string | null;
}

const toLock = (r: LockRow): StoredLock => ({ job: r.job, pid: r.pid, acquiredAt: r.acquired_at, trigger: r.trigger ?? undefined });

export class SqliteJobLockStore implements JobLockStore {
  constructor(private readonly db: Db) {}

  get(job: string): StoredLock | undefined {
    const row = this.db.prepare("SELECT * FROM job_locks WHERE job = ?").get(job) as LockRow | undefined;
    return row ? toLock(row) : undefined;
  }

  all(): StoredLock[] {
    return (this.db.prepare("SELECT * FROM job_locks").all() as LockRow[]).map(toLock);
  }

  put(lock: StoredLock): void {
    this.db
      .prepare(`INSERT INTO job_locks (job, pid, acquired_at, trigger) VALUES (?, ?, ?, ?)
        ON CONFLICT (job) DO UPDATE SET pid = excluded.pid, acquired_at = excluded.acquired_at, trigger = excluded.trigger`)
      .run(lock.job, lock.pid, lock.acquiredAt, lock.trigger ?? null);
  }

  remove(job: string, pid: number): void {
    this.db.prepare("DELETE FROM job_locks WHERE job = ? AND pid = ?").run(job, pid);
  }

  atomically<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }
}
