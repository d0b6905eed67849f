import { describe, expect, it } from "vitest";
import { diff } from "../../src/plan/diff.js";
import { localMatchesState, remoteFromState } from "../../src/plan/trusted-remote.js";
import type { LocalEntry, StateEntry } from "../../src/plan/types.js";

const T = 1_700_000_000_000;
const row = (path: string, sourceTaken = false): StateEntry => ({
  path, type: "file", localSize: 5, localMtimeMs: T, remoteSize: 5, remoteModifyMs: T, remotePrecision: "second", placedRemote: true, placedLocal: false,
  ...(sourceTaken ? { sourceTaken: true } : {}),
});
const file = (path: string): LocalEntry => ({ path, type: "file", size: 5, mtimeMs: T });

const planOf = (local: Map<string, LocalEntry>, state: Map<string, StateEntry>, del: "never" | "tracked" | "mirror") =>
  diff({ local, remote: remoteFromState(state), state, policy: { direction: "upload", delete: del, onConflict: "keep-both" }, now: new Date(T) });

describe("a trusted upload job whose sources afterTransfer takes", () => {
  const state = new Map([row("kept.txt"), row("sent/a.txt", true), row("b.txt", true)].map((s) => [s.path, s]));

  it("matches the state with the taken files gone from local, and the diff it skips is empty", () => {
    const local = new Map([["kept.txt", file("kept.txt")]]);
    expect(localMatchesState(local, state)).toBe(true);
    for (const del of ["never", "tracked", "mirror"] as const) expect(planOf(local, state, del)).toEqual([]);
  });

  it("does not match when a taken file is on local again: the diff sends it", () => {
    const local = new Map([["kept.txt", file("kept.txt")], ["b.txt", file("b.txt")]]);
    expect(localMatchesState(local, state)).toBe(false);
    expect(planOf(local, state, "never").map((a) => `${a.kind} ${a.path}`)).toEqual(["upload b.txt"]);
  });
});
