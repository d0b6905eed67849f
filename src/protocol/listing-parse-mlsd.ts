import type { ListEntry } from "./listing-parse.js";

/**
 * MLSD lines and MLST facts (RFC 3659 section 7): `type=file;size=5;modify=20261205194528; a name`.
 * Facts, one space, then the name, which may hold spaces and ";", and may start with a space.
 * Read as basic-ftp 6 read them, quirks included where a change would alter a stored time or size.
 */

/** A line that starts with a fact ("name=value;"). `=` stays out of the fact's name: linear time. */
export function testMlsdLine(line: string): boolean {
  return /^[^\s=]+=[^;\s]*;/.test(line);
}

/**
 * One entry, or undefined for the folder itself and its parent (type cdir or pdir, or named "." or
 * ".."). Takes any text: a line without a space is a name without facts.
 */
export function parseMlsdLine(line: string): ListEntry | undefined {
  const space = line.indexOf(" ");
  const facts = space === -1 ? "" : line.slice(0, space);
  const name = line.slice(space + 1);
  if (name === "" || name === "." || name === "..") return undefined;
  const entry: ListEntry = { name, type: "other", size: 0, rawModifiedAt: "" };
  for (const fact of facts.split(";")) {
    const eq = fact.indexOf("=");
    const value = fact.slice(eq + 1);
    if (eq === -1 || value === "") continue;
    if (readFact(fact.slice(0, eq).toLowerCase(), value, entry) === "not an entry") return undefined;
  }
  return entry;
}

/** Facts are read in their order: an invalid time after "type=cdir" is never looked at. */
function readFact(fact: string, value: string, entry: ListEntry): "not an entry" | undefined {
  switch (fact) {
    case "size": // files
    case "sizd": // folders
      entry.size = parseInt(value, 10);
      return;
    case "unique":
      entry.uniqueId = value;
      return;
    case "modify":
      entry.modifiedAt = parseMlsxTime(value);
      entry.rawModifiedAt = entry.modifiedAt.toISOString();
      return;
    case "type":
      return readType(value, entry);
    case "unix.mode": {
      // The last three octal digits: "0644" -> 6, 4, 4.
      const d = value.slice(-3);
      entry.permissions = { user: parseInt(d[0], 10), group: parseInt(d[1], 10), world: parseInt(d[2], 10) };
      return;
    }
  }
}

function readType(value: string, entry: ListEntry): "not an entry" | undefined {
  // "OS.unix=slink:<target>" in RFC 3659's examples (Pure-FTPd sends it with no target); the
  // errata's "OS.unix=symlink" names the target in another line with the same unique fact.
  if (value.startsWith("OS.unix=slink")) {
    entry.type = "symlink";
    entry.link = value.slice(value.indexOf(":") + 1);
    return;
  }
  switch (value) {
    case "file":
      entry.type = "file";
      return;
    case "dir":
      entry.type = "dir";
      return;
    case "OS.unix=symlink":
      entry.type = "symlink";
      return;
    case "cdir": // the folder listed
    case "pdir": // its parent
      return "not an entry";
    default:
      entry.type = "other";
  }
}

/**
 * A `modify` value, YYYYMMDDHHMMSS[.sss], as UTC. The digits after the dot are taken as
 * milliseconds (".5" is 5 ms), as basic-ftp took them: the state holds times read that way. A value
 * that is no time fails the listing, as it did: an entry without its time would look changed.
 */
export function parseMlsxTime(value: string): Date {
  const at = new Date(
    Date.UTC(+value.slice(0, 4), +value.slice(4, 6) - 1, +value.slice(6, 8), +value.slice(8, 10), +value.slice(10, 12), +value.slice(12, 14), +value.slice(15, 18)),
  );
  if (Number.isNaN(at.getTime())) throw new RangeError("an MLSD entry's modify fact is not a time");
  return at;
}

/**
 * A listing's last step: a link typed "OS.unix=symlink" gets the name of the entry with its unique
 * fact as target, and names with a "/" (a link's target listed outside the folder) are left out.
 */
export function linkMlsdSymlinks(entries: ListEntry[]): ListEntry[] {
  const byUnique = new Map<string, ListEntry>();
  for (const e of entries) if (e.type !== "symlink" && e.uniqueId !== undefined) byUnique.set(e.uniqueId, e);
  for (const e of entries) {
    if (e.type !== "symlink" || e.uniqueId === undefined || e.link !== undefined) continue;
    const target = byUnique.get(e.uniqueId);
    if (target) e.link = target.name;
  }
  return entries.filter((e) => !e.name.includes("/"));
}
