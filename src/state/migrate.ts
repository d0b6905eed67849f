import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type Database from "better-sqlite3";
import { AgentError, ExitCode } from "../errors.js";

/** Shipped beside src/ and dist/, so the same relative URL works from both. */
export const MIGRATIONS_DIR = fileURLToPath(new URL("../../migrations/", import.meta.url));

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

/** Reads `NNN-name.sql` files in version order. */
export function readMigrations(dir = MIGRATIONS_DIR): Migration[] {
  return readdirSync(dir)
    .map((name) => ({ name, match: /^(\d+)-[\w.-]+\.sql$/.exec(name) }))
    .filter((f) => f.match)
    .map((f) => ({ version: Number(f.match![1]), name: f.name, sql: readFileSync(join(dir, f.name), "utf8") }))
    .sort((a, b) => a.version - b.version);
}

export function currentVersion(db: Database.Database): number {
  db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)");
  const row = db.prepare("SELECT MAX(version) AS v FROM schema_version").get() as { v: number | null };
  return row.v ?? 0;
}

/**
 * Applies the migrations the database has not seen, each in its own transaction, and refuses
 * a database written by a newer version of the agent (its schema may mean things we don't know).
 */
export function migrate(db: Database.Database, migrations = readMigrations(), dbPath = "state database"): number {
  const have = currentVersion(db);
  const latest = migrations.at(-1)?.version ?? 0;
  if (have > latest) {
    throw new AgentError(
      `${dbPath} has schema version ${have}, but this ftps-sync only knows up to ${latest}: ` +
        `it was written by a newer ftps-sync. Upgrade ftps-sync, or point stateDir elsewhere.`,
      ExitCode.Usage,
    );
  }
  const record = db.prepare("INSERT INTO schema_version (version, name, applied_at) VALUES (?, ?, ?)");
  const applied = db.prepare("SELECT 1 FROM schema_version WHERE version = ?");
  for (const m of migrations) {
    if (m.version <= have) continue;
    // The write lock first (IMMEDIATE), then the check: two processes opening a new state database
    // at once (the daemon starting while `ftps-sync status` runs) must not both apply a migration.
    db.transaction(() => {
      if (applied.get(m.version)) return;
      db.exec(m.sql);
      record.run(m.version, m.name, Date.now());
    }).immediate();
  }
  return latest;
}
