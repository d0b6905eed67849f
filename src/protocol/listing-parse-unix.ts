import type { ListEntry, ListEntryType } from "./listing-parse.js";

/**
 * Unix-style LIST lines ("ls -l"): `-rw-r--r--    1 ftp  ftp  1057 Dec 11 14:35 test.txt`.
 *
 * The expression is basic-ftp's (MIT), itself from Apache Commons Net's UnixFTPEntryParser
 * (Apache 2.0), kept as it is so that every line reads as it did before. It is anchored and the
 * owner and group (which may hold spaces) are bounded: a line that does not match costs time
 * linear in its length, so a server cannot block the event loop with one.
 */
const JA_MONTH = "\u6708";
const JA_DAY = "\u65e5";
const JA_YEAR = "\u5e74";
const UNIX_LINE = new RegExp(
  "^[\\s\\d]*" + // an inode or block count (`ls -i`, `ls -s`), or the space of a STAT reply line
    "([bcdelfmpSs-])" + // 1: file type
    "(((r|-)(w|-)([xsStTL-]))((r|-)(w|-)([xsStTL-]))((r|-)(w|-)([xsStTL-]?)))\\+?" + // 2-14: permissions, ACL mark
    "\\s*" +
    "(\\d+)" + // 15: link count
    "\\s+" +
    "(?:(\\S+(?:\\s\\S+){0,7}?)\\s+)?" + // 16: owner
    "(?:(\\S+(?:\\s\\S+){0,7})\\s+)?" + // 17: group
    "(\\d+(?:,\\s*\\d+)?)" + // 18: size, or a device's "major, minor"
    "\\s+" +
    // 19: "yyyy-mm-dd", "MMM [d]d" (\S for months with diacritics), "[d]d MMM", or Japanese "[d]d月 [d]d日"
    "((?:\\d+[-/]\\d+[-/]\\d+)|(?:\\S{3}\\s+\\d{1,2})|(?:\\d{1,2}\\s+\\S{3})|(?:\\d{1,2}" + JA_MONTH + "\\s+\\d{1,2}" + JA_DAY + "))" +
    "\\s+" +
    "((?:\\d+(?::\\d+)?)|(?:\\d{4}" + JA_YEAR + "))" + // 20: year (older files) or [h]h:mm (recent ones)
    "\\s" + // one space: a name may start with spaces
    "(.*)", // 21: the name ("name -> target" for a symbolic link)
);

export function testUnixLine(line: string): boolean {
  return UNIX_LINE.test(line);
}

export function parseUnixLine(line: string): ListEntry | undefined {
  const g = UNIX_LINE.exec(line);
  if (g === null) return undefined;
  const listed = g[21];
  if (listed === "." || listed === "..") return undefined;
  const type = typeOf(g[1]);
  const entry: ListEntry = {
    name: listed,
    type,
    // A device's "1, 3" reads as 1 (its major number), as basic-ftp read it.
    size: parseInt(g[18], 10),
    rawModifiedAt: g[19] + " " + g[20],
    permissions: { user: modeOf(g[4], g[5], g[6]), group: modeOf(g[8], g[9], g[10]), world: modeOf(g[12], g[13], g[14]) },
  };
  if (type === "symlink") {
    // The first " -> " splits: a link named "a -> b" cannot be told apart from a link "a" to "b".
    const arrow = listed.indexOf(" -> ");
    if (arrow !== -1) {
      entry.name = listed.slice(0, arrow);
      entry.link = listed.slice(arrow + 4);
    }
  }
  return entry;
}

function typeOf(letter: string): ListEntryType {
  switch (letter) {
    case "d":
      return "dir";
    case "l":
    case "e": // z/OS external link
      return "symlink";
    case "-":
    case "f":
    case "b": // devices were files to basic-ftp; a different type now would read as a deletion
    case "c":
      return "file";
    default:
      return "other"; // named pipes, sockets, whiteouts
  }
}

/** Read 4, write 2, execute 1; "S", "T" and "L" are the special bit without execute. */
function modeOf(r: string, w: string, x: string): number {
  let mode = 0;
  if (r !== "-") mode += 4;
  if (w !== "-") mode += 2;
  const exec = x.charAt(0);
  if (exec !== "-" && exec.toUpperCase() !== exec) mode += 1;
  return mode;
}
