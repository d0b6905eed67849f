import { describe, expect, it } from "vitest";
import { dayTimesToRefine } from "../../src/sync/day-times.js";
import { parseMdtmReply, parseMlstReply, parseTimeVal } from "../../src/protocol/exact-times.js";
import type { RemoteEntry, StateEntry } from "../../src/plan/types.js";

describe("exact remote times", () => {
  it("reads MDTM replies and RFC 3659 times, with or without fractions, and refuses anything else", () => {
    expect(parseMdtmReply("213 20261205143041")).toBe(Date.UTC(2026, 11, 5, 14, 30, 41));
    expect(parseMdtmReply("213 20261205143041.25")).toBe(Date.UTC(2026, 11, 5, 14, 30, 41, 250));
    expect(parseTimeVal("2026120514304")).toBeUndefined();
    expect(parseMdtmReply("550 No such file")).toBeUndefined();
  });

  it("reads size and time from an MLST reply's facts line", () => {
    const reply = "250-Start of list for /job/f.dat\r\n modify=20261205143041;perm=adfrw;size=11;type=file; /job/f.dat\r\n250 End of list";
    expect(parseMlstReply(reply)).toEqual({ size: 11, modifyMs: Date.UTC(2026, 11, 5, 14, 30, 41) });
    expect(parseMlstReply("250 End")).toEqual({});
  });
});

describe("dayTimesToRefine", () => {
  const remote = (path: string, size: number, precision: RemoteEntry["precision"]): RemoteEntry => ({ path, type: "file", size, modifyMs: Date.UTC(2026, 11, 5), precision });
  const state = (path: string, size: number, precision: StateEntry["remotePrecision"]): StateEntry => ({
    path, type: "file", localSize: size, localMtimeMs: 0, remoteSize: size, remoteModifyMs: Date.UTC(2026, 11, 5, 14, 30), remotePrecision: precision, placedRemote: false, placedLocal: true,
  });

  it("picks only files listed by day, of the size the state knows to a finer time", () => {
    const listed = new Map(
      [remote("day-same-size", 5, "day"), remote("day-other-size", 6, "day"), remote("minute", 5, "minute"), remote("day-new", 5, "day"), remote("day-state-day", 5, "day")].map(
        (e) => [e.path, e],
      ),
    );
    const known = new Map(
      [state("day-same-size", 5, "minute"), state("day-other-size", 5, "minute"), state("minute", 5, "minute"), state("day-state-day", 5, "day")].map((s) => [s.path, s]),
    );
    expect(dayTimesToRefine(listed, known).map((e) => e.path)).toEqual(["day-same-size"]);
  });
});
