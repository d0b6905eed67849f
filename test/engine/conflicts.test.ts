import { describe, expect, it } from "vitest";
import { at, engine, filesOf, T0 } from "./harness.js";

/** A two-way job synced once with a.txt = "base" on both sides, then edited on both. */
async function editedOnBothSides(onConflict: string, times: { local: number; remote: number }) {
  const e = engine({ job: { direction: "two-way", onConflict } });
  e.writeLocal("a.txt", "base");
  e.writeLocal("other.txt", "untouched");
  expect(await e.run()).toMatchObject({ status: "ok", uploaded: 2 });
  e.writeLocal("a.txt", "local edit", times.local);
  e.putRemote("a.txt", "remote edit!", times.remote);
  return e;
}

describe("two-way conflicts: both sides changed, not the same bytes", () => {
  it("keep-both: the server's version is kept under a conflict name on both sides, the local one under the real name", async () => {
    const e = await editedOnBothSides("keep-both", { local: at(10), remote: at(20) });
    const s = await e.run();
    expect(s).toMatchObject({ status: "ok", conflicts: 1, failed: 0 });
    const local = filesOf(e.localTree());
    const conflictName = Object.keys(local).find((p) => p !== "a.txt" && p !== "other.txt");
    expect(conflictName).toMatch(/^a\.conflict-.+-remote\.txt$/);
    expect(local).toEqual({ "a.txt": "local edit", [conflictName!]: "remote edit!", "other.txt": "untouched" });
    expect(filesOf(e.remoteTree())).toEqual(local);
    expect(e.stateRows().get("a.txt")).toMatchObject({ localSize: 10, remoteSize: 10 });
    expect(e.stateRows().get(conflictName!)).toMatchObject({ localSize: 12, remoteSize: 12 });
    // Settled: the next run has nothing to do.
    expect((await e.run()).plan).toEqual([]);
  });

  it("newer-wins: the remote edit, made later, replaces the local one", async () => {
    const e = await editedOnBothSides("newer-wins", { local: at(10), remote: at(20) });
    const s = await e.run();
    expect(s).toMatchObject({ status: "ok", conflicts: 1 });
    expect(e.readLocal("a.txt")).toBe("remote edit!");
    expect(e.readRemote("a.txt")).toBe("remote edit!");
    expect(Object.keys(e.localTree())).toEqual(["a.txt", "other.txt"]);
  });

  it("newer-wins: the local edit, made later, replaces the remote one", async () => {
    const e = await editedOnBothSides("newer-wins", { local: at(30), remote: at(20) });
    expect(await e.run()).toMatchObject({ status: "ok", conflicts: 1 });
    expect(e.readRemote("a.txt")).toBe("local edit");
    expect(e.readLocal("a.txt")).toBe("local edit");
  });

  it("newer-wins: a time further ahead of this machine's clock than futureTolerance never wins: both are kept", async () => {
    const e = await editedOnBothSides("newer-wins", { local: at(10), remote: at(24 * 60) });
    const s = await e.run({ now: new Date(at(15)) });
    expect(s).toMatchObject({ status: "ok", conflicts: 1 });
    expect(e.readLocal("a.txt")).toBe("local edit");
    expect(Object.values(filesOf(e.localTree()))).toContain("remote edit!");
    expect(Object.values(filesOf(e.remoteTree()))).toEqual(expect.arrayContaining(["local edit", "remote edit!"]));
  });

  it("local-wins: the local version replaces the server's, whatever the times", async () => {
    const e = await editedOnBothSides("local-wins", { local: at(10), remote: at(20) });
    expect(await e.run()).toMatchObject({ status: "ok", conflicts: 1 });
    expect(e.readRemote("a.txt")).toBe("local edit");
    expect(Object.keys(e.remoteTree())).toEqual(["a.txt", "other.txt"]);
  });

  it("remote-wins: the server's version replaces the local one, whatever the times", async () => {
    const e = await editedOnBothSides("remote-wins", { local: at(30), remote: at(20) });
    expect(await e.run()).toMatchObject({ status: "ok", conflicts: 1 });
    expect(e.readLocal("a.txt")).toBe("remote edit!");
    expect(Object.keys(e.localTree())).toEqual(["a.txt", "other.txt"]);
  });
});

describe("two-way: equal only on evidence", () => {
  it("the same bytes on both sides at the first run, with different times, are adopted: nothing is sent", async () => {
    const e = engine({ job: { direction: "two-way" } });
    e.writeLocal("same.txt", "identical", at(1));
    e.putRemote("same.txt", "identical", at(7));
    const s = await e.run();
    expect(s).toMatchObject({ status: "ok", uploaded: 0, downloaded: 0, conflicts: 0 });
    expect(e.remote.pathsOf("upload")).toEqual([]);
    expect(e.stateRows().get("same.txt")).toMatchObject({ localSize: 9, remoteSize: 9, placedLocal: false, placedRemote: false });
  });

  it("the same size and time but different bytes at the first run are a conflict, not a match", async () => {
    const e = engine({ job: { direction: "two-way" } });
    e.writeLocal("x.txt", "AAAA", T0);
    e.putRemote("x.txt", "BBBB", T0);
    const s = await e.run();
    expect(s).toMatchObject({ status: "ok", conflicts: 1 });
    expect(e.readLocal("x.txt")).toBe("AAAA");
    const local = filesOf(e.localTree());
    expect(Object.values(local).sort()).toEqual(["AAAA", "BBBB"]);
    expect(filesOf(e.remoteTree())).toEqual(local);
  });

  it("both sides edited to the same bytes are recorded as in sync, no conflict", async () => {
    const e = await editedOnBothSides("keep-both", { local: at(10), remote: at(20) });
    e.putRemote("a.txt", "local edit", at(20));
    const s = await e.run();
    expect(s).toMatchObject({ status: "ok", conflicts: 0, uploaded: 0, downloaded: 0 });
    expect(Object.keys(e.localTree())).toEqual(["a.txt", "other.txt"]);
  });
});

describe("type mismatches", () => {
  it("a file on one side and a folder of the same name on the other is left for the user, both sides untouched", async () => {
    const e = engine({ job: { direction: "two-way" } });
    e.writeLocal("thing", "a file");
    e.writeLocal("fine.txt", "F");
    e.putRemote("thing/inside.txt", "in a folder");
    const s = await e.run();
    expect(s).toMatchObject({ status: "ok", failed: 0, uploaded: 1 });
    expect(s.plan.find((a) => a.path === "thing")?.kind).toBe("needs-user");
    expect(s.warnings.join("\n")).toMatch(/^thing: /m);
    expect(e.readLocal("thing")).toBe("a file");
    expect(e.readRemote("thing/inside.txt")).toBe("in a folder");
    expect(e.readRemote("fine.txt")).toBe("F");
    expect(e.localTree()["thing/inside.txt"]).toBeUndefined();
  });

  it("an upload job leaves a remote folder where the local side has a file, and says so", async () => {
    const e = engine({ job: { direction: "upload", delete: "mirror" } });
    e.writeLocal("thing", "a file");
    e.putRemote("thing/inside.txt", "in a folder");
    const s = await e.run();
    expect(s.plan.find((a) => a.path === "thing")?.kind).toBe("needs-user");
    expect(e.readRemote("thing/inside.txt")).toBe("in a folder");
    expect(e.remote.info("/job/thing")?.type).toBe("dir");
  });
});
