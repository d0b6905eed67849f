import { describe, expect, it } from "vitest";
import type { Direction, MaxDelete } from "../../src/config/types.js";
import { SafetyGuardError } from "../../src/errors.js";
import { checkGuards, withoutDeletes } from "../../src/plan/guards.js";
import type { Action, LocalEntry, RemoteEntry, StateEntry } from "../../src/plan/types.js";

const file = (path: string): LocalEntry => ({ path, type: "file", size: 1, mtimeMs: 0 });
const rfile = (path: string): RemoteEntry => ({ path, type: "file", size: 1, modifyMs: 0, precision: "ms" });
const st = (path: string, type: "file" | "dir" = "file"): StateEntry => ({
  path,
  type,
  localSize: 1,
  localMtimeMs: 0,
  remoteSize: 1,
  remoteModifyMs: 0,
  remotePrecision: "ms",
  placedRemote: true,
  placedLocal: true,
});
const delLocal = (path: string, type: "file" | "dir" = "file"): Action => ({ kind: "delete-local", path, reason: "test", type });
const delRemote = (path: string, type: "file" | "dir" = "file"): Action => ({ kind: "delete-remote", path, reason: "test", type });
const upload = (path: string): Action => ({ kind: "upload", path, reason: "test", local: file(path), placedRemote: true });
const names = (n: number, prefix = "f") => Array.from({ length: n }, (_, i) => `${prefix}${i}.txt`);

interface Case {
  plan: Action[];
  stateFiles?: number;
  local?: string[];
  remote?: string[];
  complete?: boolean;
  failedDirs?: string[];
  direction?: Direction;
  maxDelete?: MaxDelete;
  force?: boolean;
}

function guard(c: Case) {
  const stateFiles = names(c.stateFiles ?? 10, "s");
  return checkGuards({
    plan: c.plan,
    state: new Map(stateFiles.map((p) => [p, st(p)])),
    local: new Map((c.local ?? ["keep.txt"]).map((p) => [p, file(p)])),
    remote: {
      entries: new Map((c.remote ?? ["keep.txt"]).map((p) => [p, rfile(p)])),
      complete: c.complete ?? true,
      failedDirs: c.failedDirs ?? [],
    },
    policy: { direction: c.direction ?? "two-way", maxDelete: c.maxDelete ?? { kind: "percent", value: 50 } },
    force: c.force ?? false,
  });
}

describe("the wiped-source guard", () => {
  it.each<[string, Case, RegExp]>([
    [
      "an empty remote listing that would delete local files stops a download job",
      { direction: "download", remote: [], plan: [delLocal("s0.txt")] },
      /remote folder is empty.*--force/s,
    ],
    [
      "an empty local folder that would delete remote files stops an upload job",
      { direction: "upload", local: [], plan: [delRemote("s0.txt")] },
      /local folder is empty.*mounted.*--force/s,
    ],
    [
      "an empty remote listing that would delete local files stops a two-way job",
      { direction: "two-way", remote: [], plan: [delLocal("s0.txt")] },
      /remote folder is empty/,
    ],
  ])("%s", (_name, c, message) => {
    expect(() => guard(c)).toThrow(SafetyGuardError);
    expect(() => guard(c)).toThrow(message);
  });

  it.each<[string, Case]>([
    ["an empty remote listing is fine when nothing is deleted", { direction: "upload", remote: [], plan: [upload("s0.txt")] }],
    ["an empty remote listing is fine when the state holds no files", { stateFiles: 0, remote: [], plan: [delLocal("x.txt")], maxDelete: { kind: "count", value: 5 } }],
    ["an empty local folder is fine when only local deletes are planned", { local: [], plan: [delLocal("s0.txt")] }],
    ["a non-empty source is fine", { plan: [delLocal("s0.txt")] }],
  ])("%s", (_name, c) => {
    expect(guard(c).plan).toEqual(c.plan);
  });

  it.each<[string, "upload" | "download"]>([
    ["an emptied local folder that keeps its empty folders still stops an upload job, with maxDelete as a count", "upload"],
    ["an emptied remote folder that keeps its empty folders still stops a download job, with maxDelete as a count", "download"],
  ])("%s", (_name, direction) => {
    const folders = ["a", "a/b", "c"];
    const state = new Map([...names(3, "a/b/f").map((p) => [p, st(p)] as const), ...folders.map((p) => [p, st(p, "dir")] as const)]);
    const localDirs = new Map(folders.map((p): [string, LocalEntry] => [p, { path: p, type: "dir", size: 0, mtimeMs: 0 }]));
    const remoteDirs = new Map(folders.map((p): [string, RemoteEntry] => [p, { path: p, type: "dir", size: 0, precision: "none" }]));
    const localFiles = new Map([...state.keys()].filter((p) => p.endsWith(".txt")).map((p) => [p, file(p)]));
    const remoteFiles = new Map([...state.keys()].filter((p) => p.endsWith(".txt")).map((p) => [p, rfile(p)]));
    const upload = direction === "upload";
    const run = () =>
      checkGuards({
        plan: [...localFiles.keys()].map((p) => (upload ? delRemote(p) : delLocal(p))),
        state,
        local: upload ? localDirs : new Map([...localDirs, ...localFiles]),
        remote: { entries: upload ? new Map([...remoteDirs, ...remoteFiles]) : remoteDirs, complete: true, failedDirs: [] },
        policy: { direction, maxDelete: { kind: "count", value: 100 } },
        force: false,
      });
    expect(run).toThrow(SafetyGuardError);
    expect(run).toThrow(upload ? /local folder is empty.*but 3 file\(s\)/ : /remote folder is empty.*but 3 file\(s\)/);
  });

  it("--force lets the run delete anyway and warns", () => {
    const plan = [delLocal("s0.txt")];
    const result = guard({ remote: [], plan, force: true });
    expect(result.plan).toEqual(plan);
    expect(result.warnings.join("\n")).toMatch(/remote folder is empty.*--force/s);
  });
});

