import { mkdirSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { migrate } from "./migrate.js";

export type Db = Database.Database;

export const STATE_DB_NAME = "ftps-sync.db";

/** Opens (creating if needed) the state database in `stateDir`, in WAL mode, migrated. */
export function openStateDb(stateDir: string): Db {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const path = join(stateDir, STATE_DB_NAME);
  const db = new Database(path);
  // First: switching a new database to WAL takes a lock another process may hold for a moment.
  db.pragma("busy_timeout = 5000");
  db.pragma("journal_mode = WAL");
  // NORMAL in WAL mode survives a process crash; only a power loss may lose the last commits.
  db.pragma("synchronous = NORMAL");
  db.pragma("foreign_keys = ON");
  try {
    migrate(db, undefined, path);
  } catch (err) {
    db.close();
    throw err;
  }
  return db;
}

/**
 * A store's statement cache: each SQL text compiled on its first use, then reused (compiling a
 * statement costs more than running most of ours, and most commands never run some of them).
 */
export function statementCache(db: Db): (sql: string) => Database.Statement {
  const cache = new Map<string, Database.Statement>();
  return (sql) => {
    let st = cache.get(sql);
    if (!st) cache.set(sql, (st = db.prepare(sql)));
    return st;
  };
}
