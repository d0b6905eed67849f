/**
 * The job's filters on a file's time and size (minAge, maxFileAge, minSize, maxSize). Unlike
 * include/exclude, which decide from the path before anything is listed, these look at the file on
 * each side: a file that either side's version fails is held back, neither transferred nor deleted
 * (on either side), and its state row is left as it is. Pure: `now` is the caller's.
 */
import type { JobConfig } from "../config/types.js";
import type { LocalEntry, RemoteEntry, TimePrecision } from "./types.js";

export type FileFilterPolicy = Pick<JobConfig, "minAgeMs" | "maxFileAgeMs" | "minSize" | "maxSize">;

export interface HeldByFilters {
  /** Paths of files the filters hold back this run. */
  paths: Set<string>;
  /** Of those, the ones only too young (minAge): they become due with time alone, with nothing changed on either side. */
  tooYoung: number;
  /** In how many milliseconds the first of those is old enough, when any is. */
  dueInMs?: number;
}

/** How much later than its listed time a remote file may have been written (a LIST time has no seconds). */
const PRECISION_MS: Record<TimePrecision, number> = { ms: 0, second: 999, minute: 59_999, day: 86_399_999, none: 0, pending: 0 };

export function hasFileFilters(p: FileFilterPolicy): boolean {
  return p.minAgeMs !== undefined || p.maxFileAgeMs !== undefined || p.minSize !== undefined || p.maxSize !== undefined;
}

type Verdict = "pass" | "size" | "too-young" | "too-old";

/** Every verdict of one path, and when it stops being too young (the latest of its sides). */
interface Judged {
  verdict: Verdict;
  dueAt?: number;
}

function bySize(p: FileFilterPolicy, size: number): Verdict {
  return (p.minSize !== undefined && size < p.minSize) || (p.maxSize !== undefined && size > p.maxSize) ? "size" : "pass";
}

/**
 * By age: `newest` is the latest the file may have been written, `oldest` the earliest (they differ
 * by the listing's precision). A file is too young while it may have been written within minAge,
 * too old once it was surely written before maxFileAge.
 */
function byAge(p: FileFilterPolicy, now: number, newest: number, oldest: number): Verdict {
  if (p.minAgeMs !== undefined && now - newest < p.minAgeMs) return "too-young";
  if (p.maxFileAgeMs !== undefined && now - oldest > p.maxFileAgeMs) return "too-old";
  return "pass";
}

function judgeLocal(p: FileFilterPolicy, l: LocalEntry, now: number): Verdict {
  const size = bySize(p, l.size);
  return size !== "pass" ? size : byAge(p, now, l.mtimeMs, l.mtimeMs);
}

/** The latest a remote file may have been written, in UTC (its listed time to the end of its precision). */
function newestRemote(r: RemoteEntry, remoteClockMs: number): number {
  return (r.modifyMs ?? 0) - remoteClockMs + PRECISION_MS[r.precision];
}

/** A remote file without a usable time is judged by its size alone: its age cannot be known. */
function judgeRemote(p: FileFilterPolicy, r: RemoteEntry, now: number, remoteClockMs: number): Verdict {
  const size = bySize(p, r.size);
  if (size !== "pass" || r.modifyMs === undefined || r.precision === "none" || r.precision === "pending") return size;
  return byAge(p, now, newestRemote(r, remoteClockMs), r.modifyMs - remoteClockMs);
}

/** The files the filters hold back: a path is held when its version on either side fails them. */
export function heldByFilters(
  p: FileFilterPolicy,
  local: Map<string, LocalEntry>,
  remote: Map<string, RemoteEntry>,
  now: Date,
  remoteClockMs = 0,
): HeldByFilters {
  const held: HeldByFilters = { paths: new Set(), tooYoung: 0 };
  if (!hasFileFilters(p)) return held;
  const nowMs = now.getTime();
  const judged = new Map<string, Judged>();
  const note = (path: string, v: Verdict, newest: number) => {
    if (v === "pass") return;
    // "too-young" only when nothing else holds it: a file also too big stays held whatever its age.
    const before = judged.get(path);
    const verdict = before === undefined || before.verdict === "too-young" ? v : before.verdict;
    const dueAt = v === "too-young" ? Math.max(before?.dueAt ?? 0, newest + p.minAgeMs!) : before?.dueAt;
    judged.set(path, { verdict, dueAt });
  };
  for (const [path, l] of local) if (l.type === "file") note(path, judgeLocal(p, l, nowMs), l.mtimeMs);
  for (const [path, r] of remote) if (r.type === "file") note(path, judgeRemote(p, r, nowMs, remoteClockMs), newestRemote(r, remoteClockMs));
  for (const [path, j] of judged) {
    held.paths.add(path);
    if (j.verdict !== "too-young") continue;
    held.tooYoung++;
    const due = j.dueAt! - nowMs;
    held.dueInMs = Math.min(held.dueInMs ?? due, due);
  }
  return held;
}
