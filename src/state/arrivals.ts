import type { Db } from "./db.js";

/** What is kept of a job's expected arrivals (see migrations/012-expected-arrivals.sql). */
export interface ArrivalRecord {
  lastArrivalAt?: number;
  lastArrivalPath?: string;
  /** The deadline whose "late" event was fired, while the job is late. */
  lateSince?: number;
}

interface ArrivalRow {
  last_arrival_at: number | null;
  last_arrival_path: string | null;
  late_since: number | null;
}

export class ArrivalStore {
  constructor(private readonly db: Db) {}

  get(job: string): ArrivalRecord {
    const row = this.db.prepare("SELECT last_arrival_at, last_arrival_path, late_since FROM expected_arrivals WHERE job = ?").get(job) as ArrivalRow | undefined;
    return {
      ...(row?.last_arrival_at != null && { lastArrivalAt: row.last_arrival_at }),
      ...(row?.last_arrival_path != null && { lastArrivalPath: row.last_arrival_path }),
      ...(row?.late_since != null && { lateSince: row.late_since }),
    };
  }

  recordArrival(job: string, at: number, path: string): void {
    this.db
      .prepare(`INSERT INTO expected_arrivals (job, last_arrival_at, last_arrival_path) VALUES (?, ?, ?)
        ON CONFLICT (job) DO UPDATE SET last_arrival_at = excluded.last_arrival_at, last_arrival_path = excluded.last_arrival_path`)
      .run(job, at, path);
  }

  /** Marks the job late for `deadline`. False when it already was marked for it (by this process or another). */
  markLate(job: string, deadline: number): boolean {
    const info = this.db
      .prepare(`INSERT INTO expected_arrivals (job, late_since) VALUES (?, ?)
        ON CONFLICT (job) DO UPDATE SET late_since = excluded.late_since
        WHERE late_since IS NULL OR late_since <> excluded.late_since`)
      .run(job, deadline);
    return info.changes === 1;
  }

  /** Clears the late mark. The deadline it was late for, when it was; undefined when it was not late. */
  clearLate(job: string): number | undefined {
    // One transaction: of two processes clearing at once, only one sees the mark.
    return this.db.transaction(() => {
      const row = this.db.prepare("SELECT late_since FROM expected_arrivals WHERE job = ? AND late_since IS NOT NULL").get(job) as { late_since: number } | undefined;
      if (row) this.db.prepare("UPDATE expected_arrivals SET late_since = NULL WHERE job = ?").run(job);
      return row?.late_since;
    }).immediate();
  }
}
