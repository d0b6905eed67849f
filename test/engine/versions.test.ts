// Versions ("backup": { "dir", "keep" }) on the in-memory server: what a run overwrites or
// deletes, on either side, moves into the versions folder of that side, laid out by run time;
// the folder is never part of the sync; retention prunes it; a cut during a move loses nothing.
import { rmSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { versionStamp } from "../../src/sync/versions.js";
import { at, engine, filesOf } from "./harness.js";

/** A run's time, set by the test: its versions folder's name. */
const RUN1 = Date.UTC(2026, 11, 5, 3, 0, 0);
const day = (n: number) => new Date(RUN1 + n * 86_400_000);
const stampOf = (d: Date) => versionStamp(d.getTime());

describe("versions of an upload job (the server side)", () => {
  const backup = { dir: ".versions", keep: "30d" };

  it("a file the run overwrites on the server is first moved into the versions folder, under the run's time", async () => {
    const e = engine({ job: { direction: "upload", backup } });
    e.writeLocal("docs/a.txt", "first");
    await e.run({ now: day(0) });
    e.writeLocal("docs/a.txt", "second, longer", at(5));
    const s = await e.run({ now: day(1) });
    expect(s).toMatchObject({ status: "ok", uploaded: 1, failed: 0 });
    expect(e.readRemote("docs/a.txt")).toBe("second, longer");
    expect(e.readRemote(`.versions/${stampOf(day(1))}/docs/a.txt`)).toBe("first");
    expect(e.remote.pathsOf("rename")).toContain(`/job/docs/a.txt -> /job/.versions/${stampOf(day(1))}/docs/a.txt`);
  });

  it("a file the run deletes on the server is moved into the versions folder instead of deleted", async () => {
    const e = engine({ job: { direction: "upload", delete: "mirror", maxDelete: 10, backup } });
    e.writeLocal("a.txt", "alpha");
    e.writeLocal("b.txt", "bravo");
    await e.run({ now: day(0) });
    rmSync(`${e.local}/b.txt`);
    const s = await e.run({ now: day(1) });
    expect(s).toMatchObject({ status: "ok", deletedRemote: 1 });
    expect(e.readRemote("b.txt")).toBeUndefined();
    expect(e.readRemote(`.versions/${stampOf(day(1))}/b.txt`)).toBe("bravo");
    expect(e.remote.pathsOf("remove")).toEqual([]);
  });

  it("the versions folder is never part of the sync: a local one is not uploaded, and the server's is not deleted by a mirror job", async () => {
    const e = engine({ job: { direction: "upload", delete: "mirror", maxDelete: 10, backup } });
    e.writeLocal("a.txt", "alpha");
    e.writeLocal(".versions/old/x.txt", "a local file under the versions folder");
    e.putRemote(`.versions/${stampOf(day(-1))}/a.txt`, "kept");
    const s = await e.run({ now: day(0) });
    expect(s).toMatchObject({ status: "ok", uploaded: 1, deletedRemote: 0 });
    expect(s.plan.map((a) => a.path)).toEqual(["a.txt"]);
    expect(filesOf(e.remoteTree())).toEqual({ "a.txt": "alpha", [`.versions/${stampOf(day(-1))}/a.txt`]: "kept" });
  });
});

describe("versions of a download job (the local side)", () => {
  const backup = { dir: "_versions", keep: 5 };

  it("a local file the run overwrites or deletes is moved into the local versions folder first", async () => {
    const e = engine({ job: { direction: "download", delete: "mirror", maxDelete: 10, backup } });
    e.putRemote("a.txt", "alpha", at(1));
    e.putRemote("sub/b.txt", "bravo", at(1));
    await e.run({ now: day(0) });
    e.putRemote("a.txt", "alpha v2", at(9));
    await e.remote.remove("/job/sub/b.txt");
    const s = await e.run({ now: day(1) });
    expect(s).toMatchObject({ status: "ok", downloaded: 1, deletedLocal: 1, failed: 0 });
    const kept = `_versions/${stampOf(day(1))}`;
    expect(filesOf(e.localTree())).toEqual({ "a.txt": "alpha v2", [`${kept}/a.txt`]: "alpha", [`${kept}/sub/b.txt`]: "bravo" });
    // The kept version keeps its time.
    expect(e.localMtime(`${kept}/a.txt`)).toBe(at(1));
    // The local versions folder is never uploaded (a download job) nor deleted as "not on the server".
    const again = await e.run({ now: day(2) });
    expect(again, again.errors.join("\n")).toMatchObject({ status: "ok", downloaded: 0, deletedLocal: 0 });
    expect(e.readLocal(`${kept}/a.txt`)).toBe("alpha");
  });
});

describe("versions of a two-way job (both sides)", () => {
  it("each side keeps what the run replaced on it, and the versions folders are never exchanged", async () => {
    const e = engine({ job: { direction: "two-way", backup: { dir: ".versions", keep: "30d" } } });
    e.writeLocal("mine.txt", "mine v1");
    e.putRemote("theirs.txt", "theirs v1", at(1));
    await e.run({ now: day(0) });
    e.writeLocal("mine.txt", "mine v2", at(10));
    e.putRemote("theirs.txt", "theirs v2", at(10));
    const s = await e.run({ now: day(1) });
    expect(s).toMatchObject({ status: "ok", uploaded: 1, downloaded: 1 });
    const kept = `.versions/${stampOf(day(1))}`;
    expect(e.readRemote(`${kept}/mine.txt`)).toBe("mine v1");
    expect(e.readLocal(`${kept}/theirs.txt`)).toBe("theirs v1");
    expect(e.readLocal(`${kept}/mine.txt`)).toBeUndefined();
    expect(e.readRemote(`${kept}/theirs.txt`)).toBeUndefined();
    const again = await e.run({ now: day(2) });
    expect(again).toMatchObject({ uploaded: 0, downloaded: 0, deletedLocal: 0, deletedRemote: 0 });
  });
});

describe("run folders", () => {
  it("two runs in the same second keep their versions in two folders: the second never replaces the first's", async () => {
    const e = engine({ job: { direction: "upload", backup: { dir: ".versions", keep: 10 } } });
    e.writeLocal("a.txt", "v1");
    await e.run({ now: day(0) });
    e.writeLocal("a.txt", "v2", at(1));
    await e.run({ now: day(1) });
    e.writeLocal("a.txt", "v3", at(2));
    await e.run({ now: day(1) });
    const later = new Date(day(1).getTime() + 1000);
    expect(e.readRemote(`.versions/${stampOf(day(1))}/a.txt`)).toBe("v1");
    expect(e.readRemote(`.versions/${stampOf(later)}/a.txt`)).toBe("v2");
    expect(e.readRemote("a.txt")).toBe("v3");
  });
});

describe("retention", () => {
  it("keep as a count: the runs past the newest N are removed, on both sides", async () => {
    const e = engine({ job: { direction: "two-way", backup: { dir: ".versions", keep: 2 } } });
    e.writeLocal("up.txt", "u0");
    e.putRemote("down.txt", "d0", at(0));
    await e.run({ now: day(0) });
    for (let i = 1; i <= 3; i++) {
      e.writeLocal("up.txt", `u${i}`, at(i * 10));
      e.putRemote("down.txt", `d${i}`, at(i * 10));
      const s = await e.run({ now: day(i) });
      expect(s).toMatchObject({ status: "ok", failed: 0 });
    }
    const remoteRuns = Object.keys(e.remoteTree()).filter((p) => /^\.versions\/[^/]+$/.test(p));
    const localRuns = Object.keys(e.localTree()).filter((p) => /^\.versions\/[^/]+$/.test(p));
    expect(remoteRuns).toEqual([`.versions/${stampOf(day(2))}`, `.versions/${stampOf(day(3))}`]);
    expect(localRuns).toEqual([`.versions/${stampOf(day(2))}`, `.versions/${stampOf(day(3))}`]);
    expect(e.readRemote(`.versions/${stampOf(day(3))}/up.txt`)).toBe("u2");
    expect(e.readLocal(`.versions/${stampOf(day(3))}/down.txt`)).toBe("d2");
  });

  it("keep as an age: run folders older than that are removed at the end of a run, younger ones and other names stay", async () => {
    const e = engine({ job: { direction: "upload", backup: { dir: ".versions", keep: "30d" } } });
    e.putRemote(`.versions/${stampOf(day(-40))}/deep/old.txt`, "old");
    e.putRemote(`.versions/${stampOf(day(-10))}/young.txt`, "young");
    e.putRemote(".versions/notes/readme.txt", "not a run folder");
    e.writeLocal("a.txt", "alpha");
    const s = await e.run({ now: day(0) });
    expect(s).toMatchObject({ status: "ok", failed: 0 });
    expect(s.warnings).toEqual([]);
    expect(filesOf(e.remoteTree())).toEqual({
      "a.txt": "alpha",
      [`.versions/${stampOf(day(-10))}/young.txt`]: "young",
      ".versions/notes/readme.txt": "not a run folder",
    });
    expect(e.remote.info(`/job/.versions/${stampOf(day(-40))}`)).toBeUndefined();
  });
});

describe("faults during a version move", () => {
  const backup = { dir: ".versions", keep: "30d" };

  it("the connection cut right after the server moved the file (the reply lost): the retry sees it moved, and nothing is lost", async () => {
    const e = engine({ job: { direction: "upload", backup } });
    e.writeLocal("a.txt", "v1");
    await e.run({ now: day(0) });
    e.writeLocal("a.txt", "v2", at(1));
    const fault = e.remote.loseReply({ method: "rename", path: "/job/a.txt", nth: 1 });
    const s = await e.run({ now: day(1) });
    expect(fault.hits).toBe(1);
    expect(s).toMatchObject({ status: "ok", uploaded: 1, failed: 0 });
    expect(e.readRemote("a.txt")).toBe("v2");
    expect(e.readRemote(`.versions/${stampOf(day(1))}/a.txt`)).toBe("v1");
  });

  it("the connection cut before the move on every attempt: the upload fails and the server's file is neither replaced nor lost", async () => {
    const e = engine({ job: { direction: "upload", backup } });
    e.writeLocal("a.txt", "v1");
    await e.run({ now: day(0) });
    e.writeLocal("a.txt", "v2", at(1));
    // Only the moves out of a.txt fail (a rename from it to anywhere but its temporary file's name).
    e.remote.fail({ method: "rename", path: "/job/a.txt" });
    const s = await e.run({ now: day(1) });
    expect(s).toMatchObject({ status: "failed", uploaded: 0, failed: 1 });
    expect(e.readRemote("a.txt")).toBe("v1");
    // The move was tried (every attempt), and the new file was never renamed over the old one (the one rename onto a.txt is the first run's).
    const renames = e.remote.pathsOf("rename");
    expect(renames.filter((r) => r.startsWith(`/job/a.txt -> /job/.versions/${stampOf(day(1))}/a.txt`))).toHaveLength(3);
    expect(renames.filter((r) => r.endsWith("-> /job/a.txt")), renames.join("\n")).toHaveLength(1);
    expect(Object.keys(e.remoteTree()).filter((p) => p.endsWith("a.txt"))).toEqual(["a.txt"]);
  });

  it("the new file cannot be put in place after the old one was moved: the old one goes back", async () => {
    const e = engine({ job: { direction: "upload", backup } });
    e.writeLocal("a.txt", "v1");
    await e.run({ now: day(0) });
    e.writeLocal("a.txt", "v2", at(1));
    // Every rename onto a.txt fails (the upload's placing), the move away from it does not.
    e.remote.fail({ method: "rename", path: (p) => p.includes(".ftps-sync.") });
    const s = await e.run({ now: day(1) });
    expect(s).toMatchObject({ status: "failed", uploaded: 0 });
    expect(e.readRemote("a.txt")).toBe("v1");
    const version = `/job/.versions/${stampOf(day(1))}/a.txt`;
    expect(e.remote.pathsOf("rename")).toEqual(expect.arrayContaining([`/job/a.txt -> ${version}`, `${version} -> /job/a.txt`]));
    expect(e.remote.info(version)).toBeUndefined();
  });

  it("a deletion cut during its move: the retry finds the file moved, and the version is there", async () => {
    const e = engine({ job: { direction: "upload", delete: "mirror", maxDelete: 10, backup } });
    e.writeLocal("a.txt", "alpha");
    e.writeLocal("b.txt", "bravo");
    await e.run({ now: day(0) });
    rmSync(`${e.local}/b.txt`);
    const fault = e.remote.loseReply({ method: "rename", path: "/job/b.txt", nth: 1 });
    const s = await e.run({ now: day(1) });
    expect(fault.hits).toBe(1);
    expect(s).toMatchObject({ status: "ok", deletedRemote: 1, failed: 0 });
    expect(e.readRemote(`.versions/${stampOf(day(1))}/b.txt`)).toBe("bravo");
    expect(e.stateRows().has("b.txt")).toBe(false);
  });
});
