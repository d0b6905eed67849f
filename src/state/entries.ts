import type { StateEntry, TimePrecision } from "../plan/types.js";
import type { Db } from "./db.js";

const PRECISIONS: TimePrecision[] = ["ms", "second", "minute", "day", "none", "pending"];

/**
 * type and remote_precision come out as numbers (1 for a folder; an index into PRECISIONS): a
 * string value per column and row was about a sixth of loading 100 000 rows. A precision nothing
 * writes reads as "pending", the most cautious one (no time known: the size alone decides).
 */
const COLUMNS = `path, type = 'dir', local_size, local_mtime_ms, remote_size, remote_modify_ms,
  CASE remote_precision ${PRECISIONS.map((p, i) => `WHEN '${p}' THEN ${i}`).join(" ")} ELSE ${PRECISIONS.indexOf("pending")} END,
  placed_remote, placed_local, source_taken`;

/** The rows of the selects below, as arrays (`raw`): COLUMNS in order. */
type RawEntryRow = [
  path: string,
  isDir: number,
  localSize: number,
  localMtimeMs: number,
  remoteSize: number,
  remoteModifyMs: number | null,
  remotePrecision: number,
  placedRemote: number,
  placedLocal: number,
  sourceTaken: number,
];

const PAGE = 8192;

function fromRow(r: RawEntryRow): StateEntry {
  return {
    path: r[0],
    type: r[1] === 1 ? "dir" : "file",
    localSize: r[2],
    localMtimeMs: r[3],
    remoteSize: r[4],
    remoteModifyMs: r[5] ?? undefined,
    remotePrecision: PRECISIONS[r[6]],
    placedRemote: r[7] === 1,
    placedLocal: r[8] === 1,
    // Set only when true: most rows never have it, and their objects stay as they were.
    ...(r[9] === 1 ? { sourceTaken: true } : {}),
  };
}

/** An entry's insert-or-update; `placed`: how the update sets the "placed by this job" flags. */
function upsertEntry(placed: string): string {
  return `INSERT INTO entries (job, path, type, local_size, local_mtime_ms, remote_size,
        remote_modify_ms, remote_precision, placed_remote, placed_local, source_taken, synced_at)
      VALUES (@job, @path, @type, @localSize, @localMtimeMs, @remoteSize, @remoteModifyMs, @remotePrecision,
        @placedRemote, @placedLocal, @sourceTaken, @syncedAt)
      ON CONFLICT (job, path) DO UPDATE SET type = excluded.type, local_size = excluded.local_size,
        local_mtime_ms = excluded.local_mtime_ms, remote_size = excluded.remote_size,
        remote_modify_ms = excluded.remote_modify_ms, remote_precision = excluded.remote_precision,
        ${placed}, source_taken = excluded.source_taken, synced_at = excluded.synced_at`;
}

/** Per-job record of what each side looked like at the last sync. */
export class EntryStore {
  private readonly selectAll;
  private readonly selectRange;
  private readonly selectOne;
  private readonly upsert;
  private readonly upsertPlaced;
  private readonly remove;
  private readonly countFiles;
  /** Built once: better-sqlite3 builds a wrapper per transaction() call (~0.1 ms per recorded file). */
  private readonly inTransaction: (fn: () => void) => void;

  constructor(private readonly db: Db) {
    this.selectAll = db.prepare(`SELECT ${COLUMNS} FROM entries WHERE job = ? AND path > ? ORDER BY path LIMIT ${PAGE}`).raw(true);
    this.selectRange = db.prepare(`SELECT ${COLUMNS} FROM entries WHERE job = ? AND path > ? AND path < ? ORDER BY path LIMIT ${PAGE}`).raw(true);
    this.selectOne = db.prepare(`SELECT ${COLUMNS} FROM entries WHERE job = ? AND path = ?`).raw(true);
    this.upsert = db.prepare(upsertEntry("placed_remote = excluded.placed_remote, placed_local = excluded.placed_local"));
    // The same, with the "placed by this job" flags only ever turning on (MAX with the row's own).
    this.upsertPlaced = db.prepare(upsertEntry("placed_remote = MAX(placed_remote, excluded.placed_remote), placed_local = MAX(placed_local, excluded.placed_local)"));
    this.remove = db.prepare("DELETE FROM entries WHERE job = ? AND path = ?");
    this.countFiles = db.prepare("SELECT COUNT(*) AS n FROM entries WHERE job = ? AND type = 'file'");
    this.inTransaction = db.transaction((fn: () => void) => fn());
  }

