import type { Db } from "./db.js";

/** A job's pending run as stored: the triggers folded into it, and when it was first asked for. */
export interface QueuedRun {
  job: string;
  triggers: string[];
  requestedAt: number;
}

/**
 * The durable run queue's rows (table run_queue, at most one per job). How requests fold into
 * a pending run, and how a run is claimed, is src/agent/queue.ts.
 */
export interface RunQueueStore {
  get(job: string): QueuedRun | undefined;
  /** Oldest request first (then by job, for a stable order). */
  list(): QueuedRun[];
  has(job: string): boolean;
  count(): number;
  add(job: string, triggers: string[], now: number): void;
  setTriggers(job: string, triggers: string[], now: number): void;
  remove(job: string): void;
  /**
   * Runs `fn` in one IMMEDIATE transaction of the state database: the write lock is taken at
   * BEGIN, so two processes cannot both read a row and both act on it. It covers every store of
   * the same StateStore (one database), the job locks included.
   */
  atomically<T>(fn: () => T): T;
}

interface QueueRow {
  job: string;
  triggers: string;
  requested_at: number;
}

// Triggers are kept as one comma-separated column.
const toQueued = (r: QueueRow): QueuedRun => ({ job: r.job, triggers: r.triggers.split(","), requestedAt: r.requested_at });

export class SqliteRunQueueStore implements RunQueueStore {
  constructor(private readonly db: Db) {}

  get(job: string): QueuedRun | undefined {
    const row = this.db.prepare("SELECT * FROM run_queue WHERE job = ?").get(job) as QueueRow | undefined;
    return row ? toQueued(row) : undefined;
  }

  list(): QueuedRun[] {
    return (this.db.prepare("SELECT * FROM run_queue ORDER BY requested_at, job").all() as QueueRow[]).map(toQueued);
  }

  has(job: string): boolean {
    return this.db.prepare("SELECT 1 FROM run_queue WHERE job = ?").get(job) !== undefined;
  }

  count(): number {
    return (this.db.prepare("SELECT COUNT(*) AS n FROM run_queue").get() as { n: number }).n;
  }

  add(job: string, triggers: string[], now: number): void {
    this.db.prepare("INSERT INTO run_queue (job, triggers, requested_at, updated_at) VALUES (?, ?, ?, ?)").run(job, triggers.join(","), now, now);
  }

  setTriggers(job: string, triggers: string[], now: number): void {
    this.db.prepare("UPDATE run_queue SET triggers = ?, updated_at = ? WHERE job = ?").run(triggers.join(","), now, job);
  }

  remove(job: string): void {
    this.db.prepare("DELETE FROM run_queue WHERE job = ?").run(job);
  }

  atomically<T>(fn: () => T): T {
    return this.db.transaction(fn).immediate();
  }
}
