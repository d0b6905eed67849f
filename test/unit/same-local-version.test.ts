import { describe, expect, it } from "vitest";
import { localChanged, recordedLocalVersion, sameLocalVersion, type LocalVersion } from "../../src/plan/signatures.js";
import type { StateEntry } from "../../src/plan/types.js";

const T = Date.UTC(2026, 10, 24, 2, 0, 41, 500);

describe("sameLocalVersion: the one definition of the same local version of a file", () => {
  const cases: [string, LocalVersion, LocalVersion, boolean][] = [
    ["the same size and time", { size: 10, mtimeMs: T }, { size: 10, mtimeMs: T }, true],
    ["a stat's fraction of a millisecond against the scan's floored time", { size: 10, mtimeMs: T + 0.731 }, { size: 10, mtimeMs: T }, true],
    ["two fractions within the same millisecond", { size: 10, mtimeMs: T + 0.1 }, { size: 10, mtimeMs: T + 0.9 }, true],
    ["a time one millisecond later", { size: 10, mtimeMs: T + 1 }, { size: 10, mtimeMs: T }, false],
    ["a fraction that crosses into the next millisecond", { size: 10, mtimeMs: T + 1.2 }, { size: 10, mtimeMs: T + 0.9 }, false],
    ["a different size at the same time", { size: 11, mtimeMs: T }, { size: 10, mtimeMs: T }, false],
    ["an empty file and a file of one byte", { size: 0, mtimeMs: T }, { size: 1, mtimeMs: T }, false],
    ["a time a whole second earlier", { size: 10, mtimeMs: T - 1000 }, { size: 10, mtimeMs: T }, false],
  ];
  it.each(cases)("%s: %o and %o -> %s", (_what, a, b, same) => {
    expect(sameLocalVersion(a, b)).toBe(same);
    expect(sameLocalVersion(b, a)).toBe(same);
  });

  it("reads a state row's local side as the version it recorded, and localChanged agrees with it", () => {
    const row: StateEntry = { path: "a", type: "file", localSize: 10, localMtimeMs: T, remoteSize: 10, remotePrecision: "ms", placedRemote: false, placedLocal: false };
    expect(recordedLocalVersion(row)).toEqual({ size: 10, mtimeMs: T });
    for (const [, a, b, same] of cases) {
      const entry = { path: "a", type: "file" as const, size: a.size, mtimeMs: a.mtimeMs };
      expect(localChanged(entry, { ...row, localSize: b.size, localMtimeMs: b.mtimeMs })).toBe(!same);
    }
  });
});
