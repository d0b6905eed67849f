import { describe, expect, it } from "vitest";
import { localChanged, remoteChanged, sameAcrossSides, sameWithinPrecision } from "../../src/plan/signatures.js";
import type { LocalEntry, RemoteEntry, StateEntry, TimePrecision } from "../../src/plan/types.js";

const T = Date.UTC(2026, 10, 24, 2, 0, 41, 500); // 2026-11-24T02:00:41.500Z
const MIN = 60_000;
const DAY = 86_400_000;
const midnight = (ms: number) => Math.floor(ms / DAY) * DAY;

const state = (over: Partial<StateEntry> = {}): StateEntry => ({
  path: "a.txt",
  type: "file",
  localSize: 10,
  localMtimeMs: T,
  remoteSize: 10,
  remoteModifyMs: T,
  remotePrecision: "ms",
  placedRemote: true,
  placedLocal: false,
  ...over,
});
const local = (over: Partial<LocalEntry> = {}): LocalEntry => ({ path: "a.txt", type: "file", size: 10, mtimeMs: T, ...over });
const remote = (over: Partial<RemoteEntry> = {}): RemoteEntry => ({
  path: "a.txt",
  type: "file",
  size: 10,
  modifyMs: T,
  precision: "ms",
  ...over,
});

describe("sameWithinPrecision", () => {
  it.each<[string, number, TimePrecision, number, TimePrecision, boolean]>([
    ["equal ms times are the same", T, "ms", T, "ms", true],
    ["ms times 1 ms apart differ", T, "ms", T + 1, "ms", false],
    ["an MLSD ms time and a second-precision time in the same second are the same", T, "ms", T - 500, "second", true],
    ["a minute-precision time matches any ms time inside that minute", T, "ms", T - 41_500, "minute", true],
    ["a minute-precision time does not match the next minute", T, "ms", T - 41_500 + MIN, "minute", false],
    ["the order of the arguments does not matter", T - 41_500, "minute", T, "ms", true],
    ["a day-precision date matches a time on the same UTC day", T, "minute", midnight(T), "day", true],
    ["a day-precision date one day later (server east of UTC) still matches", T, "minute", midnight(T) + DAY, "day", true],
    ["a day-precision date one day earlier (server west of UTC) still matches", T, "minute", midnight(T) - DAY, "day", true],
    ["a day-precision date two days away differs", T, "minute", midnight(T) + 2 * DAY, "day", false],
    ["two day-precision dates a week apart differ", midnight(T), "day", midnight(T) + 7 * DAY, "day", false],
    ["no usable precision on one side is never the same", T, "none", T, "ms", false],
    ["a pending precision is never the same time", T, "pending", T, "ms", false],
  ])("%s", (_name, a, ap, b, bp, expected) => {
    expect(sameWithinPrecision(a, ap, b, bp)).toBe(expected);
  });
});

describe("localChanged", () => {
  it.each<[string, Partial<LocalEntry>, Partial<StateEntry>, boolean]>([
    ["an untouched file is unchanged", {}, {}, false],
    ["a different size is a change", { size: 11 }, {}, true],
    ["a different mtime with the same size is a change", { mtimeMs: T + 1 }, {}, true],
    ["the remote signature is ignored on the local side", {}, { remoteSize: 99, remoteModifyMs: 0 }, false],
    ["a file where a folder was is a change", {}, { type: "dir" }, true],
    ["a folder is not changed by its own mtime", { type: "dir", size: 0, mtimeMs: T + 5 }, { type: "dir", localSize: 0 }, false],
  ])("%s", (_name, l, s, expected) => {
    expect(localChanged(local(l), state(s))).toBe(expected);
  });
});

describe("remoteChanged", () => {
  it.each<[string, Partial<RemoteEntry>, Partial<StateEntry>, boolean]>([
    ["an untouched file is unchanged", {}, {}, false],
    ["a different size is a change", { size: 11 }, {}, true],
    ["a later ms time is a change", { modifyMs: T + 1000 }, {}, true],
    ["the local signature is ignored on the remote side", {}, { localSize: 99, localMtimeMs: 0 }, false],
    ["a listing that switches from MLSD to minute precision is not a change", { modifyMs: T - 41_500, precision: "minute" }, {}, false],
    [
      "a listing that switches from minute to day precision (file older than six months) is not a change",
      { modifyMs: midnight(T), precision: "day" },
      { remoteModifyMs: T - 41_500, remotePrecision: "minute" },
      false,
    ],
    [
      "a day-precision date shown in a server time zone east of UTC is not a change",
      { modifyMs: midnight(T) + DAY, precision: "day" },
      { remoteModifyMs: T - 41_500, remotePrecision: "minute" },
      false,
    ],
    ["a minute-precision time in another minute is a change", { modifyMs: T + 2 * MIN, precision: "minute" }, {}, true],
    ["with no listed time only the size counts", { modifyMs: undefined, precision: "none" }, {}, false],
    ["with no listed time a size change still counts", { modifyMs: undefined, precision: "none", size: 3 }, {}, true],
    ["with a stored precision of none only the size counts", { modifyMs: T + DAY }, { remotePrecision: "none" }, false],
    ["a pending stored time with the same size is unchanged", { modifyMs: T + 5 * MIN }, { remotePrecision: "pending", remoteModifyMs: undefined }, false],
    ["a pending stored time with another size is a change", { size: 12 }, { remotePrecision: "pending", remoteModifyMs: undefined }, true],
    ["a folder where a file was is a change", { type: "dir", size: 0 }, {}, true],
  ])("%s", (_name, r, s, expected) => {
    expect(remoteChanged(remote(r), state(s))).toBe(expected);
  });
});

describe("sameAcrossSides (first-sync match)", () => {
  it.each<[string, Partial<LocalEntry>, Partial<RemoteEntry>, boolean]>([
    ["same size and same ms time match", {}, {}, true],
    ["same size and the remote minute covers the local mtime match", {}, { modifyMs: T - 41_500, precision: "minute" }, true],
    ["a different size never matches", { size: 9 }, {}, false],
    ["a different time does not match", {}, { modifyMs: T - 3 * MIN, precision: "minute" }, false],
    ["no remote time does not match", {}, { modifyMs: undefined, precision: "none" }, false],
    ["a file against a folder does not match", {}, { type: "dir" }, false],
  ])("%s", (_name, l, r, expected) => {
    expect(sameAcrossSides(local(l), remote(r))).toBe(expected);
  });
});
