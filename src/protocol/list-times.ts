import type { ListEntry } from "./listing-parse.js";
import type { TimePrecision } from "../plan/types.js";

const MONTHS: Record<string, number> = {
  jan: 0, feb: 1, mar: 2, apr: 3, may: 4, jun: 5, jul: 6, aug: 7, sep: 8, oct: 9, nov: 10, dec: 11,
};

/** What a time is read from: a listed entry's raw time, and its exact one when MLSD gave it. */
type Timed = Pick<ListEntry, "rawModifiedAt" | "modifiedAt">;

export interface RemoteTime {
  modifyMs?: number;
  precision: TimePrecision;
}

/**
 * The modification time of a listed entry and how precise it is. MLSD gives UTC seconds (maybe
 * fractions); Unix LIST gives "Nov 24 02:07" (minutes, recent files) or "Nov 24 2025" (days,
 * older files); DOS LIST gives "11-24-26 02:07AM". LIST times are in the server's own time zone,
 * which we cannot know: they are read as if UTC. That is fine because a remote time is only ever
 * compared with the time the same server reported before, never with a local clock.
 */
export function remoteTimeOf(info: Timed, now = new Date()): RemoteTime {
  if (info.modifiedAt instanceof Date && !Number.isNaN(info.modifiedAt.getTime())) {
    const ms = info.modifiedAt.getTime();
    return { modifyMs: ms, precision: ms % 1000 === 0 ? "second" : "ms" };
  }
  const raw = info.rawModifiedAt?.trim();
  if (!raw) return { precision: "none" };
  return parseUnixListTime(raw, now) ?? parseDosListTime(raw) ?? { precision: "none" };
}

/** Distinct LIST times remembered by a reader: far more than a listing usually holds. */
const READER_CACHE = 4096;

/**
 * remoteTimeOf for one listing, with `now` fixed: LIST times ("Nov 24 02:07") repeat across a
 * folder's entries, so each distinct one is parsed once (20 000 entries: a tenth of the listing's CPU).
 */
export function remoteTimeReader(now = new Date()): (info: Timed) => RemoteTime {
  const parsed = new Map<string, RemoteTime>();
  return (info) => {
    const raw = info.rawModifiedAt;
    if (info.modifiedAt instanceof Date || !raw) return remoteTimeOf(info, now);
    let t = parsed.get(raw);
    if (t === undefined) {
      if (parsed.size >= READER_CACHE) parsed.clear();
      t = remoteTimeOf(info, now);
      parsed.set(raw, t);
    }
    return t;
  };
}

export function parseUnixListTime(raw: string, now = new Date()): RemoteTime | undefined {
  const m = /^([A-Za-z]{3})\s+(\d{1,2})\s+(?:(\d{1,2}):(\d{2})|(\d{4}))$/.exec(raw);
  if (!m) return undefined;
  const month = MONTHS[m[1].toLowerCase()];
  if (month === undefined) return undefined;
  const day = Number(m[2]);
  if (m[5]) return { modifyMs: Date.UTC(Number(m[5]), month, day), precision: "day" };
  // "ls" shows the time instead of the year for files from the last six months, so the year is
  // the current one unless that would put the file more than a day in the future.
  let year = now.getUTCFullYear();
  const ms = (y: number) => Date.UTC(y, month, day, Number(m[3]), Number(m[4]));
  if (ms(year) > now.getTime() + 86_400_000) year -= 1;
  return { modifyMs: ms(year), precision: "minute" };
}

export function parseDosListTime(raw: string): RemoteTime | undefined {
  const m = /^(\d{2})-(\d{2})-(\d{2,4})\s+(\d{1,2}):(\d{2})\s*([AP]M)?$/i.exec(raw);
  if (!m) return undefined;
  let year = Number(m[3]);
  if (year < 100) year += year < 70 ? 2000 : 1900;
  let hour = Number(m[4]);
  if (m[6]) {
    const pm = m[6].toUpperCase() === "PM";
    if (hour === 12) hour = pm ? 12 : 0;
    else if (pm) hour += 12;
  }
  return { modifyMs: Date.UTC(year, Number(m[1]) - 1, Number(m[2]), hour, Number(m[5])), precision: "minute" };
}
