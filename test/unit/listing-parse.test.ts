// The listing parsers of our own (src/protocol/listing-parse*.ts): a table of real lines, whole
// listings captured from vsftpd, ProFTPD and Pure-FTPd, and how a listing's format is chosen.
import { describe, expect, it } from "vitest";
import { remoteTimeOf } from "../../src/protocol/list-times.js";
import { parseDosLine, parseListing, parseMlsdLine, parseUnixLine, UnreadableListing, type ListEntry } from "../../src/protocol/listing-parse.js";
import { CAPTURED_LISTINGS, CAPTURED_MLST } from "../helpers/captured-listings.js";
import { LINE_FIXTURES, type Expected } from "../helpers/listing-fixtures.js";

const PARSE = { unix: parseUnixLine, dos: parseDosLine, mlsd: parseMlsdLine };

/** What a fixture states of an entry (fields it does not state must be absent). */
function described(e: ListEntry): Expected {
  const p = e.permissions;
  return {
    name: e.name,
    type: e.type,
    size: e.size,
    rawModifiedAt: e.rawModifiedAt,
    ...(e.link !== undefined ? { link: e.link } : {}),
    ...(e.modifiedAt !== undefined ? { modifyMs: e.modifiedAt.getTime() } : {}),
    ...(p ? { mode: `${p.user}${p.group}${p.world}` } : {}),
  };
}

describe("one listing line", () => {
  it.each(LINE_FIXTURES)("$format, $what", ({ format, line, expected }) => {
    const entry = PARSE[format](line);
    if (expected === undefined) {
      expect(entry).toBeUndefined();
      return;
    }
    expect(entry).toBeDefined();
    const got = described(entry!);
    // A fixture without a mode leaves it unchecked; every other field is compared whole.
    if (expected.mode === undefined) delete got.mode;
    expect(got).toEqual(expected);
  });

  it("a Unix line keeps every permission bit it shows", () => {
    expect(parseUnixLine("-rwxr-x--x   1 u g 5 Dec  5 19:45 x")?.permissions).toEqual({ user: 7, group: 5, world: 1 });
    expect(parseUnixLine("drwxr-sr-T   1 u g 5 Dec  5 19:45 x")?.permissions).toEqual({ user: 7, group: 5, world: 4 });
  });

  it("an MLSD modify fact that is no time fails, unless the line is the folder itself", () => {
    expect(() => parseMlsdLine("type=file;size=5;modify=yesterday; x")).toThrow(RangeError);
    expect(parseMlsdLine("type=cdir;modify=yesterday; .")).toBeUndefined();
  });

  it("an MLSD line takes only the first space as the end of the facts", () => {
    expect(parseMlsdLine("type=file;size=5; a b ; c")?.name).toBe("a b ; c");
    expect(parseMlsdLine("type=file;size=5; ")).toBeUndefined(); // no name
  });

  it("lines that are no entry of a format give none", () => {
    for (const line of ["", "total 12", "garbage", "213-Status follows:", "12-05-26 nonsense"]) {
      expect(parseUnixLine(line)).toBeUndefined();
      expect(parseDosLine(line)).toBeUndefined();
    }
  });

  it("a long line that matches nothing is turned down in linear time (no catastrophic backtracking)", () => {
    // Quadratic (or worse) with an unanchored or unbounded expression; the test's timeout ends it.
    const long = "-rw-r--r-- 1 " + "a ".repeat(50_000);
    expect(parseUnixLine(long)).toBeUndefined();
    expect(parseDosLine("12" + "x".repeat(200_000))).toBeUndefined();
    expect(parseListing("=".repeat(200_000) + "\n" + "a=b;".repeat(10) + " n").length).toBe(1);
  }, 10_000);
});

