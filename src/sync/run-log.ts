/**
 * The log lines that say what a run did: one per file at info ("uploaded a.txt (4 KiB, 12 ms)"),
 * so that the log answers "what did we send?", and one summary per run with its counts and
 * duration. Both carry their data as fields (`event`, counts, `durationMs`) for JSON lines; the
 * human format shows the message only. The daemon and the CLI log them alike.
 */
import { countsSentence, finishedFileText, humanDuration, type FinishedFile } from "../human-units.js";
import type { Logger } from "../log.js";
import type { Action } from "../plan/types.js";
import type { RunSummary } from "./run-job.js";

const DONE_WORDS: Record<string, string> = {
  upload: "uploaded",
  download: "downloaded",
  "delete-remote": "deleted on the server",
  "delete-local": "deleted locally",
  "mkdir-remote": "created the folder on the server",
  "mkdir-local": "created the folder locally",
  compare: "compared",
};

/** A file done, in words and numbers: what was done, and the bytes it moved (transfers only). */
export function finishedFile(a: Action, ms: number): FinishedFile {
  if (a.kind === "conflict") {
    const bytes = a.resolution === "download" ? a.remote?.size : a.resolution === "keep-both" ? undefined : a.local?.size;
    return { what: `settled the conflict (${a.resolution}) of`, path: a.path, bytes, ms };
  }
  const bytes = a.kind === "upload" ? a.local.size : a.kind === "download" ? a.remote.size : undefined;
  return { what: DONE_WORDS[a.kind] ?? a.kind, path: a.path, bytes, ms };
}

export function logFileDone(logger: Logger, a: Action, f: FinishedFile): void {
  // Not even worded when no transport takes info (-q): once per file.
  if (!logger.isLevelEnabled("info")) return;
  logger.info(finishedFileText(f), { event: "file", action: a.kind, path: f.path, ...(f.bytes !== undefined ? { bytes: f.bytes } : {}), durationMs: Math.round(f.ms) });
}

/**
 * The run's summary line: info when it went well; error when it failed or a guard stopped it; warn
 * for a run stopped on purpose (shutdown), which is no error.
 */
export function logRunSummary(logger: Logger, s: RunSummary, stopped: boolean): void {
  const took = humanDuration(s.durationMs);
  const fields = {
    event: "run", status: s.status, dryRun: s.dryRun,
    uploaded: s.uploaded, downloaded: s.downloaded, deletedLocal: s.deletedLocal, deletedRemote: s.deletedRemote,
    conflicts: s.conflicts, failed: s.failed, bytes: s.bytes, deferred: s.deferred, skippedDeletes: s.skippedDeletes,
    errors: s.errors.length, durationMs: s.durationMs,
  };
  const message = s.dryRun
    ? `plan ${s.status}: ${s.plan.filter((a) => a.kind !== "adopt" && a.kind !== "forget").length} action(s) planned, nothing changed, in ${took}`
    : `run ${stopped && s.status !== "ok" ? "stopped" : s.status}: ${countsSentence(s)} in ${took}`;
  const level = s.status === "ok" ? "info" : stopped ? "warn" : "error";
  logger.log(level, message, fields);
}
