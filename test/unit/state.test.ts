import { mkdtempSync, rmSync, writeFileSync, mkdirSync, cpSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { STATE_DB_NAME } from "../../src/state/db.js";
import { openState } from "../../src/state/index.js";
import { MIGRATIONS_DIR, migrate, readMigrations } from "../../src/state/migrate.js";
import type { StateEntry } from "../../src/plan/types.js";
import { prng } from "../helpers/prng.js";

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), "ftps-sync-state-"));
  dirs.push(d);
  return d;
};
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
// The state store does not hand out its database: a test that must look at the file or write
// to it as another writer would opens its own connection.
const rawDb = (stateDir: string) => new Database(join(stateDir, STATE_DB_NAME));

describe("state store", () => {
  it("creates the database in WAL mode with every migration recorded", () => {
    const dir = tmp();
    const s = openState(dir);
    const db = rawDb(dir);
    expect(db.pragma("journal_mode", { simple: true })).toBe("wal");
    const versions = (db.prepare("SELECT version FROM schema_version ORDER BY version").all() as { version: number }[]).map((r) => r.version);
    expect(versions).toEqual(readMigrations().map((m) => m.version));
    db.close();
    s.close();
  });

  it("reopens an existing database without applying migrations twice", () => {
    const dir = tmp();
    openState(dir).close();
    const s = openState(dir);
    const db = rawDb(dir);
    const n = (db.prepare("SELECT COUNT(*) AS n FROM schema_version").get() as { n: number }).n;
    expect(n).toBe(readMigrations().length);
    db.close();
    s.close();
  });

  it("skips a migration another process applied after this one read the version (two processes opening a new database at once)", () => {
    const path = join(tmp(), "race.db");
    const a = new Database(path);
    const b = new Database(path);
    const all = readMigrations();
    // B has read the version (none yet) when A applies everything: B's walk over the migrations
    // starts only after that.
    const raced = Object.assign([...all], {
      *[Symbol.iterator]() {
        migrate(a, all);
        yield* all;
      },
    });
    expect(() => migrate(b, raced)).not.toThrow();
    const versions = b.prepare("SELECT version FROM schema_version ORDER BY version").all() as { version: number }[];
    expect(versions.map((v) => v.version)).toEqual(all.map((m) => m.version));
    a.close();
    b.close();
  });

  it("keeps a segmented download's ranges with its partial row, and nothing for other transfers", () => {
    const s = openState(tmp());
    const base = { job: "j", direction: "download" as const, tempPath: "/t/.part", sourceSize: 90, sourceMtime: 5, startedAt: 1 };
    s.partials.begin({ ...base, path: "big", ranges: [[0, 30], [30, 60], [60, 90]] });
    s.partials.begin({ ...base, path: "small" });
    s.partials.saveRanges("j", "big", [[12, 30], [30, 60], [70, 90]]);
    expect(s.partials.get("j", "big", "download")?.ranges).toEqual([[12, 30], [30, 60], [70, 90]]);
    expect(s.partials.get("j", "small", "download")).toEqual({ ...base, path: "small" });
    // started again: the new row's ranges replace the old ones
    s.partials.begin({ ...base, path: "big", ranges: [[0, 45], [45, 90]] });
    expect(s.partials.get("j", "big", "download")?.ranges).toEqual([[0, 45], [45, 90]]);
    s.close();
  });

  it("putKeepingPlaced writes a row as put does, except that the placed flags of a row already there only ever turn on", () => {
    const s = openState(tmp());
    const row: StateEntry = { path: "a.txt", type: "file", localSize: 1, localMtimeMs: 1000, remoteSize: 1, remoteModifyMs: 2000, remotePrecision: "second", placedRemote: true, placedLocal: false };
    s.entries.putKeepingPlaced("j", row);
    expect(s.entries.load1("j", "a.txt")).toEqual(row);
    // Synced again by a download: placed locally now, and still placed on the server.
    const again = { ...row, localSize: 2, remoteSize: 2, remoteModifyMs: 3000, placedRemote: false, placedLocal: true, sourceTaken: true };
    s.entries.putKeepingPlaced("j", again);
    expect(s.entries.load1("j", "a.txt")).toEqual({ ...again, placedRemote: true });
    // put() still writes the flags as given.
    s.entries.put("j", { ...row, placedRemote: false });
    expect(s.entries.load1("j", "a.txt")).toEqual({ ...row, placedRemote: false });
    s.close();
  });

  it("refuses a database written by a newer version, with a clear message", () => {
    const dir = tmp();
    openState(dir).close();
    const db = new Database(join(dir, "ftps-sync.db"));
    db.prepare("INSERT INTO schema_version (version, name, applied_at) VALUES (999, '999-future.sql', 0)").run();
    db.close();
    expect(() => openState(dir)).toThrow(/schema version 999.*newer ftps-sync/);
  });

  it("applies each migration in its own transaction: a failing one leaves the earlier ones applied and itself not recorded", () => {
    const mdir = tmp();
    cpSync(join(MIGRATIONS_DIR, "001-init.sql"), join(mdir, "001-init.sql"));
    writeFileSync(join(mdir, "002-broken.sql"), "CREATE TABLE ok_table (x INTEGER); THIS IS NOT SQL;");
    const db = new Database(":memory:");
    expect(() => migrate(db, readMigrations(mdir))).toThrow();
    const versions = (db.prepare("SELECT version FROM schema_version").all() as { version: number }[]).map((r) => r.version);
    expect(versions).toEqual([1]);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'ok_table'").get()).toBeUndefined();
  });

  it("round-trips entries over several pages: odd paths, folders, every precision, no server time", async () => {
    const s = openState(tmp());
    const rnd = prng(11);
    const names = ["plain.txt", "with space.txt", "  lead and trail  ", "tab\there", "naïve café.txt", "emoji 😀 x", "a b c d e f g h", "-1 - 2", "日本語/ファイル"];
    const precisions: StateEntry["remotePrecision"][] = ["ms", "second", "minute", "day", "none", "pending"];
    const written = new Map<string, StateEntry>();
    s.entries.batch(() => {
      for (let i = 0; i < 20_000; i++) {
        const path = `d${i % 37}/${names[i % names.length]}.${i}`;
        const e: StateEntry = {
          path, type: i % 11 === 0 ? "dir" : "file", localSize: Math.floor(rnd() * 1e12), localMtimeMs: Math.floor((rnd() - 0.1) * 2e12),
          remoteSize: Math.floor(rnd() * 1e9), remoteModifyMs: i % 3 === 0 ? undefined : Math.floor(rnd() * 2e12),
          remotePrecision: precisions[i % precisions.length], placedRemote: i % 2 === 0, placedLocal: i % 5 === 0,
        };
        written.set(path, e);
        s.entries.put("j", e);
      }
    });
    s.entries.put("other", { ...written.values().next().value!, path: "not this job" });
    const loaded = s.entries.load("j");
    expect(loaded).toEqual(written);
    // In turns (the event loop runs between slices of rows), with the same result and order.
    let turns = 0;
    const ticking = setInterval(() => turns++, 0);
    const inTurns = await s.entries.loadInTurns("j");
    clearInterval(ticking);
    expect([...inTurns]).toEqual([...loaded]);
    expect(turns).toBeGreaterThan(0);
    for (const e of [...written.values()].slice(0, 50)) expect(s.entries.load1("j", e.path)).toEqual(e);
    s.close();
  });

  it("counts every write to a job's entries (insert, update, delete), job by job, and keeps a scan fingerprint only for its generation", () => {
    const dir = tmp();
    const s = openState(dir);
    const e = (path: string, localSize = 1): StateEntry => ({ path, type: "file", localSize, localMtimeMs: 2, remoteSize: 1, remotePrecision: "ms", remoteModifyMs: 3, placedRemote: true, placedLocal: false });
    const gen = (job: string) => s.unchangedScans.generation(job);
    expect(gen("j")).toBe(0);
    s.entries.put("j", e("a"));
    expect(gen("j")).toBe(1);
    s.unchangedScans.remember("j", gen("j"), "fp-1");
    expect(s.unchangedScans.current("j")?.fingerprint).toBe("fp-1");
    s.entries.put("other", e("a"));
    expect(gen("other")).toBe(1);
    expect(s.unchangedScans.current("j")?.fingerprint).toBe("fp-1"); // another job's writes do not count
    s.entries.put("j", e("a", 5)); // update (upsert)
    expect(gen("j")).toBe(2);
    expect(s.unchangedScans.current("j")).toBeUndefined();
    s.unchangedScans.remember("j", gen("j"), "fp-2");
    s.entries.delete("j", "a");
    expect(gen("j")).toBe(3);
    expect(s.unchangedScans.current("j")).toBeUndefined();
    s.unchangedScans.remember("j", gen("j"), "fp-3");
    const db = rawDb(dir);
    db.prepare("DELETE FROM entries WHERE job = ?").run("other"); // any writer, not only EntryStore
    db.prepare("UPDATE entries SET local_size = 9 WHERE job = ?").run("j"); // no rows left: no write
    db.close();
    expect(gen("other")).toBe(2);
    expect(s.unchangedScans.current("j")?.fingerprint).toBe("fp-3");
    s.unchangedScans.forget("j");
    expect(s.unchangedScans.current("j")).toBeUndefined();
    // A listing run's memo keeps its STAT reply estimates; a trusted run's has none.
    const estimates = new Map([["", 400], ["a b/ç", 12_345]]);
    s.unchangedScans.remember("j", gen("j"), "fp-4", estimates);
    expect(s.unchangedScans.current("j")).toEqual({ fingerprint: "fp-4", statEstimates: estimates });
    s.unchangedScans.remember("j", gen("j"), "fp-5");
    expect(s.unchangedScans.current("j")).toEqual({ fingerprint: "fp-5", statEstimates: undefined });
    s.close();
  });

  it("round-trips entries, runs and capabilities", () => {
    const s = openState(tmp());
    s.entries.put("j", { path: "a/b.txt", type: "file", localSize: 3, localMtimeMs: 1700000000123, remoteSize: 3, remotePrecision: "pending", placedRemote: true, placedLocal: false });
    expect(s.entries.load("j").get("a/b.txt")).toMatchObject({ localSize: 3, localMtimeMs: 1700000000123, remotePrecision: "pending", placedRemote: true, remoteModifyMs: undefined });
    expect(s.entries.trackedFileCount("j")).toBe(1);
    expect(s.entries.load("other").size).toBe(0);
    const id = s.runs.start("j", "cli", false);
    s.runs.finish(id, "ok", { uploaded: 1, downloaded: 0, deletedLocal: 0, deletedRemote: 0, conflicts: 0, failed: 0, bytes: 3 });
    expect(s.runs.last("j")).toMatchObject({ status: "ok", uploaded: 1, bytes: 3 });
    s.capabilities.save({ remote: "r", host: "h", port: 21, features: { MLST: "type*;" }, probedAt: 1 });
    expect(s.capabilities.get("r")?.features).toEqual({ MLST: "type*;" });
    s.close();
  });

  it("marks runs of dead processes interrupted", () => {
    const s = openState(tmp());
    s.runs.start("j", "cli", false);
    expect(s.runs.markInterrupted(() => false)).toEqual(["j"]);
    expect(s.runs.last("j")?.status).toBe("interrupted");
    s.close();
  });

  it("records a run cut short by shutdown as interrupted: this process's last real run of the job, when it failed or is still running", () => {
    const s = openState(tmp());
    const zero = { uploaded: 0, downloaded: 0, deletedLocal: 0, deletedRemote: 0, conflicts: 0, failed: 0, bytes: 0 };
    const ok = s.runs.start("j", "cli", false);
    s.runs.finish(ok, "ok", zero);
    s.runs.markShutdownInterrupted("j");
    expect(s.runs.last("j")?.status).toBe("ok"); // a finished run stays as it ended
    const failed = s.runs.start("j", "watch", false);
    s.runs.finish(failed, "failed", zero, "cut");
    const endedAt = s.runs.last("j")?.endedAt;
    s.runs.start("j", "dry", true); // a dry run is not the one cut short
    s.runs.start("other", "watch", false);
    s.runs.markShutdownInterrupted("j", process.pid + 1); // another process's: not ours
    expect(s.runs.last("j")?.status).toBe("failed");
    s.runs.markShutdownInterrupted("j", process.pid, (endedAt ?? 0) + 1000);
    expect(s.runs.last("j")).toMatchObject({ id: failed, status: "interrupted", endedAt });
    s.runs.markShutdownInterrupted("other", process.pid, 42);
    expect(s.runs.last("other")).toMatchObject({ status: "interrupted", endedAt: 42 });
    s.close();
  });
});
