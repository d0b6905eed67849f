import { isEntryCandidate, listingFormatOf, UnreadableListing, type ListEntry } from "./listing-parse.js";

/**
 * LIST and MLSD bodies parsed like parseListing (listing-parse.ts), except for names with a line break.
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

export function parseListKeepingSplitNames(raw: string): ListEntry[] {
  const crlf = raw.includes("\r\n");
  const pieces = raw.split(/(\r?\n)/); // line, line break, line, line break, ..., last line
  const lines = pieces.filter((_, i) => i % 2 === 0);
  const parser = listingFormatOf(lines);
  if (parser === undefined) {
    if (!lines.some(isEntryCandidate)) return [];
    throw new UnreadableListing("the server's listing is in a format this agent cannot read (MLSD, Unix or DOS style expected)");
  }
  const files: ListEntry[] = [];
  // The entry a continuation belongs to (undefined after a "." or ".." line or before the first entry).
  let last: ListEntry | undefined;
  let brokeBare = false; // the line before ended with a bare LF in a CRLF listing: a name goes on
  for (let i = 0; i < pieces.length; i += 2) {
    const line = pieces[i];
    // One parse per line, as basic-ftp: testLine only for lines that give no entry (rare).
    const info = brokeBare ? undefined : parser.parseLine(line);
    if (info) {
      files.push(info);
      last = info;
    } else if (brokeBare || (line.trim() !== "" && !parser.testLine(line))) {
      // Part of the name before ("total 12" before the first entry is no entry, as in basic-ftp).
      if (last) last.name += pieces[i - 1] + line;
    } else if (line.trim() !== "") {
      last = undefined; // "." or ".."
    }
    brokeBare = crlf && pieces[i + 1] === "\n";
  }
  return parser.finish(files);
}
