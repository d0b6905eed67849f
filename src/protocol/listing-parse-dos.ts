import type { ListEntry } from "./listing-parse.js";

/**
 * DOS-style LIST lines (IIS and other Windows servers): `12-05-96  05:03PM       <DIR>          myDir`,
 * `11-24-2026  14:07        1234 a.txt`. As basic-ftp (after Apache Commons Net's NTFTPEntryParser)
 * read them. Anchored: a line that does not match costs time linear in its length.
 */
const DOS_LINE = /^\s*(\S+)\s+(\S+)\s+(?:(<DIR>)|([0-9]+))\s+(\S.*)/;

export function testDosLine(line: string): boolean {
  return /^\d{2}/.test(line) && DOS_LINE.test(line);
}

export function parseDosLine(line: string): ListEntry | undefined {
  const g = DOS_LINE.exec(line);
  if (g === null) return undefined;
  const name = g[5];
  if (name === "." || name === "..") return undefined;
  const dir = g[3] === "<DIR>";
  // The date and the time as written, one space apart: "11-24-26 02:07AM" (list-times.ts reads it).
  return { name, type: dir ? "dir" : "file", size: dir ? 0 : parseInt(g[4], 10), rawModifiedAt: g[1] + " " + g[2] };
}
