import type { FileInfo } from "basic-ftp";
import * as dos from "basic-ftp/dist/parseListDOS.js";
import * as mlsd from "basic-ftp/dist/parseListMLSD.js";
import * as unix from "basic-ftp/dist/parseListUnix.js";

/**
 * LIST and MLSD bodies parsed like basic-ftp's parseList, except for names with a line break.
 * Such a name splits its entry over two lines: basic-ftp read the first part as an entry with a
 * truncated name (which was then downloaded, or deleted on the other side) and dropped the rest,
 * and a listing whose last line was such a fragment failed to parse at all, every run.
 *
 * Here a line continues the entry before it when
 * - the listing ends its lines with CRLF and the line before ended with a bare LF, or
 * - the line is no listing line (the chosen format's testLine refuses it).
 * The entry then gets its whole name, line breaks included, which the caller refuses as unsafe
 * (with a warning that names it) instead of using a part of it.
 */

interface Parser {
  testLine(line: string): boolean;
  parseLine(line: string): FileInfo | undefined;
  transformList(files: FileInfo[]): FileInfo[];
}

// As basic-ftp: MLSD last, it may accept a name alone. Its own testLine takes any line that starts
// with a space as an entry; a listing line here must start with facts.
const PARSERS: Parser[] = [dos, unix, { ...mlsd, testLine: (line: string) => /^[^\s=]+=[^;\s]*;/.test(line) }];

export function parseListKeepingSplitNames(raw: string): FileInfo[] {
  const crlf = raw.includes("\r\n");
  const pieces = raw.split(/(\r?\n)/); // line, line break, line, line break, ..., last line
  const sample = pieces.find((p, i) => i % 2 === 0 && p.trim() !== "" && !p.startsWith("total") && PARSERS.some((q) => q.testLine(p)));
  if (sample === undefined) {
    if (pieces.every((p, i) => i % 2 === 1 || p.trim() === "" || p.startsWith("total"))) return [];
    throw new Error("the server's listing is in a format this agent cannot read (MLSD, Unix or DOS style expected)");
  }
  const parser = PARSERS.find((q) => q.testLine(sample))!;
  const entries: { line: string; rest: string }[] = [];
  let brokeBare = false; // the line before ended with a bare LF in a CRLF listing: a name goes on
  for (let i = 0; i < pieces.length; i += 2) {
    const line = pieces[i];
    const last = entries[entries.length - 1];
    if (brokeBare || (!parser.testLine(line) && line.trim() !== "")) {
      // Before the first entry ("total 12"): no entry, as in basic-ftp.
      if (last) last.rest += pieces[i - 1] + line;
    } else if (line.trim() !== "") {
      entries.push({ line, rest: "" });
    }
    brokeBare = crlf && pieces[i + 1] === "\n";
  }
  const files: FileInfo[] = [];
  for (const { line, rest } of entries) {
    const info = parser.parseLine(line);
    if (!info) continue;
    info.name += rest;
    files.push(info);
  }
  return parser.transformList(files);
}
