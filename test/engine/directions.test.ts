import { describe, expect, it } from "vitest";
import { at, engine, filesOf, T0 } from "./harness.js";

describe("upload jobs", () => {
  it("a first run sends every local file, and the state records each one", async () => {
    const e = engine({ job: { direction: "upload" } });
    e.writeLocal("a.txt", "alpha");
    e.writeLocal("sub/b.txt", "bravo");
    e.writeLocal("sub/deeper/c.txt", "");
    const s = await e.run();
    expect(s).toMatchObject({ status: "ok", uploaded: 3, failed: 0, downloaded: 0 });
    expect(e.remoteTree()).toEqual({ "a.txt": "alpha", sub: null, "sub/b.txt": "bravo", "sub/deeper": null, "sub/deeper/c.txt": "" });
    expect(e.remote.info("/job/a.txt")?.mtime).toBe(Math.floor(T0 / 1000) * 1000);
    const rows = e.stateRows();
    expect(rows.get("a.txt")).toMatchObject({ type: "file", localSize: 5, remoteSize: 5, placedRemote: true });
    expect(rows.get("sub/deeper/c.txt")).toMatchObject({ localSize: 0, remoteSize: 0 });
    expect(e.state.runs.last("job")).toMatchObject({ status: "ok", uploaded: 3 });
  });

  it("a re-run with nothing changed sends nothing and writes nothing on the server", async () => {
    const e = engine({ job: { direction: "upload" } });
    e.writeLocal("a.txt", "alpha");
    await e.run();
    const callsBefore = e.remote.calls.length;
    const s = await e.run();
    expect(s).toMatchObject({ status: "ok", uploaded: 0, failed: 0 });
    expect(s.plan).toEqual([]);
    const writes = e.remote.calls.slice(callsBefore).filter((c) => ["upload", "rename", "remove", "mkdir", "setTime"].includes(c.method));
    expect(writes).toEqual([]);
  });

  it("a local edit is sent again and replaces the server's copy", async () => {
    const e = engine({ job: { direction: "upload" } });
    e.writeLocal("a.txt", "alpha");
    e.writeLocal("b.txt", "bravo");
    await e.run();
    e.writeLocal("a.txt", "alpha, edited", at(5));
    const s = await e.run();
    expect(s).toMatchObject({ status: "ok", uploaded: 1 });
    expect(filesOf(e.remoteTree())).toEqual({ "a.txt": "alpha, edited", "b.txt": "bravo" });
    expect(e.stateRows().get("a.txt")).toMatchObject({ localSize: 13, localMtimeMs: at(5), remoteSize: 13 });
  });

  it("a change made on the server is not brought back: an upload job's source is the local folder", async () => {
    const e = engine({ job: { direction: "upload" } });
    e.writeLocal("a.txt", "alpha");
    await e.run();
    e.putRemote("a.txt", "changed by someone", at(5));
    const s = await e.run();
    expect(s.downloaded).toBe(0);
    expect(e.readLocal("a.txt")).toBe("alpha");
  });

  it("creates the remote folder when it does not exist yet", async () => {
    const e = engine({ job: { direction: "upload", remotePath: "/new/deep" } });
    e.writeLocal("a.txt", "alpha");
    const s = await e.run();
    expect(s).toMatchObject({ status: "ok", uploaded: 1 });
    expect(e.remote.read("/new/deep/a.txt")?.toString()).toBe("alpha");
  });
});

