// Our listing parsers against basic-ftp's, on every fixture line and captured listing: the same
// names, types, sizes, raw and exact times, links and permissions. The state holds what basic-ftp
// read; a different reading would look like a change on the server. Delete this file with basic-ftp.
import { FileType, type FileInfo } from "basic-ftp";
import { parseList } from "basic-ftp/dist/parseList.js";
import * as dos from "basic-ftp/dist/parseListDOS.js";
import * as mlsd from "basic-ftp/dist/parseListMLSD.js";
import * as unix from "basic-ftp/dist/parseListUnix.js";
import { describe, expect, it } from "vitest";
import { parseListKeepingSplitNames } from "../../src/protocol/listing-lines.js";
import { parseDosLine, parseListing, parseMlsdLine, parseUnixLine, testDosLine, testUnixLine, type ListEntry } from "../../src/protocol/listing-parse.js";
import { CAPTURED_LISTINGS } from "../helpers/captured-listings.js";
import { LINE_FIXTURES } from "../helpers/listing-fixtures.js";

const THEIRS = { unix, dos, mlsd };
const OURS = { unix: { parseLine: parseUnixLine, testLine: testUnixLine }, dos: { parseLine: parseDosLine, testLine: testDosLine }, mlsd: { parseLine: parseMlsdLine } };
const TYPE_NAME: Record<FileType, ListEntry["type"]> = {
  [FileType.File]: "file",
  [FileType.Directory]: "dir",
  [FileType.SymbolicLink]: "symlink",
  [FileType.Unknown]: "other",
};

/** The fields both parsers have, in our terms. */
function fromTheirs(f: FileInfo | undefined) {
  if (!f) return undefined;
  return { name: f.name, type: TYPE_NAME[f.type], size: f.size, rawModifiedAt: f.rawModifiedAt, modifiedAt: f.modifiedAt, link: f.link, permissions: f.permissions, uniqueId: f.uniqueID };
}
function fromOurs(e: ListEntry | undefined) {
  if (!e) return undefined;
  return { name: e.name, type: e.type, size: e.size, rawModifiedAt: e.rawModifiedAt, modifiedAt: e.modifiedAt, link: e.link, permissions: e.permissions, uniqueId: e.uniqueId };
}

describe("our parsers read each line as basic-ftp's do", () => {
  it.each(LINE_FIXTURES)("$format, $what", ({ format, line }) => {
    expect(fromOurs(OURS[format].parseLine(line))).toEqual(fromTheirs(THEIRS[format].parseLine(line)));
    // Which lines are a format's own: the same for Unix and DOS. An MLSD line, to us, starts with
    // facts (basic-ftp also took any line that starts with a space).
    if (format !== "mlsd") expect(OURS[format].testLine(line)).toBe(THEIRS[format].testLine(line));
  });

  it("an MLSD modify fact that is no time fails both", () => {
    const line = "type=file;size=5;modify=yesterday; x";
    expect(() => mlsd.parseLine(line)).toThrow(RangeError);
    expect(() => OURS.mlsd.parseLine(line)).toThrow(RangeError);
  });
});

describe("our listings read as basic-ftp's parseList reads them", () => {
  it.each(Object.keys(CAPTURED_LISTINGS).filter((k) => !k.endsWith("STAT")))("%s", (which) => {
    const raw = CAPTURED_LISTINGS[which];
    const theirs = parseList(raw).map(fromTheirs);
    expect(parseListing(raw).map(fromOurs)).toEqual(theirs);
    expect(parseListKeepingSplitNames(raw).map(fromOurs)).toEqual(theirs);
  });

  it("a listing of every fixture line of one format", () => {
    for (const format of ["unix", "dos", "mlsd"] as const) {
      // basic-ftp picks the format by the last line, ours by the first: the same for one format.
      const lines = LINE_FIXTURES.filter((f) => f.format === format && !(format === "mlsd" && f.line.startsWith(" "))).map((f) => f.line);
      const raw = lines.join("\r\n") + "\r\n";
      expect(parseListing(raw).map(fromOurs)).toEqual(parseList(raw).map(fromTheirs));
    }
  });
});
