import { parseDosLine, testDosLine } from "./listing-parse-dos.js";
import { linkMlsdSymlinks, parseMlsdLine, testMlsdLine } from "./listing-parse-mlsd.js";
import { parseUnixLine, testUnixLine } from "./listing-parse-unix.js";

/**
 * Folder listings (LIST in Unix or DOS style, MLSD) read into entries of our own type. They read
 * exactly what basic-ftp 6, the client before ours, read (names, sizes, types, raw times, MLSD
 * times): the state stores what earlier versions made of the same lines, and a different reading
 * would look like a change on the server (test/unit/listing-parse.test.ts holds every fixture line
 * to what basic-ftp read: test/helpers/listing-fixtures.ts).
 * Names are the server's and hostile: checked by the caller (listing-collector.ts), not here.
 */

export { parseDosLine, parseMlsdLine, parseUnixLine, testDosLine, testMlsdLine, testUnixLine };

export type ListEntryType = "file" | "dir" | "symlink" | "other";

/** Unix permission bits of owner, group and others (read 4, write 2, execute 1). */
export interface UnixPermissions {
  user: number;
  group: number;
  world: number;
}

export interface ListEntry {
  name: string;
  /** Block and character devices are "file" (as basic-ftp had them); unknown kinds are "other". */
  type: ListEntryType;
  /** 0 when the line tells none (a DOS folder, an MLSD entry without size or sizd). */
  size: number;
  /**
   * The time as the line wrote it ("Nov 24 02:07", "Mar  3  2019", "11-24-26  02:07AM"; list-times.ts
   * reads it), or for MLSD the ISO form of `modifiedAt`. "" when there is none.
   */
  rawModifiedAt: string;
  /** MLSD only: the UTC time of the `modify` fact. */
  modifiedAt?: Date;
  /** A symbolic link's target, when the listing tells it. */
  link?: string;
  permissions?: UnixPermissions;
  /** MLSD's `unique` fact. */
  uniqueId?: string;
}

/** One listing style: which lines are its own, how one is read, and what is done with all of them. */
export interface ListingFormat {
  name: "dos" | "unix" | "mlsd";
  testLine(line: string): boolean;
  /** Undefined for a line that is no entry of this format, and for "." and "..". */
  parseLine(line: string): ListEntry | undefined;
  finish(entries: ListEntry[]): ListEntry[];
}

const asIs = (entries: ListEntry[]) => entries;

/**
 * Tried in this order, as basic-ftp did: MLSD last. Its parser reads any text at all as a name, so
 * an MLSD line is one that starts with facts.
 */
export const LISTING_FORMATS: readonly ListingFormat[] = [
  { name: "dos", testLine: testDosLine, parseLine: parseDosLine, finish: asIs },
  { name: "unix", testLine: testUnixLine, parseLine: parseUnixLine, finish: asIs },
  { name: "mlsd", testLine: testMlsdLine, parseLine: (line) => (testMlsdLine(line) ? parseMlsdLine(line) : undefined), finish: linkMlsdSymlinks },
];

/** The format of the first line some format takes ("total 12" lines and blank lines aside). */
export function listingFormatOf(lines: Iterable<string>): ListingFormat | undefined {
  for (const line of lines) {
    if (!isEntryCandidate(line)) continue;
    const format = LISTING_FORMATS.find((f) => f.testLine(line));
    if (format) return format;
  }
  return undefined;
}

/** Blank lines and `ls`'s "total 12" are never entries. */
export function isEntryCandidate(line: string): boolean {
  return line.trim() !== "" && !line.startsWith("total");
}

export class UnreadableListing extends Error {}

/**
 * A whole listing, line by line (LF or CRLF), in the format of its first entry line; lines the
 * format does not take are left out. Folder listings go through parseListKeepingSplitNames
 * (listing-lines.ts), which also keeps a name with a line break whole.
 */
export function parseListing(text: string): ListEntry[] {
  const lines = text.split(/\r?\n/).filter(isEntryCandidate);
  if (lines.length === 0) return [];
  const format = listingFormatOf(lines);
  if (!format) throw new UnreadableListing("the server's listing is in a format this agent cannot read (MLSD, Unix or DOS style expected)");
  const entries: ListEntry[] = [];
  for (const line of lines) {
    const entry = format.parseLine(line);
    if (entry) entries.push(entry);
  }
  return format.finish(entries);
}
