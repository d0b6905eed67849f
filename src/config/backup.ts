/**
 * The job's "backup" key: where the versions of overwritten and deleted files are kept (a folder
 * relative to each side's job root) and how long (an age such as "30d", or a number of runs).
 * The parsers throw RangeError, which the schema turns into a field error.
 */
import { parseDuration } from "./duration.js";

export type BackupKeep = { kind: "age"; ms: number } | { kind: "runs"; count: number };

export interface BackupConfig {
  /** A folder name (NFC) in the job's root on each side. */
  dir: string;
  keep: BackupKeep;
}

/**
 * A folder name in the job's root on each side: ".versions". One name, not a path: a folder on the
 * way to it would be an ordinary folder of the job, which a mirror job could try to delete.
 */
export function parseBackupDir(text: string): string {
  if (/[\r\n\0\\]/.test(text)) throw new RangeError("must not contain a backslash, CR, LF or NUL character");
  const name = text.normalize("NFC").replace(/^\.\/+/, "").replace(/\/+$/, "");
  if (name === "" || name === "." || name === "..") throw new RangeError('must name a folder, such as ".versions"');
  if (name.includes("/")) throw new RangeError('must be a folder name in the job\'s root, such as ".versions" (no "/")');
  return name;
}

/** "30d" (versions younger than that are kept) or a whole number of runs whose versions are kept. */
export function parseBackupKeep(value: number | string): BackupKeep {
  if (typeof value === "number") {
    if (!Number.isInteger(value) || value < 1) throw new RangeError('must be a whole number of runs ≥ 1, or an age such as "30d"');
    return { kind: "runs", count: value };
  }
  const ms = parseDuration(value);
  if (ms <= 0) throw new RangeError("an age must be longer than 0");
  return { kind: "age", ms };
}
