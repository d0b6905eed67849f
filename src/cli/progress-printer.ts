/**
 * What `sync` shows of a run as it goes (`--progress`), on stderr (stdout is the command's output):
 * - tty: one line redrawn in place, at most five times a second: files and bytes done of the
 *   total, rate, ETA and the file in flight (format.ts progressLine);
 * - plain: one line per file done, nothing redrawn (a log, a pipe, CI);
 * - none: nothing. "auto" (the default) is tty on a terminal and none elsewhere: nothing is
 *   printed off a terminal unless asked for.
 */
import type { Progress } from "../sync/run-job.js";
import { plainProgressLine, progressLine } from "./format.js";

export type ProgressMode = "auto" | "tty" | "plain" | "none";
export const PROGRESS_MODES: readonly ProgressMode[] = ["auto", "tty", "plain", "none"];

/** The stream it writes to: process.stderr, or a fake one in tests. */
export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/** Redraws at most this often: a few times a second is enough for the eye, and cheap. */
const REDRAW_MS = 200;

/** tty or plain or none, once "auto" has looked at the stream. */
export function effectiveMode(mode: ProgressMode, stream: ProgressStream): Exclude<ProgressMode, "auto"> {
  if (mode !== "auto") return mode;
  return stream.isTTY ? "tty" : "none";
}

export function progressPrinter(mode: ProgressMode, stream: ProgressStream = process.stderr, clock: () => number = Date.now): ((p: Progress) => void) | undefined {
  const chosen = effectiveMode(mode, stream);
  if (chosen === "none") return undefined;
  return chosen === "plain" ? plainPrinter(stream) : ttyPrinter(stream, clock);
}

function plainPrinter(stream: ProgressStream): (p: Progress) => void {
  return (p) => {
    if (p.finished) stream.write(`${plainProgressLine(p.finished, p.done, p.total)}\n`);
  };
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\x00-\x1f\x7f]/g;

function ttyPrinter(stream: ProgressStream, clock: () => number): (p: Progress) => void {
  let transfersFrom: number | undefined;
  let drawnAt = -Infinity;
  let drawn = false;
  let latest: Progress | undefined;
  let trailing: NodeJS.Timeout | undefined;
  // Every write to the stream goes through this while the run lasts: another line (a warning
  // of the log) first clears the progress line, which is drawn again below it at the next step.
  const write = stream.write.bind(stream);
  let own = false;
  stream.write = (text: string, ...rest: unknown[]) => {
    if (drawn && !own) {
      write("\r\x1b[2K");
      drawn = false;
      drawnAt = -Infinity;
      trailing ??= setTimeout(draw, REDRAW_MS);
      trailing.unref?.();
    }
    return (write as (t: string, ...r: unknown[]) => unknown)(text, ...rest);
  };
  const ownWrite = (text: string) => {
    own = true;
    try {
      write(text);
    } finally {
      own = false;
    }
  };
  const draw = () => {
    trailing = undefined;
    if (!latest) return;
    const now = clock();
    drawnAt = now;
    // A server's names may hold control characters: never sent to the terminal as they are.
    const p = latest.current ? { ...latest, current: latest.current.replace(CONTROL, "?") } : latest;
    ownWrite(`\r\x1b[2K${progressLine(p, stream.columns ?? 80, transfersFrom === undefined ? 0 : now - transfersFrom)}`);
    drawn = true;
  };
  return (p) => {
    if (p.phase === "done") {
      if (trailing) clearTimeout(trailing);
      trailing = undefined;
      latest = undefined;
      if (drawn) ownWrite("\r\x1b[2K");
      drawn = false;
      stream.write = write;
      return;
    }
    if (transfersFrom === undefined && (p.phase === "transferring" || p.phase === "deleting")) transfersFrom = clock();
    latest = p;
    const wait = drawnAt + REDRAW_MS - clock();
    if (wait <= 0) return draw();
    // The last state before a quiet spell is drawn too, once the interval is over.
    trailing ??= setTimeout(draw, wait);
    trailing.unref?.();
  };
}
