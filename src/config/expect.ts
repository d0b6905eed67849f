/** The "expect" key of a job: when a file is expected to arrive. Its schema and parsers. */
import { strictObject, string, type output } from "zod";
import { parsedField } from "./parsed-field.js";
import type { ExpectConfig } from "./types.js";

const DAY_NAMES = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

/** "07:00" → 420. */
export function parseTimeOfDay(text: string): number {
  const m = /^([01]?\d|2[0-3]):([0-5]\d)$/.exec(text.trim());
  if (!m) throw new RangeError('must be a time of day "HH:MM" (24 hours), e.g. "07:00"');
  return Number(m[1]) * 60 + Number(m[2]);
}

/** "mon-fri", "mon,wed,fri", "sat-sun", "fri-mon", "daily" → weekdays (0 = Sunday), sorted. */
export function parseDays(text: string): number[] {
  const t = text.trim().toLowerCase();
  if (t === "daily" || t === "*" || t === "all") return [0, 1, 2, 3, 4, 5, 6];
  const bad = () => new RangeError('must be days such as "mon-fri", "mon,wed,fri" or "daily"');
  const day = (name: string) => {
    const i = DAY_NAMES.indexOf(name.trim().slice(0, 3));
    if (i < 0 || !DAY_NAMES.some((d) => name.trim().startsWith(d))) throw bad();
    return i;
  };
  const out = new Set<number>();
  for (const part of t.split(",")) {
    if (part.trim() === "") throw bad();
    const [from, to, extra] = part.split("-");
    if (extra !== undefined) throw bad();
    if (to === undefined) out.add(day(from));
    else for (let d = day(from), end = day(to); ; d = (d + 1) % 7) {
      out.add(d);
      if (d === end) break;
    }
  }
  return [...out].sort();
}

function checkZone(zone: string): string {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return zone;
  } catch {
    throw new RangeError('not a known IANA time zone, e.g. "Europe/Paris" or "UTC"');
  }
}

export const expectSchema = strictObject({
  by: string().transform(parsedField((t) => ({ text: t.trim(), minutes: parseTimeOfDay(t) }))),
  timezone: string().transform(parsedField(checkZone)).optional(),
  match: string().min(1).default("**/*"),
  days: string().transform(parsedField((t) => ({ text: t.trim(), weekdays: parseDays(t) }))).default({ text: "daily", weekdays: [0, 1, 2, 3, 4, 5, 6] }),
});
export type RawExpect = output<typeof expectSchema>;

/** The zone defaults to the job's "timezone", else this machine's. */
export function buildExpect(raw: RawExpect, jobTimezone: string | undefined): ExpectConfig {
  return {
    by: raw.by.text,
    byMinutes: raw.by.minutes,
    timezone: raw.timezone ?? jobTimezone ?? Intl.DateTimeFormat().resolvedOptions().timeZone,
    match: raw.match,
    days: raw.days.text,
    weekdays: raw.days.weekdays,
  };
}
