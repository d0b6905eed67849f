import { Readable } from "node:stream";
import type { FtpsConnection } from "./connect.js";
import { ReplyError } from "./engine/reply-error.js";
import { parseMdtmReply, parseTimeVal } from "./exact-times.js";
import type { ListingLearning } from "./folder-listing.js";
import { readStatReply, statCommand } from "./stat-file.js";
import { tempNameFor } from "../local/temp-names.js";
import type { ServerClock } from "../remote/remote-folder.js";

/**
 * The server's clock, as its times show it. RFC 3659 gives MLSD's `modify` and MDTM in UTC, but a
 * server in local time (pyftpdlib with use_gmt_times off, appliances set to their office's zone)
 * shows local times in MLSD, LIST and MFMT's reply alike. Remote times are kept as the server
 * shows them (they are only compared with what the same server showed before); the offset matters
 * where they meet this machine's clock: the time a downloaded file gets.
 *
 * It is measured, never guessed from a reply alone: a time set with MFMT is read back as the
 * listing shows it, so that MLSD in UTC is trusted as UTC even when the MFMT reply or LIST show
 * local time. A difference counts as a zone offset only when it is a whole number of quarter
 * hours (every zone is), up to 14 hours either way.
 */

const QUARTER_HOUR = 15 * 60_000;
const MAX_OFFSET = 14 * 3_600_000;

/** `diffMs` as a zone offset: the nearest whole quarter hour when within `toleranceMs` of one; undefined otherwise. */
export function zoneOffsetOf(diffMs: number, toleranceMs: number): number | undefined {
  const q = Math.round(diffMs / QUARTER_HOUR) * QUARTER_HOUR;
  if (Math.abs(q) > MAX_OFFSET || Math.abs(diffMs - q) > toleranceMs) return undefined;
  return q === 0 ? 0 : q; // not -0
}

/** How far off a listed time may be from what was set, by its precision (LIST shows minutes). */
export function toleranceOf(precision: string): number {
  return precision === "minute" ? 60_000 : 1000;
}

/** "+5 h", "-3 h 30 min", "0 (UTC)". */
export function describeOffset(ms: number): string {
  if (ms === 0) return "0 (UTC)";
  const minutes = Math.abs(ms) / 60_000;
  const h = Math.floor(minutes / 60);
  const m = minutes % 60;
  return `${ms > 0 ? "+" : "-"}${h} h${m ? ` ${m} min` : ""}`;
}

/** The time an MFMT reply shows ("213 Modify=20261205143041; /a.txt": pyftpdlib, ProFTPD), if any. */
export function mfmtReplyTime(message: string): number | undefined {
  const m = /(?:^|[^\d])(\d{14})(?:\.\d+)?(?:[^\d]|$)/.exec(message.replace(/^\d{3}[ -]/, ""));
  return m ? parseTimeVal(m[1]) : undefined;
}

/** "YYYYMMDDHHMMSS" (UTC) of epoch ms. */
export function timeVal(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:T]/g, "").slice(0, 14);
}

/** How far this machine's clock and the server's may disagree beyond a zone offset, for a probe timed by its upload. */
const CLOCK_SKEW_MS = 60_000;

/**
 * Measures the clock by a probe file: a temporary name in `folder` (as an upload's, skipped by
 * scans and listings), read back as the listing shows it (and by MDTM), then deleted. With MFMT,
 * its time is set to a whole minute an hour ago and that is what the listing is compared with;
 * without, the time the server gave it as it was written is compared with this machine's clock
 * then (the clocks may disagree by a minute besides the zone). Undefined when it cannot be
 * measured (no write permission, MFMT refused, a difference that is no zone offset).
 */
export async function probeClock(c: FtpsConnection, folder: string, learning?: ListingLearning): Promise<{ clock: ServerClock; how: string } | undefined> {
  const probe = `${folder === "/" ? "" : folder}/${tempNameFor("clock-probe")}`;
  const byMfmt = c.capabilities.mfmt;
  const sent = Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000;
  try {
    const writtenFrom = Date.now();
    try {
      await c.client.upload(Readable.from([Buffer.from("ftps-sync clock probe\n")]), probe, false);
    } catch (err) {
      // Refused (no write permission): a reply like any other, the connection goes on.
      if (err instanceof ReplyError) return undefined;
      throw err;
    }
    const writtenTo = Date.now();
    const commands = [...(byMfmt ? [`MFMT ${timeVal(sent)} ${probe}`] : []), statCommand(c, probe)];
    if (c.capabilities.mdtm) commands.push(`MDTM ${probe}`);
    const replies = await c.client.sendAll(commands);
    const mfmt = byMfmt ? replies.shift() : undefined;
    const [stat, mdtm] = replies;
    if (mfmt && (mfmt.code < 200 || mfmt.code >= 300)) return undefined;
    const listed = await readStatReply(c, probe, stat, learning);
    if (listed?.modifyMs === undefined) return undefined;
    // What the listing should show, and how far off it may be besides a zone offset.
    const [expected, slackMs] = byMfmt ? [sent, 0] : [writtenFrom, writtenTo - writtenFrom + CLOCK_SKEW_MS];
    const listingMs = zoneOffsetOf(listed.modifyMs - expected, toleranceOf(listed.precision) + slackMs);
    if (listingMs === undefined) return undefined;
    const exact = mdtm?.code === 213 ? parseMdtmReply(mdtm.message) : undefined;
    const exactMs = exact === undefined ? undefined : zoneOffsetOf(exact - expected, 1000 + slackMs);
    const how = byMfmt ? `a probe file in ${folder}, its time set with MFMT and read back` : `a probe file written in ${folder}, its time read back`;
    return { clock: exactMs === undefined ? { listingMs } : { listingMs, exactMs }, how };
  } finally {
    // Whatever happened: a refused upload may have left part of the file.
    if (!c.client.closed) await c.client.sendIgnoringError(`DELE ${probe}`).catch(() => undefined);
  }
}
