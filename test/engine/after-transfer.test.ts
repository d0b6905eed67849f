import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/errors.js";
import { injectedError } from "../../src/remote/memory-folder.js";
import { at, engine, filesOf, tempPaths } from "./harness.js";

const TEXT = "0123456789abcdefghijklmnopqrstuvwxyz"; // 36 bytes: nine 4-byte chunks

describe("afterTransfer on upload jobs", () => {
  it("delete: the local file goes once uploaded and recorded, and the next run (delete=mirror) neither deletes nor sends it", async () => {
    const e = engine({ job: { direction: "upload", delete: "mirror", afterTransfer: "delete" } });
    e.writeLocal("a.txt", TEXT);
    e.writeLocal("sub/b.txt", "bee");
    expect(await e.run()).toMatchObject({ status: "ok", uploaded: 2, failed: 0 });
    expect(filesOf(e.remoteTree())).toEqual({ "a.txt": TEXT, "sub/b.txt": "bee" });
    expect(filesOf(e.localTree())).toEqual({});
    expect(e.stateRows().get("a.txt")).toMatchObject({ sourceTaken: true });

    const again = await e.run();
    expect(again).toMatchObject({ status: "ok", uploaded: 0, deletedRemote: 0, failed: 0 });
    expect(again.plan).toEqual([]);
    expect(filesOf(e.remoteTree())).toEqual({ "a.txt": TEXT, "sub/b.txt": "bee" });
  });

  it("archive: the local file moves into the archive folder, which is never uploaded; a new file of the same name is sent and archived beside it", async () => {
    const e = engine({ job: { direction: "upload", delete: "mirror", afterTransfer: { archive: "done" } } });
    e.writeLocal("a.txt", TEXT);
    expect(await e.run()).toMatchObject({ status: "ok", uploaded: 1, failed: 0 });
    expect(filesOf(e.localTree())).toEqual({ "done/a.txt": TEXT });
    expect(filesOf(e.remoteTree())).toEqual({ "a.txt": TEXT });

    expect(await e.run()).toMatchObject({ status: "ok", uploaded: 0, deletedRemote: 0, plan: [] });
    expect(Object.keys(e.remoteTree())).toEqual(["a.txt"]);

    e.writeLocal("a.txt", "second drop");
    expect(await e.run()).toMatchObject({ status: "ok", uploaded: 1, failed: 0 });
    expect(e.readRemote("a.txt")).toBe("second drop");
    const local = filesOf(e.localTree());
    expect(local["done/a.txt"]).toBe(TEXT);
    const stamped = Object.keys(local).filter((p) => /^done\/a\.\d{8}T\d{6}\.txt$/.test(p));
    expect(stamped.map((p) => local[p])).toEqual(["second drop"]);
    expect(Object.keys(local)).toHaveLength(2);
  });

  it("checks the server's hash before the source goes, even with verify=size", async () => {
    const e = engine({ job: { direction: "upload", afterTransfer: "delete" } });
    e.writeLocal("a.txt", TEXT);
    expect(await e.run()).toMatchObject({ status: "ok", uploaded: 1 });
    expect(e.remote.pathsOf("hash")).toHaveLength(1);
  });

  it("a failed upload leaves its source in place", async () => {
    const e = engine({ job: { direction: "upload", afterTransfer: "delete" } });
    e.writeLocal("a.txt", TEXT);
    e.remote.fail({ method: "upload", error: () => injectedError("path") });
    expect(await e.run()).toMatchObject({ status: "failed", uploaded: 0, failed: 1 });
    expect(filesOf(e.localTree())).toEqual({ "a.txt": TEXT });
  });
});

