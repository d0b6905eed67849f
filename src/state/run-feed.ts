import type Database from "better-sqlite3";
import { statementCache, type Db } from "./db.js";
import type { RunStatus } from "./runs.js";

/** A run as /metrics counts it: who ran it (pid), how it ended, what it moved. */
export interface FedRun {
  id: number;
  job: string;
  pid: number | null;
  status: RunStatus;
  startedAt: number;
  endedAt: number | null;
  uploaded: number;
  downloaded: number;
  deletedLocal: number;
  deletedRemote: number;
  bytes: number;
}

const FED_COLUMNS = `id, job, pid, status, started_at AS startedAt, ended_at AS endedAt, uploaded, downloaded,
  deleted_local AS deletedLocal, deleted_remote AS deletedRemote, bytes`;

// Plans (dry runs) are not runs for /metrics, as for `status`.
const AFTER = `SELECT ${FED_COLUMNS} FROM runs WHERE id > ? AND dry_run = 0 ORDER BY id`;
const BY_IDS = `SELECT ${FED_COLUMNS} FROM runs WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id`;
const RUNNING = "SELECT id, pid FROM runs WHERE status = 'running' AND dry_run = 0";
// MAX(id): SQLite reads it off the end of the primary key.
const NEWEST_ID = "SELECT MAX(id) AS id FROM runs";

/**
 * The reads of the runs table that /metrics makes at each scrape. Every one goes through the
 * primary key or a per-job index: a scrape stays fast however long the history is.
 */
export class RunFeedStore {
  private readonly prepared: (sql: string) => Database.Statement;

  constructor(db: Db) {
    this.prepared = statementCache(db);
  }

  /** The newest run's id (0 when there is none): runs after it are new. */
  newestId(): number {
    return (this.prepared(NEWEST_ID).get() as { id: number | null }).id ?? 0;
  }

  /** The real runs (not plans) marked running now: few, read once when the agent starts. */
  running(): { id: number; pid: number | null }[] {
    return this.prepared(RUNNING).all() as { id: number; pid: number | null }[];
  }

  /** Real runs (not plans) with an id above `afterId`, and the runs with the given ids, oldest first. */
  runsAfter(afterId: number, alsoIds: number[] = []): FedRun[] {
    const rows = this.prepared(AFTER).all(afterId) as FedRun[];
    if (alsoIds.length === 0) return rows;
    return [...(this.prepared(BY_IDS).all(JSON.stringify(alsoIds)) as FedRun[]), ...rows];
  }
}