describe("the maxDelete guard", () => {
  it.each<[string, MaxDelete, number, number, boolean]>([
    ["5 of 10 tracked files is not more than 50%", { kind: "percent", value: 50 }, 10, 5, false],
    ["6 of 10 tracked files is more than 50%", { kind: "percent", value: 50 }, 10, 6, true],
    ["100% allows deleting every tracked file", { kind: "percent", value: 100 }, 10, 10, false],
    ["any file deletion is too many when nothing is tracked yet", { kind: "percent", value: 50 }, 0, 1, true],
    ["3 deletions are not more than a count of 3", { kind: "count", value: 3 }, 10, 3, false],
    ["4 deletions are more than a count of 3", { kind: "count", value: 3 }, 10, 4, true],
    ["a count of 0 refuses any file deletion", { kind: "count", value: 0 }, 10, 1, true],
    ["no deletions never trip a count of 0", { kind: "count", value: 0 }, 10, 0, false],
  ])("%s", (_name, maxDelete, stateFiles, deletes, throws) => {
    const c: Case = { maxDelete, stateFiles, plan: names(deletes).map((p) => delRemote(p)) };
    if (throws) expect(() => guard(c)).toThrow(/maxDelete.*--force/s);
    else expect(guard(c).plan).toHaveLength(deletes);
  });

  it.each<[string, Action[]]>([
    ["folder deletions do not count toward maxDelete", [delRemote("a", "dir"), delRemote("b", "dir"), delRemote("c", "dir")]],
    ["transfers do not count toward maxDelete", [upload("a"), upload("b"), upload("c")]],
  ])("%s", (_name, plan) => {
    expect(guard({ maxDelete: { kind: "count", value: 1 }, plan }).plan).toEqual(plan);
  });

  it("state folder rows do not count as tracked files", () => {
    const state = new Map([
      ["a.txt", st("a.txt")],
      ["d1", st("d1", "dir")],
      ["d2", st("d2", "dir")],
    ]);
    const run = () =>
      checkGuards({
        plan: [delRemote("a.txt")],
        state,
        local: new Map([["b.txt", file("b.txt")]]),
        remote: { entries: new Map([["a.txt", rfile("a.txt")]]), complete: true, failedDirs: [] },
        policy: { direction: "upload", maxDelete: { kind: "percent", value: 50 } },
        force: false,
      });
    expect(run).toThrow(/100% of the 1 tracked/);
  });

  it.each<[string, Direction, RegExp]>([
    ["the message for an upload job points at the local folder", "upload", /local folder/],
    ["the message for a download job points at the remote folder", "download", /remote folder/],
    ["the message for a two-way job points at both folders", "two-way", /both folders/],
  ])("%s", (_name, direction, hint) => {
    expect(() => guard({ direction, maxDelete: { kind: "count", value: 0 }, plan: [delRemote("s1.txt")] })).toThrow(hint);
  });

  it("--force lets the deletions through with a warning", () => {
    const plan = names(9).map((p) => delRemote(p));
    const result = guard({ plan, force: true });
    expect(result.plan).toEqual(plan);
    expect(result.warnings).toEqual([expect.stringMatching(/9 file\(s\).*maxDelete \(50%\).*Proceeding because of --force/s)]);
  });
});

describe("an incomplete remote listing", () => {
  it.each<[string, boolean]>([
    ["drops every deletion", false],
    ["drops every deletion even with --force", true],
  ])("%s", (_name, force) => {
    const plan = [upload("a"), delLocal("b"), delRemote("c"), delRemote("d", "dir")];
    const result = guard({ plan, complete: false, failedDirs: ["sub"], force });
    expect(result.plan).toEqual([upload("a")]);
    expect(result.skippedDeletes).toBe(3);
    expect(result.warnings).toEqual([expect.stringMatching(/incomplete \(failed: sub\).*3 deletion/)]);
  });

  it("does not trip the other guards, because nothing is deleted any more", () => {
    const result = guard({ plan: names(9).map((p) => delLocal(p)), remote: [], complete: false, failedDirs: [""] });
    expect(result.plan).toEqual([]);
    expect(result.warnings[0]).toMatch(/failed: \//);
  });

  it("with no deletions planned adds no warning", () => {
    expect(guard({ plan: [upload("a")], complete: false }).warnings).toEqual([]);
  });
});

describe("withoutDeletes", () => {
  it.each<[string, Action[], Action[]]>([
    ["removes local and remote deletions of files and folders", [upload("a"), delLocal("b"), delRemote("c", "dir")], [upload("a")]],
    ["keeps a plan without deletions as it is", [upload("a"), { kind: "forget", path: "x", reason: "gone" }], [upload("a"), { kind: "forget", path: "x", reason: "gone" }]],
  ])("%s", (_name, plan, expected) => {
    expect(withoutDeletes(plan)).toEqual(expected);
  });

  it("a complete listing under every threshold returns the plan unchanged with no warnings", () => {
    const plan = [upload("a"), delRemote("s0.txt")];
    expect(guard({ plan })).toEqual({ plan, skippedDeletes: 0, warnings: [] });
  });
});