describe("whole listings captured from real servers", () => {
  const byName = (entries: ListEntry[]) => new Map(entries.map((e) => [e.name, e]));

  it.each(["vsftpd LIST -a", "ProFTPD LIST -a", "Pure-FTPd LIST -a"])("%s: every name whole, links split, . and .. left out", (which) => {
    const entries = byName(parseListing(CAPTURED_LISTINGS[which]));
    const names = [" leading space.txt", "a -> b.txt", "big.bin", "caf\u00e9 \u65e5\u672c.txt", "dirlink", "emoji \u{1f600}.png", "link", "plain.txt", "semi;colon.txt", "sub dir", "trailing space ", "with space.txt"];
    // Pure-FTPd leaves the device out of its LIST.
    if (which !== "Pure-FTPd LIST -a") names.push("nulldev");
    expect([...entries.keys()].sort()).toEqual(names.sort());
    expect(entries.get("big.bin")?.size).toBe(21474836487);
    expect(entries.get("sub dir")?.type).toBe("dir");
    expect(entries.get("dirlink")).toMatchObject({ type: "symlink", link: "sub dir" });
    expect(entries.get("link")).toMatchObject({ type: "symlink", link: "plain.txt" });
    // The raw times read as the same minute and day as before (list-times.ts).
    const now = new Date(Date.UTC(2026, 11, 5, 20, 0));
    expect(remoteTimeOf(entries.get("with space.txt")!, now)).toEqual({ modifyMs: Date.UTC(2026, 11, 5, 19, 45), precision: "minute" });
    expect(remoteTimeOf(entries.get("plain.txt")!, now)).toEqual({ modifyMs: Date.UTC(2019, 2, 3), precision: "day" });
  });

  it.each(["ProFTPD MLSD", "Pure-FTPd MLSD"])("%s: facts read, cdir and pdir left out, links to their target", (which) => {
    const entries = byName(parseListing(CAPTURED_LISTINGS[which]));
    expect(entries.has(".")).toBe(false);
    expect(entries.has("..")).toBe(false);
    expect(entries.size).toBe(15 - 2);
    expect(entries.get(" leading space.txt")).toMatchObject({ type: "file", size: 5 });
    expect(entries.get("semi;colon.txt")).toMatchObject({ type: "file", size: 5 });
    expect(entries.get("big.bin")?.size).toBe(21474836487);
    expect(entries.get("plain.txt")?.modifiedAt).toEqual(new Date(Date.UTC(2019, 2, 3, 10, 20, 30)));
    expect(entries.get("sub dir")?.type).toBe("dir");
    if (which === "ProFTPD MLSD") {
      // "OS.unix=symlink": the target is the entry with the same unique fact.
      expect(entries.get("dirlink")).toMatchObject({ type: "symlink", link: "sub dir" });
      expect(entries.get("link")).toMatchObject({ type: "symlink", link: "plain.txt" });
      expect(entries.get("nulldev")?.type).toBe("file");
    } else {
      expect(entries.get("dirlink")).toMatchObject({ type: "symlink", link: "" });
      expect(entries.get("nulldev")?.type).toBe("other");
    }
  });

  it.each(Object.entries(CAPTURED_MLST))("%s MLST: the facts line of the reply reads as the file", (_server, reply) => {
    const facts = reply.split("\n").find((l) => l.startsWith(" "))!;
    expect(parseMlsdLine(facts.trimStart())).toMatchObject({ name: "/fx/plain.txt", type: "file", size: 5, modifiedAt: new Date(Date.UTC(2019, 2, 3, 10, 20, 30)) });
  });
});

describe("parseListing: the format of a listing", () => {
  it("is the format of its first entry line, past 'total' and blank lines", () => {
    const raw = "total 8\r\n\r\n-rw-r--r-- 1 u g 5 Dec  5 19:45 a\r\ndrwxr-xr-x 2 u g 4096 Dec  5 19:45 b\r\n";
    expect(parseListing(raw).map((e) => [e.name, e.type])).toEqual([["a", "file"], ["b", "dir"]]);
  });

  it("reads a DOS listing, LF or CRLF", () => {
    const lines = ["12-05-26  07:45PM       <DIR>          sub", "12-05-26  07:45PM                    5 a.txt"];
    for (const eol of ["\n", "\r\n"]) expect(parseListing(lines.join(eol) + eol).map((e) => [e.name, e.type, e.size])).toEqual([["sub", "dir", 0], ["a.txt", "file", 5]]);
  });

  it("an MLSD line is one that starts with facts: a name alone is no MLSD listing", () => {
    expect(() => parseListing(" just a name\r\n")).toThrow(UnreadableListing);
    expect(parseListing("type=file;size=1; a\r\n not an entry\r\n").map((e) => e.name)).toEqual(["a"]);
  });

  it("leaves out MLSD entries whose name holds a '/' (a link's target listed from elsewhere)", () => {
    const raw = "type=OS.unix=symlink;unique=7; l\r\ntype=file;unique=7;size=1; /elsewhere/t\r\ntype=file;size=2; f\r\n";
    expect(parseListing(raw).map((e) => [e.name, e.link])).toEqual([["l", "/elsewhere/t"], ["f", undefined]]);
  });

  it("an empty listing, or one of 'total' alone, has no entries", () => {
    expect(parseListing("")).toEqual([]);
    expect(parseListing("total 0\r\n")).toEqual([]);
  });

  it("a listing in no known format is an error that says so", () => {
    expect(() => parseListing("+i8388621.29609,m824255902,/,\tdev\r\n")).toThrow(/format this agent cannot read/);
  });
});
