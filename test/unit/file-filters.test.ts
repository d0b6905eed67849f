import { describe, expect, it } from "vitest";
import { heldByFilters } from "../../src/plan/file-filters.js";
import type { LocalEntry, RemoteEntry, TimePrecision } from "../../src/plan/types.js";

const NOW = new Date(Date.UTC(2026, 11, 6, 12, 0, 0));
const MIN = 60_000;
const local = (path: string, size: number, ageMs: number): [string, LocalEntry] => [path, { path, type: "file", size, mtimeMs: NOW.getTime() - ageMs }];
const remote = (path: string, size: number, listedMs: number | undefined, precision: TimePrecision = "second"): [string, RemoteEntry] => [
  path,
  { path, type: "file", size, modifyMs: listedMs, precision },
];

describe("the file filters", () => {
  it("hold a path back when either side's version fails, and count only the ones held by their age alone as due later", () => {
    const held = heldByFilters(
      { minAgeMs: 2 * MIN, maxSize: 100 },
      new Map([local("young.txt", 10, 30_000), local("big.txt", 500, 60 * MIN), local("ok.txt", 10, 60 * MIN), local("both.txt", 500, 1000)]),
      new Map([remote("remote-young.txt", 10, NOW.getTime() - 60_000, "ms")]),
      NOW,
    );
    expect([...held.paths].sort()).toEqual(["big.txt", "both.txt", "remote-young.txt", "young.txt"]);
    expect(held.tooYoung).toBe(2);
    expect(held.dueInMs).toBe(60_000);
  });

  it("read a server's times in its own clock: a file listed an hour ahead is an hour older than it looks", () => {
    // Written 2 h ago; the server lists local time one hour east of UTC: it shows 1 h ago.
    const listed = NOW.getTime() - 120 * MIN + 60 * MIN;
    const remoteSide = new Map([remote("old.csv", 10, listed)]);
    expect(heldByFilters({ maxFileAgeMs: 90 * MIN }, new Map(), remoteSide, NOW, 60 * MIN).paths).toEqual(new Set(["old.csv"]));
    expect(heldByFilters({ maxFileAgeMs: 90 * MIN }, new Map(), remoteSide, NOW, 0).paths).toEqual(new Set());
  });

  it("judge a server file without a usable time by its size alone", () => {
    const remoteSide = new Map([remote("untimed.bin", 10, undefined, "none"), remote("pending.bin", 10, NOW.getTime(), "pending")]);
    expect(heldByFilters({ minAgeMs: MIN, maxFileAgeMs: 2 * MIN }, new Map(), remoteSide, NOW).paths.size).toBe(0);
    expect([...heldByFilters({ minSize: 11 }, new Map(), remoteSide, NOW).paths].sort()).toEqual(["pending.bin", "untimed.bin"]);
  });

  it("hold nothing back without filters, and never a folder", () => {
    const folders = new Map<string, LocalEntry>([["d", { path: "d", type: "dir", size: 0, mtimeMs: NOW.getTime() }]]);
    expect(heldByFilters({}, new Map([local("a", 1, 0)]), new Map(), NOW).paths.size).toBe(0);
    expect(heldByFilters({ minAgeMs: MIN, minSize: 1 }, folders, new Map(), NOW).paths.size).toBe(0);
  });
});
