import type { Db } from "../state/db.js";
import { pidAlive } from "./pid.js";

export interface LockHolder {
  pid: number;
  acquiredAt: number;
  trigger?: string;
}

export type LockResult = { ok: true } | { ok: false; holder: LockHolder };

interface LockRow {
  job: string;
  pid: number;
  acquired_at: number;
  trigger: string | null;
}

/**
 * One run of a job at a time, across processes (daemon, `ftps-sync sync`, a second daemon).
 * The lock is a row in the state database taken inside BEGIN IMMEDIATE, so two processes
 * cannot both see it free. A lock whose pid is dead (kill -9, power loss) is taken over.
 */
export class JobLocks {
  constructor(
    private readonly db: Db,
    private readonly isAlive: (pid: number) => boolean = pidAlive,
    private readonly pid = process.pid,
  ) {}

  /** For use inside a transaction that is already IMMEDIATE (see RunQueue.claim). */
  acquireInTx(job: string, trigger?: string): LockResult {
    const row = this.db.prepare("SELECT * FROM job_locks WHERE job = ?").get(job) as LockRow | undefined;
    if (row && row.pid !== this.pid && this.isAlive(row.pid)) {
      return { ok: false, holder: { pid: row.pid, acquiredAt: row.acquired_at, trigger: row.trigger ?? undefined } };
    }
    this.db
      .prepare(`INSERT INTO job_locks (job, pid, acquired_at, trigger) VALUES (?, ?, ?, ?)
        ON CONFLICT (job) DO UPDATE SET pid = excluded.pid, acquired_at = excluded.acquired_at, trigger = excluded.trigger`)
      .run(job, this.pid, Date.now(), trigger ?? null);
    return { ok: true };
  }

  tryAcquire(job: string, trigger?: string): LockResult {
    return this.db.transaction(() => this.acquireInTx(job, trigger)).immediate();
  }

  /** Releases only our own lock: a lock taken over by another process stays theirs. */
  release(job: string): void {
    this.db.prepare("DELETE FROM job_locks WHERE job = ? AND pid = ?").run(job, this.pid);
  }

  /** The live holder of a job's lock, if any. */
  holder(job: string): LockHolder | undefined {
    const row = this.db.prepare("SELECT * FROM job_locks WHERE job = ?").get(job) as LockRow | undefined;
    if (!row || !this.isAlive(row.pid)) return undefined;
    return { pid: row.pid, acquiredAt: row.acquired_at, trigger: row.trigger ?? undefined };
  }

  /** Removes locks left by dead processes; returns their jobs (their runs were cut short). */
  clearStale(): string[] {
    return this.db
      .transaction(() => {
        const rows = this.db.prepare("SELECT * FROM job_locks").all() as LockRow[];
        const stale = rows.filter((r) => r.pid !== this.pid && !this.isAlive(r.pid));
        const del = this.db.prepare("DELETE FROM job_locks WHERE job = ? AND pid = ?");
        for (const r of stale) del.run(r.job, r.pid);
        return stale.map((r) => r.job);
      })
      .immediate();
  }
}