describe("download jobs", () => {
  it("a first run fetches every remote file with the server's times, and the state records each one", async () => {
    const e = engine({ job: { direction: "download" } });
    e.putRemote("a.txt", "alpha", at(1));
    e.putRemote("d/e.txt", "echo", at(2));
    const s = await e.run();
    expect(s).toMatchObject({ status: "ok", downloaded: 2, failed: 0, uploaded: 0 });
    expect(e.localTree()).toEqual({ "a.txt": "alpha", d: null, "d/e.txt": "echo" });
    expect(e.localMtime("a.txt")).toBe(at(1));
    expect(e.stateRows().get("d/e.txt")).toMatchObject({ type: "file", remoteSize: 4, localSize: 4, placedLocal: true });
  });

  it("a re-run with nothing changed fetches nothing", async () => {
    const e = engine({ job: { direction: "download" } });
    e.putRemote("a.txt", "alpha", at(1));
    await e.run();
    const s = await e.run();
    expect(s).toMatchObject({ status: "ok", downloaded: 0 });
    expect(s.plan).toEqual([]);
    expect(e.remote.pathsOf("download")).toEqual(["/job/a.txt"]);
  });

  it("a remote edit is fetched again and replaces the local copy", async () => {
    const e = engine({ job: { direction: "download" } });
    e.putRemote("a.txt", "alpha", at(1));
    await e.run();
    e.putRemote("a.txt", "alpha v2", at(9));
    const s = await e.run();
    expect(s).toMatchObject({ status: "ok", downloaded: 1 });
    expect(e.readLocal("a.txt")).toBe("alpha v2");
    expect(e.localMtime("a.txt")).toBe(at(9));
  });

  it("a local change is not sent: a download job's source is the server", async () => {
    const e = engine({ job: { direction: "download" } });
    e.putRemote("a.txt", "alpha", at(1));
    await e.run();
    e.writeLocal("a.txt", "local edit", at(5));
    await e.run();
    expect(e.readRemote("a.txt")).toBe("alpha");
    expect(e.remote.pathsOf("upload")).toEqual([]);
  });

  it("a remote folder that does not exist fails the run and names it, creating nothing", async () => {
    const e = engine({ job: { direction: "download", remotePath: "/missing" } });
    const s = await e.run();
    expect(s).toMatchObject({ status: "failed", downloaded: 0 });
    expect(s.errors.join("\n")).toMatch(/remote folder \/missing does not exist/);
    expect(e.state.runs.last("job")?.status).toBe("failed");
    expect(e.remote.info("/missing")).toBeUndefined();
    expect(e.localTree()).toEqual({});
  });
});

describe("two-way jobs", () => {
  it("a first run brings each side's files to the other", async () => {
    const e = engine({ job: { direction: "two-way" } });
    e.writeLocal("mine.txt", "local file");
    e.putRemote("theirs.txt", "remote file", at(1));
    const s = await e.run();
    expect(s).toMatchObject({ status: "ok", uploaded: 1, downloaded: 1, conflicts: 0 });
    expect(filesOf(e.localTree())).toEqual({ "mine.txt": "local file", "theirs.txt": "remote file" });
    expect(filesOf(e.remoteTree())).toEqual(filesOf(e.localTree()));
    expect(e.stateRows().get("mine.txt")).toMatchObject({ placedRemote: true });
    expect(e.stateRows().get("theirs.txt")).toMatchObject({ placedLocal: true });
  });

  it("a re-run with nothing changed does nothing", async () => {
    const e = engine({ job: { direction: "two-way" } });
    e.writeLocal("mine.txt", "local file");
    e.putRemote("theirs.txt", "remote file", at(1));
    await e.run();
    const s = await e.run();
    expect(s).toMatchObject({ status: "ok", uploaded: 0, downloaded: 0, conflicts: 0 });
    expect(s.plan).toEqual([]);
  });

  it("an edit on either side reaches the other", async () => {
    const e = engine({ job: { direction: "two-way" } });
    e.writeLocal("l.txt", "L1");
    e.putRemote("r.txt", "R1", at(1));
    await e.run();
    e.writeLocal("l.txt", "L2 edited", at(10));
    e.putRemote("r.txt", "R2 edited", at(11));
    const s = await e.run();
    expect(s).toMatchObject({ status: "ok", uploaded: 1, downloaded: 1, conflicts: 0 });
    expect(e.readRemote("l.txt")).toBe("L2 edited");
    expect(e.readLocal("r.txt")).toBe("R2 edited");
  });
});
