/**
 * Change detection. Each side is judged only against the signature this job recorded for that
 * same side at the last sync: local clocks and server clocks are never compared here, except by
 * `sameAcrossSides`, the first-sync matching heuristic of one-way jobs.
 */
import type { LocalEntry, RemoteEntry, StateEntry, TimePrecision } from "./types.js";

/** Precisions that carry a comparable time, finest first. */
type TimedPrecision = "ms" | "second" | "minute" | "day";

const UNIT_MS: Record<TimedPrecision, number> = {
  ms: 1,
  second: 1_000,
  minute: 60_000,
  day: 86_400_000,
};

const ORDER: TimedPrecision[] = ["ms", "second", "minute", "day"];

function isTimed(p: TimePrecision): p is TimedPrecision {
  return p in UNIT_MS;
}

/** The coarser of two time precisions, or undefined when either carries no usable time. */
export function coarserPrecision(a: TimePrecision, b: TimePrecision): TimedPrecision | undefined {
  if (!isTimed(a) || !isTimed(b)) return undefined;
  return ORDER[Math.max(ORDER.indexOf(a), ORDER.indexOf(b))];
}

function truncate(ms: number, unit: number): number {
  return Math.floor(ms / unit) * unit;
}

/**
 * Whether two times denote the same moment as far as the coarser precision can tell.
 *
 * Both are truncated to the coarser unit (a LIST line that says "Nov 24 02:00" cannot disagree
 * with an MLSD time of 02:00:41.5). For day precision ("Nov 24 2025", shown for files older than
 * about six months) we also accept the adjacent day: servers print that date in their own time
 * zone, which can be up to UTC-12 / UTC+14, so the printed date is the UTC date, the day before
 * or the day after. A real edit cannot hide behind that tolerance: editing a file makes it
 * recent, and the server then lists it with minute precision and a time far from the old one.
 *
 * Returns false when either precision is "none" or "pending" (no comparable time).
 */
export function sameWithinPrecision(aMs: number, aPrecision: TimePrecision, bMs: number, bPrecision: TimePrecision): boolean {
  const coarser = coarserPrecision(aPrecision, bPrecision);
  if (coarser === undefined) return false;
  const unit = UNIT_MS[coarser];
  const gap = Math.abs(truncate(aMs, unit) - truncate(bMs, unit));
  return coarser === "day" ? gap <= unit : gap === 0;
}

/** A local file's size and modification time, as a scan, a stat or a record gives them. */
export interface LocalVersion {
  size: number;
  mtimeMs: number;
}

/**
 * The same local version of a file: the same size and the same modification time to the
 * millisecond. Times are floored, as the scan records them: a stat gives fractions of a
 * millisecond, which no record keeps. The one definition used wherever a file is checked
 * against what the scan, the state or a partial transfer saw.
 */
export function sameLocalVersion(a: LocalVersion, b: LocalVersion): boolean {
  return a.size === b.size && Math.floor(a.mtimeMs) === Math.floor(b.mtimeMs);
}

/** The local version a state row recorded. */
export function recordedLocalVersion(state: Pick<StateEntry, "localSize" | "localMtimeMs">): LocalVersion {
  return { size: state.localSize, mtimeMs: state.localMtimeMs };
}

/** The local file differs from what we saw at the last sync (type, size or mtime). */
export function localChanged(local: LocalEntry, state: StateEntry): boolean {
  if (local.type !== state.type) return true;
  if (local.type === "dir") return false; // a folder's mtime moves with its contents: not a change of its own
  return !sameLocalVersion(local, recordedLocalVersion(state));
}

/**
 * The remote file differs from what we saw at the last sync.
 * Size always counts. Time counts only when both the stored and the listed time are usable:
 * "pending" (we uploaded and never learned the server's time) and "none" fall back to size.
 */
export function remoteChanged(remote: RemoteEntry, state: StateEntry): boolean {
  if (remote.type !== state.type) return true;
  if (remote.type === "dir") return false;
  if (remote.size !== state.remoteSize) return true;
  if (remote.modifyMs === undefined || state.remoteModifyMs === undefined) return false;
  if (coarserPrecision(remote.precision, state.remotePrecision) === undefined) return false;
  return !sameWithinPrecision(remote.modifyMs, remote.precision, state.remoteModifyMs, state.remotePrecision);
}

/**
 * First-sync heuristic of one-way jobs (no state yet, a file on both sides): same size, and the
 * server's time equals the local mtime within the server's precision. Without a usable remote
 * time we cannot tell, so: not the same. Two-way jobs never rely on it: there, two files are the
 * same only on evidence of their contents (the "compare" action), as an edit may be lost.
 */
export function sameAcrossSides(local: LocalEntry, remote: RemoteEntry): boolean {
  if (local.type !== "file" || remote.type !== "file") return false;
  if (local.size !== remote.size || remote.modifyMs === undefined) return false;
  return sameWithinPrecision(local.mtimeMs, "ms", remote.modifyMs, remote.precision);
}
