import { linkSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { injectedError } from "../../src/remote/memory-folder.js";
import { at, engine, filesOf, tempPaths } from "./harness.js";

const WRITES = ["upload", "rename", "remove", "removeDir", "mkdir", "setTime"];

describe("dry runs change nothing on either side or in the state", () => {
  it.each(["upload", "download", "two-way"] as const)("a %s dry run plans the work and does none of it", async (direction) => {
    const e = engine({ job: { direction, delete: "mirror", maxDelete: "100%" } });
    e.writeLocal("keep.txt", "K");
    e.writeLocal("gone.txt", "G");
    e.putRemote("keep.txt", "K");
    e.putRemote("gone.txt", "G");
    await e.run();
    const rowsBefore = e.stateRows();
    // Changes on both sides since: a new file each side, an edit each side, one deletion each side.
    e.writeLocal("new-local.txt", "NL");
    e.putRemote("new-remote.txt", "NR");
    e.writeLocal("keep.txt", "K local edit", at(10));
    rmSync(join(e.local, "gone.txt"));
    const localBefore = e.localTree();
    const remoteBefore = e.remoteTree();
    const callsBefore = e.remote.calls.length;

    const s = await e.run({ dryRun: true });
    expect(s).toMatchObject({ status: "ok", dryRun: true, uploaded: 0, downloaded: 0, deletedLocal: 0, deletedRemote: 0, conflicts: 0 });
    expect(s.plan.length).toBeGreaterThan(0);
    expect(e.localTree()).toEqual(localBefore);
    expect(e.remoteTree()).toEqual(remoteBefore);
    expect(e.remote.calls.slice(callsBefore).filter((c) => WRITES.includes(c.method))).toEqual([]);
    expect(e.stateRows()).toEqual(rowsBefore);
    expect(e.state.partials.list("job")).toEqual([]);
    // The real run after it does the work the dry run planned.
    const real = await e.run();
    expect(real.plan.map((a) => `${a.kind} ${a.path}`).sort()).toEqual(s.plan.map((a) => `${a.kind} ${a.path}`).sort());
  });

  it("a dry run of an upload job whose remote folder is missing says it would create it, and does not", async () => {
    const e = engine({ job: { direction: "upload", remotePath: "/not/yet" } });
    e.writeLocal("a.txt", "A");
    const s = await e.run({ dryRun: true });
    expect(s.plan[0]).toMatchObject({ kind: "mkdir-remote", path: "" });
    expect(e.remote.info("/not")).toBeUndefined();
  });
});

describe("the agent's own files in the job folder are never synced", () => {
  /** A job whose folder is the agent's folder: config, job file, password file and state are in it. */
  function jobInAgentFolder(direction: "upload" | "download" | "two-way") {
    return engine({ job: { direction }, local: "." });
  }

  it("an upload job sends the user's files but not the config, job file or state, nor a hard link to one of them", async () => {
    const e = jobInAgentFolder("upload");
    e.writeLocal("report.txt", "R");
    linkSync(join(e.dir, "agent.config.json"), join(e.dir, "innocent-name.json"));
    const s = await e.run();
    expect(s).toMatchObject({ status: "ok", uploaded: 1 });
    expect(Object.keys(filesOf(e.remoteTree()))).toEqual(["report.txt"]);
    expect(s.warnings.join("\n")).toMatch(/holds the agent's own files, which are never synced/);
  });

  it("a download job never writes over the config or the job file with same-named files from the server", async () => {
    const e = jobInAgentFolder("download");
    expect(readdirSync(e.dir)).toContain("agent.config.json");
    e.putRemote("agent.config.json", "{ \"evil\": true }");
    e.putRemote("jobs/job.json", "{ \"evil\": true }");
    e.putRemote("state/ftps-sync.db", "not a database");
    e.putRemote("data.txt", "D");
    const s = await e.run();
    expect(s).toMatchObject({ status: "ok", downloaded: 1 });
    expect(e.readLocal("data.txt")).toBe("D");
    expect(e.readLocal("agent.config.json")).not.toContain("evil");
    expect(e.readLocal("jobs/job.json")).not.toContain("evil");
    expect(e.remote.pathsOf("download")).toEqual(["/job/data.txt"]);
  });
});

describe("hostile names from the server", () => {
  it("names with control characters, bidi overrides, or . and .. are refused, reported, and never written locally", async () => {
    const e = engine({ job: { direction: "download" } });
    e.putRemote("good.txt", "fine");
    e.remote.putDir("/job/sub");
    for (const name of ["esc\x1b[31mred", "line\nbreak", "cod\u202Etxt.exe", "del\x7f"]) e.remote.putName("/job/sub", name, "PWNED");
    e.remote.putName("/job/sub", "..", "PWNED");
    e.remote.putName("/job/sub", ".", "PWNED");
    const s = await e.run();
    expect(e.remote.pathsOf("download")).toEqual(["/job/good.txt"]);
    expect(e.localTree()).toEqual({ "good.txt": "fine", sub: null });
    expect(readdirSync(e.dir).sort()).toEqual(["agent.config.json", "jobs", "local", "state"]);
    expect(s.warnings.filter((w) => /refused a remote name/.test(w)).length).toBeGreaterThanOrEqual(4);
    expect(s.warnings.join("\n")).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e]/);
  });
});

