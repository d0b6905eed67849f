/** Sizes, durations and the words of a run's counts and finished files: shared by the CLI and the log. Pure functions. */
import type { RunCounts } from "./state/runs.js";

export function humanBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

export function humanDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const totalS = Math.round(s);
  if (totalS < 3600) return `${Math.floor(totalS / 60)} min ${totalS % 60} s`;
  const h = Math.floor(totalS / 3600);
  return `${h} h ${Math.floor((totalS % 3600) / 60)} min`;
}

/** A file finished, as `--progress plain` prints it: "[3/40] uploaded notes/todo.md (1.2 KiB, 12 ms)". */
export interface FinishedFile {
  /** What was done: "uploaded", "downloaded", "deleted remote", "failed upload"... */
  what: string;
  path: string;
  bytes?: number;
  ms: number;
}

/** The words of a finished file, shared by the log's per-file line and `--progress plain`. */
export function finishedFileText(f: FinishedFile): string {
  const size = f.bytes !== undefined ? `${humanBytes(f.bytes)}, ` : "";
  return `${f.what} ${f.path} (${size}${humanDuration(f.ms)})`;
}

/** Counts of a run, worded the same by the CLI's summary and the log's summary line (daemon and CLI alike). */
export type RunCountsView = RunCounts;

export function countsSentence(s: RunCountsView): string {
  return (
    `uploaded ${s.uploaded}, downloaded ${s.downloaded}, deleted local ${s.deletedLocal}, deleted remote ${s.deletedRemote}, ` +
    `conflicts ${s.conflicts}, failed ${s.failed}, ${humanBytes(s.bytes)}`
  );
}
