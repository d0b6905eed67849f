// DOS-style listings (IIS) read by their fixed columns: a name that starts with spaces keeps them.
// The lines are written in IIS's own layout: `MM-dd-yy  hh:mmtt` (or a four-digit year, or a
// 24-hour time), then `<DIR>` 7 characters after the time or a size right-aligned to end 20
// characters after it, one space, and the name 22 characters after the time.
import { describe, expect, it } from "vitest";
import { parseDosLine, parseListing } from "../../src/protocol/listing-parse.js";
import { parseListKeepingSplitNames } from "../../src/protocol/listing-lines.js";
import { remoteTimeOf } from "../../src/protocol/list-times.js";

describe("an IIS listing line read by its columns", () => {
  it.each([
    // 12-hour ("AM/PM") time, two-digit year, as IIS writes by default
    ["12-05-26  07:45PM                    5  one space.txt", "file", 5, " one space.txt"],
    ["12-05-26  07:45AM                 1506   three.txt", "file", 1506, "  three.txt"],
    ["12-05-26  07:45PM       <DIR>           lead dir", "dir", 0, " lead dir"],
    ["12-05-26  07:45PM       <DIR>            two", "dir", 0, "  two"],
    ["02-17-21  09:52AM                  689 iisstart.htm", "file", 689, "iisstart.htm"],
    ["02-17-21  09:52AM       <DIR>          aspnet_client", "dir", 0, "aspnet_client"],
    // four-digit year ("Four-digit years" in IIS's directory browsing)
    ["05-17-2007  07:58PM       <DIR>           muntemp", "dir", 0, " muntemp"],
    ["09-09-2008  03:50AM                 1506  naxp11e.zip", "file", 1506, " naxp11e.zip"],
    // 24-hour time (a server set to a 24-hour locale): the same columns after a shorter time
    ["05-27-11  21:31       <DIR>          3", "dir", 0, "3"],
    ["05-27-11  21:31       <DIR>            3", "dir", 0, "  3"],
    ["05-27-2011  21:31                    7  seven.txt", "file", 7, " seven.txt"],
    // a size of 12 digits still ends at the column; one of 22 overflows it, and one space ends it
    ["12-05-26  07:45PM         274877906944  big.bin", "file", 274877906944, " big.bin"],
    ["12-05-26  07:45PM 1000000000000000000000  huge.bin", "file", 1000000000000000000000, " huge.bin"],
  ] as const)("%j is a %s of %d bytes named %j", (line, type, size, name) => {
    expect(parseDosLine(line)).toMatchObject({ type, size, name });
  });

  it("keeps the date and the time as written, and they read to the minute in both clock forms", () => {
    const pm = parseDosLine("12-05-26  07:45PM                    5  x")!;
    const h24 = parseDosLine("12-05-2026  19:45                    5  x")!;
    expect(pm.rawModifiedAt).toBe("12-05-26 07:45PM");
    expect(h24.rawModifiedAt).toBe("12-05-2026 19:45");
    expect(remoteTimeOf(pm)).toEqual({ modifyMs: Date.UTC(2026, 11, 5, 19, 45), precision: "minute" });
    expect(remoteTimeOf(h24)).toEqual(remoteTimeOf(pm));
    expect(remoteTimeOf(parseDosLine("12-05-26  12:05AM       <DIR>          d")!).modifyMs).toBe(Date.UTC(2026, 11, 5, 0, 5));
  });

  it("a line not in IIS's columns is read as before: the name is what follows the spaces", () => {
    expect(parseDosLine("12-05-26  07:45PM  5   x.txt")).toMatchObject({ name: "x.txt", size: 5 });
    expect(parseDosLine("12-05-26  07:45PM   <DIR>    some dir")).toMatchObject({ name: "some dir", type: "dir" });
  });

  it("the folder and its parent are no entries, by their columns too", () => {
    expect(parseDosLine("12-05-26  07:45PM       <DIR>          .")).toBeUndefined();
    expect(parseDosLine("12-05-26  07:45PM       <DIR>          ..")).toBeUndefined();
  });

  it("a whole IIS listing keeps each name's leading spaces, with CRLF line ends", () => {
    const body = [
      "12-05-26  07:45PM       <DIR>           a folder",
      "12-05-26  07:45PM                   10  lead.txt",
      "12-05-26  07:45PM                   10 plain.txt",
      "12-05-26  07:45PM                   10   two.txt",
      "",
    ].join("\r\n");
    for (const parse of [parseListing, parseListKeepingSplitNames]) {
      expect(parse(body).map((e) => [e.type, e.name])).toEqual([
        ["dir", " a folder"],
        ["file", " lead.txt"],
        ["file", "plain.txt"],
        ["file", "  two.txt"],
      ]);
    }
  });
});
