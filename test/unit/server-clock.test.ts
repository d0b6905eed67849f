// The server's clock (src/protocol/server-clock.ts) and the time a downloaded file gets
// (src/sync/download-times.ts): pure functions, table tests.
import { describe, expect, it } from "vitest";
import { describeOffset, mfmtReplyTime, timeVal, toleranceOf, zoneOffsetOf } from "../../src/protocol/server-clock.js";
import { downloadTimeOf } from "../../src/sync/download-times.js";
import { openState } from "../../src/state/index.js";
import { testTempDir } from "../helpers/temp-dir.js";

const H = 3_600_000;
const T = Date.UTC(2026, 11, 5, 14, 30, 41);

describe("a difference between a time set and the time shown, read as a zone offset", () => {
  it.each([
    [5 * H, 1000, 5 * H],
    [-8 * H, 1000, -8 * H],
    [5.5 * H, 1000, 5.5 * H], // India
    [5.75 * H, 1000, 5.75 * H], // Nepal
    [0, 1000, 0],
    [-400, 1000, 0], // the same second, give or take
    [5 * H - 59_000, 60_000, 5 * H], // LIST: the minute shown, the seconds cut
    [5 * H + 7 * 60_000, 60_000, undefined], // a clock merely wrong by 7 minutes is no zone
    [15 * H, 1000, undefined], // past 14 hours: no zone
    [3 * H + 2000, 1000, undefined],
  ])("%d ms (tolerance %d ms) is %s", (diff, tolerance, offset) => {
    expect(zoneOffsetOf(diff, tolerance)).toBe(offset);
  });

  it("a listing to the minute is given a minute's tolerance, an exact one a second's", () => {
    expect(toleranceOf("minute")).toBe(60_000);
    expect(toleranceOf("second")).toBe(1000);
    expect(toleranceOf("ms")).toBe(1000);
  });

  it("is said in hours and minutes", () => {
    expect(describeOffset(5 * H)).toBe("+5 h");
    expect(describeOffset(-3.5 * H)).toBe("-3 h 30 min");
    expect(describeOffset(0)).toBe("0 (UTC)");
  });
});

describe("the time in an MFMT reply", () => {
  it.each([
    ["213 Modify=20261205143041; /job/a.txt.", T], // pyftpdlib
    ["213 Modify=20261205143041; /job/a 20261205000000.txt", T], // ProFTPD; a name with digits after it
    ["213 MFMT 20261205143041.5 /a", T],
    ["213 UTIME OK", undefined], // Pure-FTPd
    ["213 Modify=2026; x", undefined],
  ])("%j shows %s", (reply, at) => {
    expect(mfmtReplyTime(reply)).toBe(at);
  });

  it("the time sent is written as MFMT's YYYYMMDDHHMMSS in UTC", () => {
    expect(timeVal(T + 999)).toBe("20261205143041");
  });
});

describe("the time a downloaded file gets", () => {
  const now = T + 10 * H;
  it("is MLSD's time less the server's listing offset", () => {
    expect(downloadTimeOf({ modifyMs: T + 5 * H, precision: "second" }, T + 5 * H, { listingMs: 5 * H }, now)).toEqual({ ms: T });
  });

  it("is MDTM's exact time for a LIST shown to the minute, less MDTM's own offset (none unless measured)", () => {
    expect(downloadTimeOf({ modifyMs: T + 5 * H - 41_000, precision: "minute" }, T, { listingMs: 5 * H }, now)).toEqual({ ms: T });
    expect(downloadTimeOf({ modifyMs: T - 41_000, precision: "minute" }, T + 2 * H, { listingMs: 0, exactMs: 2 * H }, now)).toEqual({ ms: T });
  });

  it("is the listing's time less its offset where there is no exact one", () => {
    expect(downloadTimeOf({ modifyMs: T - 41_000 - 3 * H, precision: "minute" }, undefined, { listingMs: -3 * H }, now)).toEqual({ ms: T - 41_000 });
    expect(downloadTimeOf({ modifyMs: T, precision: "minute" }, undefined, undefined, now)).toEqual({ ms: T });
    expect(downloadTimeOf({ precision: "none" }, undefined, undefined, now)).toEqual({ ms: undefined });
  });

  it("is never in the future: a time ahead of now is clamped to now, and told", () => {
    expect(downloadTimeOf({ modifyMs: now + 1, precision: "second" }, now + 1, undefined, now)).toEqual({ ms: now, futureMs: now + 1 });
    // unknown offset, a server 5 hours east: its recent file looks 4 hours ahead
    expect(downloadTimeOf({ modifyMs: now + 4 * H, precision: "second" }, now + 4 * H, undefined, now)).toEqual({ ms: now, futureMs: now + 4 * H });
    expect(downloadTimeOf({ modifyMs: now, precision: "second" }, now, undefined, now)).toEqual({ ms: now });
  });
});

describe("the server's clock in the capability profile", () => {
  it("is remembered per host and port, kept when FEAT is probed again, and measured again after 30 days", () => {
    const state = openState(testTempDir("clock-state"));
    try {
      const caps = state.capabilities;
      expect(caps.clockOffset("srv", "h", 21)).toBeUndefined();
      caps.rememberClockOffset("srv", "h", 21, { listingMs: 5 * H }, "a probe file", T);
      expect(caps.clockOffset("srv", "h", 21, T + 1)).toEqual({ listingMs: 5 * H, how: "a probe file", at: T });
      caps.save({ remote: "srv", host: "h", port: 21, features: {}, probedAt: T + 2 });
      expect(caps.clockOffset("srv", "h", 21, T + 3)?.listingMs).toBe(5 * H);
      expect(caps.clockOffset("srv", "h", 990, T + 3)).toBeUndefined();
      expect(caps.clockOffset("srv", "h", 21, T + 31 * 86_400_000)).toBeUndefined();
      caps.save({ remote: "srv", host: "other", port: 21, features: {}, probedAt: T + 4 });
      expect(caps.clockOffset("srv", "other", 21, T + 5)).toBeUndefined();
    } finally {
      state.close();
    }
  });
});
