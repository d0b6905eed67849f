/**
 * The time-zone arithmetic of expected arrivals, with Intl only: "07:00 in Europe/Paris on
 * 2026-12-07" as an instant, and the last deadline at or before a given instant. Pure.
 */
import type { ExpectConfig } from "../../config/types.js";

const formats = new Map<string, Intl.DateTimeFormat>();

function formatIn(zone: string): Intl.DateTimeFormat {
  let f = formats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat("en-US", {
      timeZone: zone, hourCycle: "h23", year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric",
    });
    formats.set(zone, f);
  }
  return f;
}

/** The wall clock of `ms` in `zone`. */
function wallClock(ms: number, zone: string): { y: number; mo: number; d: number; h: number; mi: number; s: number } {
  const parts = Object.fromEntries(formatIn(zone).formatToParts(ms).map((p) => [p.type, Number(p.value)]));
  return { y: parts.year, mo: parts.month, d: parts.day, h: parts.hour, mi: parts.minute, s: parts.second };
}

/** How far the zone's wall clock is ahead of UTC at `ms`. */
function offsetAt(ms: number, zone: string): number {
  const w = wallClock(ms, zone);
  return Date.UTC(w.y, w.mo - 1, w.d, w.h, w.mi, w.s) - (ms - (((ms % 1000) + 1000) % 1000));
}

/**
 * The instant at which the zone's clock shows `minutes` after midnight of y-mo-d. A time skipped
 * by a change to summer time is taken as the instant just after the change (02:30 → 03:30).
 */
export function instantAt(y: number, mo: number, d: number, minutes: number, zone: string): number {
  const wall = Date.UTC(y, mo - 1, d, 0, minutes);
  const first = wall - offsetAt(wall, zone);
  return wall - offsetAt(first, zone);
}

export interface Deadline {
  /** The instant of "by" on that day. */
  at: number;
  /** Midnight of that day in the zone: arrivals from then on count for it. */
  dayStart: number;
  /** That day, YYYY-MM-DD in the zone. */
  date: string;
}

/** The latest deadline at or before `now` (on one of the expected days), if any in the last week. */
export function lastDeadline(e: Pick<ExpectConfig, "byMinutes" | "timezone" | "weekdays">, now: number): Deadline | undefined {
  const today = wallClock(now, e.timezone);
  for (let back = 0; back <= 7; back++) {
    const day = new Date(Date.UTC(today.y, today.mo - 1, today.d - back));
    if (!e.weekdays.includes(day.getUTCDay())) continue;
    const [y, mo, d] = [day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate()];
    const at = instantAt(y, mo, d, e.byMinutes, e.timezone);
    if (at > now) continue;
    return { at, dayStart: instantAt(y, mo, d, 0, e.timezone), date: day.toISOString().slice(0, 10) };
  }
  return undefined;
}

/** Late when a deadline has passed and nothing arrived since the start of its day. */
export function lateFor(e: Pick<ExpectConfig, "byMinutes" | "timezone" | "weekdays">, lastArrivalAt: number | undefined, now: number): Deadline | undefined {
  const deadline = lastDeadline(e, now);
  if (!deadline) return undefined;
  if (lastArrivalAt !== undefined && lastArrivalAt >= deadline.dayStart) return undefined;
  return deadline;
}
