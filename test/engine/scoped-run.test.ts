import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { makeScopeTest } from "../../src/plan/filter.js";
import { at, engine, filesOf } from "./harness.js";

/** A job synced once with files in two folders and the root, on both sides. */
async function synced(job: Record<string, unknown> = {}) {
  const e = engine({ job: { direction: "upload", ...job } });
  for (const [p, c] of Object.entries({ "top.txt": "T", "a/x.txt": "X", "b/y.txt": "Y", "b/deep/z.txt": "Z" })) e.writeLocal(p, c);
  expect(await e.run()).toMatchObject({ status: "ok", uploaded: 4 });
  return e;
}

describe("a run scoped to the folders watch events named", () => {
  it("uploads what changed in the named folder, leaves a change elsewhere (and its state) to the next full run, which catches it", async () => {
    const e = await synced();
    e.writeLocal("a/new.txt", "new", at(5));
    e.writeLocal("b/y.txt", "Y changed", at(5)); // outside the scope: no event named b
    const scoped = await e.run({ trigger: "watch", scope: { folders: ["a"], deep: [] } });
    expect(scoped).toMatchObject({ status: "ok", uploaded: 1, deletedRemote: 0, failed: 0 });
    expect(e.readRemote("a/new.txt")).toBe("new");
    expect(e.readRemote("b/y.txt")).toBe("Y");
    // Nothing outside the scope was forgotten: the state still knows every file.
    expect([...e.stateRows().keys()].filter((p) => !p.endsWith("/") && e.stateRows().get(p)!.type === "file").sort()).toEqual(
      ["a/new.txt", "a/x.txt", "b/deep/z.txt", "b/y.txt", "top.txt"],
    );

    const full = await e.run({ trigger: "schedule" });
    expect(full).toMatchObject({ status: "ok", uploaded: 1 });
    expect(e.readRemote("b/y.txt")).toBe("Y changed");
  });

  it("takes everything under a new folder, and nothing of a named folder's subfolders", async () => {
    const e = await synced();
    e.writeLocal("b/new/one.txt", "1", at(5));
    e.writeLocal("b/new/two/three.txt", "3", at(5));
    e.writeLocal("b/deep/z.txt", "Z changed", at(5)); // in a subfolder of b, which was not named
    const s = await e.run({ trigger: "watch", scope: { folders: ["b"], deep: ["b/new"] } });
    expect(s).toMatchObject({ status: "ok", uploaded: 2, failed: 0 });
    expect(e.readRemote("b/new/two/three.txt")).toBe("3");
    expect(e.readRemote("b/deep/z.txt")).toBe("Z");
  });

  it("becomes a full run when the named folder holds a deletion: the guards speak of the whole tree", async () => {
    const e = await synced({ delete: "mirror" });
    rmSync(join(e.local, "a", "x.txt"));
    e.writeLocal("b/y.txt", "Y changed", at(5)); // only a full run sees this
    const s = await e.run({ trigger: "watch", scope: { folders: ["a"], deep: [] } });
    expect(s).toMatchObject({ status: "ok", deletedRemote: 1, uploaded: 1, failed: 0 });
    expect(filesOf(e.remoteTree())).toEqual({ "top.txt": "T", "b/y.txt": "Y changed", "b/deep/z.txt": "Z" });
  });

  it("syncs a named folder that is new on this side as a whole", async () => {
    const e = await synced();
    mkdirSync(join(e.local, "c"));
    e.writeLocal("c/d/e.txt", "E", at(5));
    const s = await e.run({ trigger: "watch", scope: { folders: [""], deep: ["c"] } });
    expect(s).toMatchObject({ status: "ok", uploaded: 1, failed: 0 });
    expect(e.readRemote("c/d/e.txt")).toBe("E");
  });
});

describe("the state's rows a scoped run reads", () => {
  it("are those under the named folders and the paths asked for, not those of a folder whose name merely begins the same", async () => {
    const e = engine({ job: { direction: "upload" } });
    for (const p of ["b/y.txt", "b/deep/z.txt", "b-side/w.txt", "b0.txt", "top.txt"]) e.writeLocal(p, p);
    await e.run();
    const all = () => true;
    expect([...e.state.entries.loadUnder("job", ["b"], ["b"], all).keys()].sort()).toEqual(["b", "b/deep", "b/deep/z.txt", "b/y.txt"]);
    const direct = makeScopeTest({ folders: ["b"], deep: [] });
    expect([...e.state.entries.loadUnder("job", ["b"], ["b"], direct).keys()].sort()).toEqual(["b", "b/y.txt"]);
    expect(e.state.entries.loadUnder("job", [""], [], all).size).toBe(e.stateRows().size);
  });
});

describe("the scope's paths", () => {
  const inScope = makeScopeTest({ folders: ["a/b"], deep: ["n"] });
  it.each([
    ["a", "dir", true], // on the way
    ["a/b", "dir", true],
    ["a/b/f.txt", "file", true],
    ["a/b/c", "dir", false], // a subfolder of a named folder
    ["a/b/c/f.txt", "file", false],
    ["a/f.txt", "file", false], // beside the way
    ["n/any/thing.txt", "file", true],
    ["n/sub", "dir", true],
    ["top.txt", "file", false],
  ] as const)("%s (%s): %s", (path, type, expected) => {
    expect(inScope(path, type)).toBe(expected);
  });
});
