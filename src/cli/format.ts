/** Human-friendly numbers, progress lines and the plan table for terminal output. Pure functions. */

import { finishedFileText, humanBytes, humanDuration, type FinishedFile } from "../human-units.js";

// The units and the words of a run live in src/human-units.ts (the log words them too); re-exported for the CLI.
export { countsSentence, finishedFileText, humanBytes, humanDuration, type FinishedFile, type RunCountsView } from "../human-units.js";
import type { Progress } from "../sync/run-job.js";

/** Bytes per second, "12 MiB/s"; empty until there is something meaningful to say. */
export function humanRate(bytes: number, ms: number): string {
  if (ms < 250 || bytes === 0) return "";
  return `${humanBytes(Math.round((bytes * 1000) / ms))}/s`;
}

/** "[#######-------]" for a fraction from 0 to 1 (ASCII: safe in every terminal and log). */
export function progressBar(fraction: number, width: number): string {
  const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
  const inner = Math.max(1, width - 2);
  const full = Math.round(f * inner);
  return `[${"#".repeat(full)}${"-".repeat(inner - full)}]`;
}

/** Cuts a path from the left so its end (the file name) stays visible: "…/deep/file.txt". */
export function fitLeft(text: string, width: number): string {
  if (width <= 0) return "";
  if (text.length <= width) return text;
  if (width === 1) return "…";
  return "…" + text.slice(text.length - width + 1);
}

/** What a progress line shows: a run's progress as it reports it. */
export type ProgressView = Omit<Progress, "finished">;

/** "ETA 3 min 2 s" from the rate so far; empty until the rate means something. */
export function humanEta(bytesDone: number, bytesTotal: number, elapsedMs: number): string {
  if (elapsedMs < 1000 || bytesDone <= 0 || bytesTotal <= bytesDone) return "";
  const leftMs = ((bytesTotal - bytesDone) * elapsedMs) / bytesDone;
  return `ETA ${humanDuration(Math.max(1000, Math.round(leftMs / 1000) * 1000))}`;
}

/**
 * One line of progress, at most `columns - 1` characters (no control codes; the caller owns
 * the terminal): "transferring [####------]  12/40 files  3.2 MiB  8.0 MiB/s  notes/todo.md";
 * with the plan's total bytes: "... 12/40  1.2 GiB of 3.0 GiB  8.0 MiB/s  ETA 4 min 0 s  big.iso"
 * (the bar then follows the bytes, so one big file moves it). `elapsedMs` is the time since the
 * transfers began (the rate and ETA come from it).
 */
export function progressLine(p: ProgressView, columns: number, elapsedMs: number): string {
  // A terminal that reports no width (0, e.g. under `script`) gets the classic 80.
  const max = Math.max(20, columns > 0 ? columns : 80) - 1;
  if (p.phase === "listing") return fitLeft("listing both sides...", max);
  if (p.phase === "planning") return fitLeft("planning...", max);
  const rate = humanRate(p.bytes, elapsedMs);
  const byBytes = p.totalBytes !== undefined && p.totalBytes > 0 && p.phase === "transferring";
  const fraction = byBytes ? p.bytes / p.totalBytes! : p.total > 0 ? p.done / p.total : 1;
  const head = `${p.phase.padEnd(12)} ${progressBar(fraction, 22)} ${String(p.done).padStart(String(p.total).length)}/${p.total}`;
  const bytes = byBytes ? `${humanBytes(p.bytes)} of ${humanBytes(p.totalBytes!)}` : humanBytes(p.bytes);
  const eta = byBytes ? humanEta(p.bytes, p.totalBytes!, elapsedMs) : "";
  const tail = `  ${bytes}${rate ? `  ${rate}` : ""}${eta ? `  ${eta}` : ""}`;
  const line = head + tail;
  if (line.length >= max) return line.slice(0, max);
  const room = max - line.length - 2;
  return p.current && room > 3 ? `${line}  ${fitLeft(p.current, room)}` : line;
}

