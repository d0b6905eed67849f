/** Human-friendly numbers, progress lines and the plan table for terminal output. Pure functions. */

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

export interface ProgressView {
  phase: "listing" | "planning" | "transferring" | "deleting" | "done";
  done: number;
  total: number;
  bytes: number;
  current?: string;
}

/**
 * One line of progress, at most `columns - 1` characters (no control codes; the caller owns
 * the terminal): "transferring [####------]  12/40 files  3.2 MiB  8.0 MiB/s  notes/todo.md".
 */
export function progressLine(p: ProgressView, columns: number, elapsedMs: number): string {
  // A terminal that reports no width (0, e.g. under `script`) gets the classic 80.
  const max = Math.max(20, columns > 0 ? columns : 80) - 1;
  if (p.phase === "listing") return fitLeft("listing both sides...", max);
  if (p.phase === "planning") return fitLeft("planning...", max);
  const rate = humanRate(p.bytes, elapsedMs);
  const head = `${p.phase.padEnd(12)} ${progressBar(p.total > 0 ? p.done / p.total : 1, 22)} ${String(p.done).padStart(String(p.total).length)}/${p.total}`;
  const tail = `  ${humanBytes(p.bytes)}${rate ? `  ${rate}` : ""}`;
  const line = head + tail;
  if (line.length >= max) return line.slice(0, max);
  const room = max - line.length - 2;
  return p.current && room > 3 ? `${line}  ${fitLeft(p.current, room)}` : line;
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
function bytesOf(a: PlanRow): number | undefined {
  if (a.kind === "upload") return a.local?.size;
  if (a.kind === "download") return a.remote?.size;
  if (a.kind === "conflict") return a.resolution === "download" ? a.remote?.size : a.local?.size;
  return undefined;
}

/**
 * The plan as a compact table, one action a line, then a one-line total:
 *   upload         notes/todo.md        1.2 KiB  changed on local since last sync
 *   delete remote  old/draft.txt                 deleted on local; delete=tracked
 *   3 to upload (4.1 KiB), 2 to delete remotely
 * "adopt" (already in sync) and "forget" (bookkeeping) are not shown.
 */
export function planTable(plan: readonly PlanRow[], columns = 120): string {
  const shown = plan.filter((a) => a.kind !== "adopt" && a.kind !== "forget");
  if (shown.length === 0) return "nothing to do: both sides agree\n";
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

  const count = (k: string) => shown.filter((a) => a.kind === k).length;
  const bytes = (k: string) => shown.filter((a) => a.kind === k).reduce((n, a) => n + (bytesOf(a) ?? 0), 0);
  const parts = [
    count("upload") && `${count("upload")} to upload (${humanBytes(bytes("upload"))})`,
    count("download") && `${count("download")} to download (${humanBytes(bytes("download"))})`,
    count("conflict") && `${count("conflict")} conflict(s)`,
    count("compare") && `${count("compare")} to compare`,
    count("delete-remote") && `${count("delete-remote")} to delete on the server`,
    count("delete-local") && `${count("delete-local")} to delete locally`,
    count("mkdir-remote") + count("mkdir-local") && `${count("mkdir-remote") + count("mkdir-local")} folder(s) to create`,
    count("held-delete") && `${count("held-delete")} deletion(s) held back`,
    count("needs-user") && `${count("needs-user")} path(s) for you to settle`,
  ].filter(Boolean);
  return lines.join("\n") + `\n${shown.length} action(s): ${parts.join(", ")}\n`;
}