  load(job: string): Map<string, StateEntry> {
    const map = new Map<string, StateEntry>();
    for (const rows of this.pages(job)) for (const r of rows) map.set(r[0], fromRow(r));
    return map;
  }

  /**
   * The rows under some folders (all of them for ""), and the rows of `single` paths, that `keep`
   * takes: a run scoped to a few folders reads their rows, not the job's 100 000.
   */
  loadUnder(job: string, folders: string[], single: string[], keep: (path: string, type: "file" | "dir") => boolean): Map<string, StateEntry> {
    const map = new Map<string, StateEntry>();
    // "a/" up to "a0": everything under "a" ("0" follows "/" in every collation SQLite might use here, BINARY).
    for (const f of new Set(folders)) {
      const pages = f === "" ? this.pages(job) : this.pages(job, f + "/", f + "0");
      for (const rows of pages) for (const r of rows) if (keep(r[0], r[1] === 1 ? "dir" : "file")) map.set(r[0], fromRow(r));
    }
    for (const path of single) {
      const e = this.load1(job, path);
      if (e && keep(e.path, e.type)) map.set(e.path, e);
    }
    return map;
  }

  /** load(), with a turn of the event loop every 1 024 rows: connections being opened meanwhile move on. */
  async loadInTurns(job: string): Promise<Map<string, StateEntry>> {
    const map = new Map<string, StateEntry>();
    for (const rows of this.pages(job)) {
      for (let i = 0; i < rows.length; i++) {
        map.set(rows[i][0], fromRow(rows[i]));
        if (i % 1024 === 1023) await new Promise((resolve) => setImmediate(resolve));
      }
    }
    return map;
  }

  /**
   * Pages of raw rows (arrays) rather than iterate() or row objects: one call into SQLite per
   * page, and no row object built only to be copied. 100 000 rows: about 2x faster.
   */
  private *pages(job: string, from = "", below?: string): Generator<RawEntryRow[]> {
    for (let after = from; ; ) {
      const rows = (below === undefined ? this.selectAll.all(job, after) : this.selectRange.all(job, after, below)) as RawEntryRow[];
      yield rows;
      if (rows.length < PAGE) return;
      after = rows[rows.length - 1][0];
    }
  }

  load1(job: string, path: string): StateEntry | undefined {
    const row = this.selectOne.get(job, path) as RawEntryRow | undefined;
    return row ? fromRow(row) : undefined;
  }

  put(job: string, e: StateEntry): void {
    this.upsert.run(this.params(job, e));
  }

  /**
   * put(), except that the placed flags of a row already there stay on when `e` has them off:
   * a file synced again keeps "placed by this job" (one statement, no read of the row first).
   */
  putKeepingPlaced(job: string, e: StateEntry): void {
    this.upsertPlaced.run(this.params(job, e));
  }

  private params(job: string, e: StateEntry): Record<string, string | number | null> {
    return {
      job,
      path: e.path,
      type: e.type,
      localSize: e.localSize,
      localMtimeMs: Math.round(e.localMtimeMs),
      remoteSize: e.remoteSize,
      remoteModifyMs: e.remoteModifyMs ?? null,
      remotePrecision: e.remotePrecision,
      placedRemote: e.placedRemote ? 1 : 0,
      placedLocal: e.placedLocal ? 1 : 0,
      sourceTaken: e.sourceTaken ? 1 : 0,
      syncedAt: Date.now(),
    };
  }

  delete(job: string, path: string): void {
    this.remove.run(job, path);
  }

  /** Several writes in one transaction: far faster than one commit per row. */
  batch(fn: () => void): void {
    this.inTransaction(fn);
  }

  trackedFileCount(job: string): number {
    return (this.countFiles.get(job) as { n: number }).n;
  }
}
