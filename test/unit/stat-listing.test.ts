import { describe, expect, it } from "vitest";
import { estimateStatReplies, parseStatListing, StatFolderNotOpened, StatListingUnusable, STAT_REPLY_BUDGET } from "../../src/protocol/stat-listing.js";

const line = (type: string, name: string, size = 100) => `${type}rw-r--r--    1 1001     1001     ${String(size).padStart(12)} Nov 24 12:24 ${name}`;
const reply = (...body: string[]) => ["213-Status follows:", ...body, "213 End of status"].join("\n");
const dots = [line("d", "."), line("d", "..")];

describe("parseStatListing", () => {
  it("returns the entries of a vsftpd STAT reply without . and ..", () => {
    const infos = parseStatListing("/x", 213, reply(...dots, line("-", "a b.txt", 7), line("d", "sub"), line("-", " .", 1)));
    expect(infos.map((i) => [i.name, i.size, i.type])).toEqual([["a b.txt", 7, "file"], ["sub", 100, "dir"], [" .", 1, "file"]]);
  });

  it("refuses a reply that is not a listing, or has a line that is not an entry", () => {
    expect(() => parseStatListing("/x", 211, "211-FTP server status:\n Connected to 127.0.0.1\n211 End of status")).toThrow(StatListingUnusable);
    expect(() => parseStatListing("/x", 213, "213 " + line("-", "a"))).toThrow(StatListingUnusable);
    expect(() => parseStatListing("/x", 502, "502 STAT not implemented")).toThrow(StatListingUnusable);
    expect(() => parseStatListing("/x", 213, reply(...dots, line("-", "a"), "x"))).toThrow(StatListingUnusable);
    expect(() => parseStatListing("/x", 213, reply(...dots, "213-" + line("-", "a")))).toThrow(StatListingUnusable);
  });

  it("takes a listing without . and .. as a folder the server could not open", () => {
    // vsftpd lists an unreadable folder's own entry in its parent, and nothing for a missing one.
    expect(() => parseStatListing("/x/shut", 213, reply(line("d", "shut")))).toThrow(StatFolderNotOpened);
    expect(() => parseStatListing("/x/gone", 213, reply())).toThrow(StatFolderNotOpened);
    expect(() => parseStatListing("/x/y", 213, reply(line("d", "."), line("-", "a")))).toThrow(StatFolderNotOpened);
    expect(() => parseStatListing("/x/y", 213, reply(line("d", "."), line("d", ".")))).toThrow(StatFolderNotOpened);
  });
});

describe("estimateStatReplies", () => {
  it("counts a line per name below each folder the state knows, and marks big folders", () => {
    const rows = new Map<string, { type: "file" | "dir" }>([["a", { type: "dir" }], ["a/one.txt", { type: "file" }], ["empty", { type: "dir" }], ["top", { type: "file" }]]);
    for (let i = 0; i < 500; i++) rows.set(`big/file-${i}.bin`, { type: "file" });
    const est = estimateStatReplies(rows);
    expect([...est.keys()].sort()).toEqual(["", "a", "big", "empty"]);
    expect(est.get("a")).toBeGreaterThan(est.get("empty")!);
    expect(est.get("a")! - est.get("empty")!).toBe(80 + "one.txt".length);
    expect(est.get("empty")!).toBeLessThan(STAT_REPLY_BUDGET);
    expect(est.get("big")!).toBeGreaterThan(STAT_REPLY_BUDGET);
  });
});
