import type { Db } from "./db.js";

/** How an agent watches a job's folder (src/agent/watcher.ts), as it last said. */
export interface WatchStateRecord {
  job: string;
  pid: number;
  mode: "watching" | "polling";
  watches: number;
  pollMs?: number;
  reason?: string;
  updatedAt: number;
}

/** The watch_states rows: one per watched job, written by the agent that watches it. */
export class WatchStateStore {
  /** Prepared once: `status` and /readyz read every watched job's row, and compiling costs more than running. */
  private getStatement?: ReturnType<Db["prepare"]>;

  constructor(private readonly db: Db) {}

  save(s: WatchStateRecord): void {
    this.db
      .prepare(`INSERT INTO watch_states (job, pid, mode, watches, poll_ms, reason, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (job) DO UPDATE SET pid = excluded.pid, mode = excluded.mode, watches = excluded.watches,
          poll_ms = excluded.poll_ms, reason = excluded.reason, updated_at = excluded.updated_at`)
      .run(s.job, s.pid, s.mode, s.watches, s.pollMs ?? null, s.reason ?? null, s.updatedAt);
  }

  get(job: string): WatchStateRecord | undefined {
    this.getStatement ??= this.db.prepare("SELECT job, pid, mode, watches, poll_ms, reason, updated_at FROM watch_states WHERE job = ?");
    const r = this.getStatement.get(job) as
      | { job: string; pid: number; mode: "watching" | "polling"; watches: number; poll_ms: number | null; reason: string | null; updated_at: number }
      | undefined;
    if (!r) return undefined;
    return {
      job: r.job, pid: r.pid, mode: r.mode, watches: r.watches, updatedAt: r.updated_at,
      ...(r.poll_ms !== null ? { pollMs: r.poll_ms } : {}), ...(r.reason !== null ? { reason: r.reason } : {}),
    };
  }

  /** The agent `pid` stopped watching (it stopped, or the job is no longer watched). */
  removeOf(pid: number): void {
    this.db.prepare("DELETE FROM watch_states WHERE pid = ?").run(pid);
  }
}