/** A line of `--progress plain`: one per file, no control codes (a log or a pipe reads it). */
export function plainProgressLine(f: FinishedFile, done: number, total: number): string {
  // A hostile name could hold control characters: shown escaped, never sent to the terminal.
  // eslint-disable-next-line no-control-regex
  return `[${done}/${total}] ${finishedFileText(f)}`.replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

// --- plan table ---------------------------------------------------------------------------------

/** The fields of a plan action this table shows (src/plan/types.ts Action fits). */
export interface PlanRow {
  kind: string;
  path: string;
  reason: string;
  local?: { size: number; type?: string };
  remote?: { size: number; type?: string };
  resolution?: string;
  conflictName?: string;
  /** compare: the conflict it becomes when the contents differ. */
  ifDifferent?: { resolution?: string; conflictName?: string };
}

const KIND_LABEL: Record<string, string> = {
  "mkdir-remote": "mkdir remote",
  "mkdir-local": "mkdir local",
  upload: "upload",
  download: "download",
  "delete-local": "delete local",
  "delete-remote": "delete remote",
  conflict: "conflict",
  compare: "compare",
  "held-delete": "kept",
  "needs-user": "needs you",
};

const resolutionText = (r: { resolution?: string; conflictName?: string }) =>
  `${r.resolution}${r.conflictName ? ` (remote copy kept as ${r.conflictName})` : ""}`;

function whyOf(a: PlanRow): string {
  if (a.kind === "conflict") return `${a.reason} -> ${resolutionText(a)}`;
  if (a.kind === "compare" && a.ifDifferent) return `${a.reason}; if they differ -> ${resolutionText(a.ifDifferent)}`;
  return a.reason;
}

/** Bytes an action moves: uploads send the local file, downloads fetch the remote one. */
export function bytesOf(a: PlanRow): number | undefined {
  if (a.kind === "upload") return a.local?.size;
  if (a.kind === "download") return a.remote?.size;
  if (a.kind === "conflict") return a.resolution === "download" ? a.remote?.size : a.local?.size;
  return undefined;
}

/** What a plan would do, counted as the table and `plan --json` show it. */
export interface PlanTotals {
  /** Actions shown (adopt and forget, bookkeeping only, are not). */
  actions: number;
  upload: { files: number; bytes: number };
  download: { files: number; bytes: number };
  conflicts: number;
  compare: number;
  deleteRemote: number;
  deleteLocal: number;
  mkdir: number;
  heldDeletes: number;
  needsUser: number;
}

const shownOf = (plan: readonly PlanRow[]) => plan.filter((a) => a.kind !== "adopt" && a.kind !== "forget");

export function planTotals(plan: readonly PlanRow[]): PlanTotals {
  const shown = shownOf(plan);
  const count = (k: string) => shown.filter((a) => a.kind === k).length;
  const bytes = (k: string) => shown.filter((a) => a.kind === k).reduce((n, a) => n + (bytesOf(a) ?? 0), 0);
  return {
    actions: shown.length,
    upload: { files: count("upload"), bytes: bytes("upload") },
    download: { files: count("download"), bytes: bytes("download") },
    conflicts: count("conflict"),
    compare: count("compare"),
    deleteRemote: count("delete-remote"),
    deleteLocal: count("delete-local"),
    mkdir: count("mkdir-remote") + count("mkdir-local"),
    heldDeletes: count("held-delete"),
    needsUser: count("needs-user"),
  };
}

const several = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * What a plan would do, in words: "would upload 3 files (1.2 MiB), delete 1 on the server; 1
 * deletion held back". "nothing to do: both sides agree" when it would do nothing.
 */
export function planSentence(t: PlanTotals): string {
  const does = [
    t.upload.files && `upload ${several(t.upload.files, "file")} (${humanBytes(t.upload.bytes)})`,
    t.download.files && `download ${several(t.download.files, "file")} (${humanBytes(t.download.bytes)})`,
    t.conflicts && `settle ${several(t.conflicts, "conflict")}`,
    t.compare && `compare ${several(t.compare, "file")}`,
    t.deleteRemote && `delete ${t.deleteRemote} on the server`,
    t.deleteLocal && `delete ${t.deleteLocal} locally`,
    t.mkdir && `create ${several(t.mkdir, "folder")}`,
  ].filter(Boolean);
  const reports = [
    t.heldDeletes && `${several(t.heldDeletes, "deletion")} held back by the delete policy`,
    t.needsUser && `${several(t.needsUser, "path")} for you to settle`,
  ].filter(Boolean);
  if (does.length === 0 && reports.length === 0) return "nothing to do: both sides agree";
  return [does.length ? `would ${does.join(", ")}` : "nothing to carry out", ...reports].join("; ");
}

/**
 * The plan as a compact table, one action a line, then a one-line total:
 *   upload         notes/todo.md        1.2 KiB  changed on local since last sync
 *   delete remote  old/draft.txt                 deleted on local; delete=tracked
 *   3 to upload (4.1 KiB), 2 to delete remotely
 * "adopt" (already in sync) and "forget" (bookkeeping) are not shown. `totals: false` leaves out
 * the last line (and prints nothing for an empty plan) for a caller that words the totals itself.
 */
export function planTable(plan: readonly PlanRow[], columns = 120, opts: { totals?: boolean } = {}): string {
  const shown = shownOf(plan);
  const withTotals = opts.totals ?? true;
  if (shown.length === 0) return withTotals ? "nothing to do: both sides agree\n" : "";
  const label = (a: PlanRow) => KIND_LABEL[a.kind] ?? a.kind;
  const size = (a: PlanRow) => {
    const b = bytesOf(a);
    return b === undefined ? "" : humanBytes(b);
  };
  const kindW = Math.max(...shown.map((a) => label(a).length));
  const sizeW = Math.max(...shown.map((a) => size(a).length));
  const pathW = Math.min(Math.max(...shown.map((a) => a.path.length)), Math.max(24, Math.floor(columns / 2)));
  const lines = shown.map((a) => {
    const why = whyOf(a);
    const path = a.path.length > pathW ? fitLeft(a.path, pathW) : a.path.padEnd(pathW);
    return `${label(a).padEnd(kindW)}  ${path}  ${size(a).padStart(sizeW)}  ${why}`.trimEnd();
  });

  if (!withTotals) return lines.join("\n") + "\n";
  const t = planTotals(plan);
  const parts = [
    t.upload.files && `${t.upload.files} to upload (${humanBytes(t.upload.bytes)})`,
    t.download.files && `${t.download.files} to download (${humanBytes(t.download.bytes)})`,
    t.conflicts && `${t.conflicts} conflict(s)`,
    t.compare && `${t.compare} to compare`,
    t.deleteRemote && `${t.deleteRemote} to delete on the server`,
    t.deleteLocal && `${t.deleteLocal} to delete locally`,
    t.mkdir && `${t.mkdir} folder(s) to create`,
    t.heldDeletes && `${t.heldDeletes} deletion(s) held back`,
    t.needsUser && `${t.needsUser} path(s) for you to settle`,
  ].filter(Boolean);
  return lines.join("\n") + `\n${shown.length} action(s): ${parts.join(", ")}\n`;
}
