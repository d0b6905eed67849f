import type { ListEntry } from "./listing-parse.js";

/**
 * DOS-style LIST lines (IIS and other Windows servers): `12-05-96  05:03PM       <DIR>          myDir`,
 * `11-24-2026  14:07        1234 a.txt`. Anchored: a line that does not match costs time linear in
 * its length.
 *
 * IIS writes its columns at fixed places after the time (t): `<DIR>` at t+7, a size right-aligned
 * to end at t+20, then one space, and the name from t+22. A name that starts with spaces keeps them
 * only when read by those columns (basic-ftp, after Apache Commons Net, skipped every space before
 * the name, so " a.txt" became "a.txt" and was uploaded again at every run). A line that does not
 * keep to IIS's columns is read as before: the name is what follows the spaces.
 */
const DOS_LINE = /^\s*(\S+)\s+(\S+)\s+(?:(<DIR>)|([0-9]+))\s+(\S.*)/;
/** The date and the time, and where the time ends (the columns count from there). */
const DATE_TIME = /^\s*\S+\s+\S+/;
/** IIS: after the time, 7 spaces, `<DIR>`, 10 spaces (22 characters), then the name. */
const DIR_COLUMNS = /^ {7}<DIR> {10}/;
const NAME_AFTER_TIME = 22;
/** IIS: after the time, a size right-aligned in 21 characters (a larger one overflows), one space, the name. */
const SIZE_COLUMNS = /^ +[0-9]+ /;

export function testDosLine(line: string): boolean {
  return /^\d{2}/.test(line) && DOS_LINE.test(line);
}

export function parseDosLine(line: string): ListEntry | undefined {
  const g = DOS_LINE.exec(line);
  if (g === null) return undefined;
  const dir = g[3] === "<DIR>";
  const name = nameByColumns(line, dir) ?? g[5];
  if (name === "." || name === "..") return undefined;
  // The date and the time as written, one space apart: "11-24-26 02:07AM" (list-times.ts reads it).
  return { name, type: dir ? "dir" : "file", size: dir ? 0 : parseInt(g[4], 10), rawModifiedAt: g[1] + " " + g[2] };
}

/** The name where IIS's columns put it, leading spaces kept; undefined for a line not in those columns. */
function nameByColumns(line: string, dir: boolean): string | undefined {
  const t = DATE_TIME.exec(line)![0].length;
  const rest = line.slice(t);
  if (dir) {
    return DIR_COLUMNS.test(rest) && rest.length > NAME_AFTER_TIME ? rest.slice(NAME_AFTER_TIME) : undefined;
  }
  const size = SIZE_COLUMNS.exec(rest);
  // The size must end where IIS ends it (or further, when it overflows the column).
  if (!size || size[0].length < NAME_AFTER_TIME || rest.length === size[0].length) return undefined;
  return rest.slice(size[0].length);
}