describe("secrets", () => {
  it("a server reply that repeats the password is kept in the state's run record without it", async () => {
    const password = "s3cret-Engine-pw-41";
    const e = engine({ job: { direction: "upload" }, password });
    e.writeLocal("a.txt", "A");
    e.remote.fail({ method: "upload", error: () => injectedError("path", 553, `553 cannot store for user u with password ${password}`) });
    const s = await e.run();
    expect(s.status).toBe("failed");
    const recorded = e.state.runs.last("job")?.error ?? "";
    expect(recorded).toMatch(/553 cannot store/);
    expect(recorded).not.toContain(password);
    expect(recorded).toContain("[redacted]");
  });

  it("a password with a quote and a backslash is kept out of the run record in its JSON-escaped form too", async () => {
    const password = 'pa"ss\\word-Engine-42';
    const e = engine({ job: { direction: "upload" }, password });
    e.writeLocal("a.txt", "A");
    const asJson = JSON.stringify({ password });
    e.remote.fail({ method: "upload", error: () => injectedError("path", 553, `553 refused ${asJson}`) });
    await e.run();
    const recorded = e.state.runs.last("job")?.error ?? "";
    expect(recorded).toMatch(/553 refused/);
    expect(recorded).not.toContain(JSON.stringify(password).slice(1, -1));
    expect(recorded).not.toContain(password);
    expect(recorded).toContain("[redacted]");
  });
});

describe("local paths a symbolic link could redirect", () => {
  it("a download never writes through a local symlink that points out of the job folder", async () => {
    const e = engine({ job: { direction: "download" } });
    const outside = join(e.dir, "outside");
    mkdirSync(outside);
    symlinkSync(outside, join(e.local, "sub"));
    e.putRemote("sub/x.txt", "X");
    e.putRemote("fine.txt", "F");
    const s = await e.run();
    expect(readdirSync(outside)).toEqual([]);
    expect(e.readLocal("fine.txt")).toBe("F");
    expect(s.downloaded).toBe(1);
    expect(s.failed).toBeGreaterThanOrEqual(1);
  });
});

describe("partners' files on the server", () => {
  it("a file a partner rewrites on the server during the run is not overwritten by the upload", async () => {
    const e = engine({ job: { direction: "upload" }, server: { chunkSize: 4 } });
    e.writeLocal("shared.txt", "version 1");
    await e.run();
    e.writeLocal("shared.txt", "version 2 from us", at(10));
    let changed = false;
    e.remote.onChunk((ev) => {
      if (ev.method === "upload" && !changed) {
        changed = true;
        e.remote.put("/job/shared.txt", "partner's edit", at(11));
      }
    });
    const s = await e.run();
    expect(changed).toBe(true);
    expect(s).toMatchObject({ uploaded: 0, deferred: 1 });
    expect(s.warnings.join("\n")).toMatch(/changed on the server during the run; not overwritten/);
    expect(e.remoteTree()).toEqual({ "shared.txt": "partner's edit" });
    expect(e.stateRows().get("shared.txt")).toMatchObject({ localSize: 9 });
  });

  it("a file a partner rewrites on the server after the listing is not deleted", async () => {
    const e = engine({ job: { direction: "upload", delete: "mirror", maxDelete: "100%" } });
    e.writeLocal("keep.txt", "K");
    e.writeLocal("old.txt", "O");
    await e.run();
    rmSync(join(e.local, "old.txt"));
    // Between the listing and the deletion, a partner writes a new version.
    e.remote.fail({ method: "stat", path: "/job/old.txt", nth: 1, error: () => {
      e.remote.put("/job/old.txt", "partner's new version", at(30));
      return injectedError("transient");
    } });
    const s = await e.run();
    expect(s.deletedRemote).toBe(0);
    expect(s.warnings.join("\n")).toMatch(/changed on the server since it was listed; not deleted/);
    expect(e.readRemote("old.txt")).toBe("partner's new version");
  });

  it("a local file edited during a download run is not overwritten by the download", async () => {
    const e = engine({ job: { direction: "download" }, server: { chunkSize: 4 } });
    e.putRemote("a.txt", "first", at(1));
    await e.run();
    e.putRemote("a.txt", "second from server", at(5));
    let edited = false;
    e.remote.onChunk((ev) => {
      if (ev.method === "download" && !edited) {
        edited = true;
        writeFileSync(join(e.local, "a.txt"), "edited here meanwhile");
      }
    });
    const s = await e.run();
    expect(edited).toBe(true);
    expect(s).toMatchObject({ downloaded: 0, deferred: 1 });
    expect(e.readLocal("a.txt")).toBe("edited here meanwhile");
    expect(tempPaths(e.localTree())).toEqual([]);
  });
});
