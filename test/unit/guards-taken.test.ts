import { describe, expect, it } from "vitest";
import { SafetyGuardError } from "../../src/errors.js";
import { checkGuards } from "../../src/plan/guards.js";
import type { Action, LocalEntry, StateEntry } from "../../src/plan/types.js";

const row = (path: string, sourceTaken: boolean): StateEntry => ({
  path, type: "file", localSize: 1, localMtimeMs: 0, remoteSize: 1, remoteModifyMs: 0, remotePrecision: "ms", placedRemote: false, placedLocal: true,
  ...(sourceTaken ? { sourceTaken: true } : {}),
});
const file = (path: string): LocalEntry => ({ path, type: "file", size: 1, mtimeMs: 0 });

describe("maxDelete beside rows whose source afterTransfer took", () => {
  it("counts a share of the files a deletion may reach, not of the rows the job took from the source", () => {
    // A pickup job: 100 files fetched and deleted on the server (their rows remember it), and 4
    // others synced; the server lost 3 of those 4: 75% of what a deletion may reach.
    const state = new Map<string, StateEntry>();
    for (let i = 0; i < 100; i++) state.set(`taken${i}.csv`, row(`taken${i}.csv`, true));
    for (let i = 0; i < 4; i++) state.set(`kept${i}.csv`, row(`kept${i}.csv`, false));
    const local = new Map([...state.keys()].map((p) => [p, file(p)]));
    const plan: Action[] = [0, 1, 2].map((i) => ({ kind: "delete-local", path: `kept${i}.csv`, reason: "test", type: "file" }));
    const input = {
      plan, state, local, policy: { direction: "download" as const, maxDelete: { kind: "percent" as const, value: 50 } }, force: false,
      remote: { entries: new Map([["kept3.csv", { path: "kept3.csv", type: "file" as const, size: 1, modifyMs: 0, precision: "ms" as const }]]), complete: true, failedDirs: [] },
    };
    expect(() => checkGuards(input)).toThrow(SafetyGuardError);
    expect(() => checkGuards(input)).toThrow(/3 file\(s\) \(75% of the 4 tracked file\(s\)\)/);
  });
});