describe("afterTransfer on download jobs", () => {
  it("delete: the server's file goes once downloaded and recorded, and the next run (delete=mirror) keeps the local copy", async () => {
    const e = engine({ job: { direction: "download", delete: "mirror", afterTransfer: "delete" } });
    e.putRemote("a.txt", TEXT);
    e.putRemote("sub/b.txt", "bee");
    expect(await e.run()).toMatchObject({ status: "ok", downloaded: 2, failed: 0 });
    expect(filesOf(e.localTree())).toEqual({ "a.txt": TEXT, "sub/b.txt": "bee" });
    expect(filesOf(e.remoteTree())).toEqual({});

    expect(await e.run()).toMatchObject({ status: "ok", downloaded: 0, deletedLocal: 0, plan: [] });
    expect(filesOf(e.localTree())).toEqual({ "a.txt": TEXT, "sub/b.txt": "bee" });
  });

  it("archive: the server's file moves into the archive folder on the server, which is never downloaded", async () => {
    const e = engine({ job: { direction: "download", delete: "mirror", afterTransfer: { archive: "picked" } } });
    e.putRemote("a.txt", TEXT);
    expect(await e.run()).toMatchObject({ status: "ok", downloaded: 1, failed: 0 });
    expect(filesOf(e.remoteTree())).toEqual({ "picked/a.txt": TEXT });
    expect(filesOf(e.localTree())).toEqual({ "a.txt": TEXT });

    expect(await e.run()).toMatchObject({ status: "ok", downloaded: 0, deletedLocal: 0, plan: [] });
    expect(Object.keys(e.localTree())).toEqual(["a.txt"]);
  });

  it("a partial download (connection cut, run stopped) never deletes the server's file; the next run finishes and deletes it", async () => {
    const e = engine({ job: { direction: "download", afterTransfer: "delete" }, server: { chunkSize: 4 } });
    e.putRemote("a.txt", TEXT);
    const stop = new AbortController();
    e.remote.cut({ method: "download", afterBytes: 12, nth: 1, error: () => {
      stop.abort(new Error("stopped by the test"));
      return injectedError("transient");
    } });
    const first = await e.run({ signal: stop.signal });
    expect(first).toMatchObject({ status: "failed", downloaded: 0 });
    expect(e.readRemote("a.txt")).toBe(TEXT);
    expect(e.remote.pathsOf("remove")).toEqual([]);
    expect(e.readLocal("a.txt")).toBeUndefined();

    expect(await e.run()).toMatchObject({ status: "ok", downloaded: 1, failed: 0 });
    expect(filesOf(e.localTree())).toEqual({ "a.txt": TEXT });
    expect(filesOf(e.remoteTree())).toEqual({});
  });

  it("a download whose every attempt is cut never deletes the server's file", async () => {
    const e = engine({ job: { direction: "download", afterTransfer: "delete" }, server: { chunkSize: 4 } });
    e.putRemote("a.txt", TEXT);
    e.remote.cut({ method: "download", afterBytes: 12 });
    expect(await e.run()).toMatchObject({ status: "failed", downloaded: 0, failed: 1 });
    expect(e.readRemote("a.txt")).toBe(TEXT);
    expect(e.remote.pathsOf("remove")).toEqual([]);
  });

  it("a rename to the archive whose reply is lost with its connection is not done twice and loses nothing", async () => {
    const e = engine({ job: { direction: "download", afterTransfer: { archive: "picked" } } });
    e.putRemote("a.txt", TEXT);
    e.remote.loseReply({ method: "rename", path: /picked/, nth: 1 });
    expect(await e.run()).toMatchObject({ status: "ok", downloaded: 1, failed: 0 });
    expect(filesOf(e.remoteTree())).toEqual({ "picked/a.txt": TEXT });
    expect(filesOf(e.localTree())).toEqual({ "a.txt": TEXT });
    expect(e.remote.pathsOf("rename").filter((r) => r.includes("picked"))).toHaveLength(1);
  });

  it("an archive move cut on every attempt keeps the server's file where it was; the next run archives it, not fetching it again", async () => {
    const e = engine({ job: { direction: "download", delete: "mirror", afterTransfer: { archive: "picked" } } });
    e.putRemote("a.txt", TEXT);
    const cuts = e.remote.fail({ method: "rename", error: () => injectedError("transient") });
    const first = await e.run();
    expect(first).toMatchObject({ status: "failed", downloaded: 1, failed: 1 });
    expect(filesOf(e.remoteTree())).toEqual({ "a.txt": TEXT });
    expect(filesOf(e.localTree())).toEqual({ "a.txt": TEXT });

    cuts.remove();
    expect(await e.run()).toMatchObject({ status: "ok", downloaded: 0, deletedLocal: 0, failed: 0 });
    expect(e.remote.pathsOf("download")).toHaveLength(1);
    expect(filesOf(e.remoteTree())).toEqual({ "picked/a.txt": TEXT });
    expect(filesOf(e.localTree())).toEqual({ "a.txt": TEXT });
    expect(tempPaths(e.localTree())).toEqual([]);
  });

  it("a download renamed into place but not recorded (the agent died in between) has its source taken, not left on the server for good", async () => {
    const e = engine({ job: { direction: "download", afterTransfer: "delete" } });
    e.putRemote("a.txt", TEXT, at(0));
    // What a run killed right after the rename leaves: the file here with the server's time, no
    // record, and the partial row of the download (its temporary file renamed away).
    e.writeLocal("a.txt", TEXT, at(0));
    e.state.partials.begin({ job: "job", path: "a.txt", direction: "download", tempPath: join(e.local, ".ftps-sync.a.txt.0badf00d.part"), sourceSize: TEXT.length, sourceMtime: at(0), startedAt: Date.now() });
    expect(await e.run()).toMatchObject({ status: "ok", downloaded: 0, failed: 0 });
    expect(filesOf(e.remoteTree())).toEqual({});
    expect(filesOf(e.localTree())).toEqual({ "a.txt": TEXT });
  });

  it("a server that refuses to delete the file fetched: each run tries the deletion again, never the download", async () => {
    const e = engine({ job: { direction: "download", afterTransfer: "delete" } });
    e.putRemote("a.txt", TEXT);
    const refusal = e.remote.fail({ method: "remove", error: () => injectedError("path", 550, "550 Permission denied") });
    expect(await e.run()).toMatchObject({ status: "failed", downloaded: 1, failed: 1 });
    const second = await e.run();
    expect(second).toMatchObject({ status: "failed", downloaded: 0, failed: 1 });
    expect(second.errors.join("\n")).toMatch(/Permission denied/);
    refusal.remove();
    expect(await e.run()).toMatchObject({ status: "ok", downloaded: 0, failed: 0 });
    expect(e.remote.pathsOf("download")).toHaveLength(1);
    expect(filesOf(e.remoteTree())).toEqual({});
    expect(filesOf(e.localTree())).toEqual({ "a.txt": TEXT });
  });

  it("a server file changed after it was fetched is not deleted", async () => {
    const e = engine({ job: { direction: "download", afterTransfer: "delete" } });
    e.putRemote("a.txt", TEXT);
    // The partner rewrites the file between the download's last check and the deletion.
    let rewritten = false;
    const stat = e.remote.stat.bind(e.remote);
    e.remote.stat = async (path: string) => {
      if (!rewritten && path.endsWith("/a.txt") && e.readLocal("a.txt") !== undefined) {
        rewritten = true;
        e.putRemote("a.txt", "rewritten by the partner");
      }
      return stat(path);
    };
    const s = await e.run();
    expect(rewritten).toBe(true);
    expect(s).toMatchObject({ downloaded: 1 });
    expect(e.readRemote("a.txt")).toBe("rewritten by the partner");
    expect(s.warnings.join("\n")).toMatch(/changed on the server after it was fetched/);
  });
});

describe("afterTransfer in the config", () => {
  it("is refused for a two-way job, naming the file and the field (exit 2)", () => {
    let err: unknown;
    try {
      engine({ job: { direction: "two-way", afterTransfer: "delete" } });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).exitCode).toBe(2);
    expect((err as Error).message).toMatch(/jobs\/job\.json: field "afterTransfer": only applies to "upload" and "download" jobs/);
  });

  it("refuses an archive folder outside the job's folder, and an unknown action", () => {
    expect(() => engine({ job: { direction: "upload", afterTransfer: { archive: "../out" } } })).toThrow(/field "afterTransfer": archive folder must not contain "\.\." segments/);
    expect(() => engine({ job: { direction: "upload", afterTransfer: { archive: "/abs" } } })).toThrow(/field "afterTransfer": archive folder must be a folder relative/);
    expect(() => engine({ job: { direction: "upload", afterTransfer: "move" } })).toThrow(/field "afterTransfer": must be "keep", "delete" or \{ "archive"/);
  });
});
