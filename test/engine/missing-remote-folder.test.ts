// A job whose remote folder does not exist (issue 24, item 7), on the in-memory server: a
// download job fails naming it and deletes nothing; a two-way or upload job creates it at its
// first run (the plan says so); a folder that vanished after runs that synced files from it stops
// the run, and an upload job that puts it back says so.
import { rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SafetyGuardError } from "../../src/errors.js";
import { at, engine, filesOf, type Engine } from "./harness.js";

/** Removes the job's remote folder and everything in it, as someone on the server would. */
async function removeRemoteRoot(e: Engine): Promise<void> {
  const tree = Object.entries(e.remote.tree("/job"));
  for (const [p, v] of tree) if (v !== null) await e.remote.remove(`/job/${p}`);
  for (const [p] of tree.filter(([, v]) => v === null).reverse()) await e.remote.removeDir(`/job/${p}`);
  await e.remote.removeDir("/job");
  expect(e.remote.info("/job")).toBeUndefined();
}

describe("a download job whose remote folder is missing", () => {
  it("at its first run: fails naming the folder, and deletes nothing locally", async () => {
    const e = engine({ job: { direction: "download", delete: "mirror", maxDelete: 100 } });
    await removeRemoteRoot(e);
    e.writeLocal("mine.txt", "local only");
    const s = await e.run();
    expect(s).toMatchObject({ status: "failed", deletedLocal: 0, downloaded: 0 });
    expect(s.errors.join("\n")).toMatch(/the remote folder \/job does not exist on the server: check the job's remotePath/);
    expect(filesOf(e.localTree())).toEqual({ "mine.txt": "local only" });
    expect(e.remote.info("/job")).toBeUndefined();
  });

  it("after runs that synced files from it: stopped by the guard (exit 3), naming the folder, every local file kept", async () => {
    const e = engine({ job: { direction: "download", delete: "mirror", maxDelete: 100 } });
    e.putRemote("a.txt", "alpha", at(1));
    e.putRemote("d/b.txt", "bravo", at(1));
    expect(await e.run()).toMatchObject({ status: "ok", downloaded: 2 });
    await removeRemoteRoot(e);
    const err = await e.run().catch((x: unknown) => x);
    expect(err).toBeInstanceOf(SafetyGuardError);
    expect((err as SafetyGuardError).exitCode).toBe(3);
    expect((err as Error).message).toMatch(/the remote folder \/job is gone, but 2 files were synced from it.*Nothing was deleted/);
    expect(filesOf(e.localTree())).toEqual({ "a.txt": "alpha", "d/b.txt": "bravo" });
    expect(e.state.runs.last("job")?.status).toBe("aborted");
  });
});

describe("a two-way job whose remote folder is missing", () => {
  it("at its first run (no record in the state): the plan says it creates the folder, and the run does", async () => {
    const e = engine({ job: { direction: "two-way", remotePath: "/job/new" } });
    e.writeLocal("a.txt", "alpha");
    const plan = await e.run({ dryRun: true });
    expect(plan.status).toBe("ok");
    expect(plan.plan[0]).toEqual({ kind: "mkdir-remote", path: "", reason: "the remote folder /job/new does not exist yet: created first" });
    expect(e.remote.info("/job/new")).toBeUndefined();
    const s = await e.run();
    expect(s).toMatchObject({ status: "ok", uploaded: 1 });
    expect(e.remote.read("/job/new/a.txt")?.toString()).toBe("alpha");
  });

  it("after runs: the guard stops it, nothing is deleted locally and nothing is made on the server", async () => {
    const e = engine({ job: { direction: "two-way", delete: "mirror", maxDelete: 100 } });
    e.writeLocal("a.txt", "alpha");
    await e.run();
    await removeRemoteRoot(e);
    await expect(e.run()).rejects.toThrow(/the remote folder \/job is gone, but 1 files were synced from it/);
    expect(filesOf(e.localTree())).toEqual({ "a.txt": "alpha" });
    expect(e.remote.info("/job")).toBeUndefined();
  });
});

describe("an upload job whose remote folder is missing", () => {
  it("at its first run: the plan says it creates the folder, and the run does", async () => {
    const e = engine({ job: { direction: "upload", remotePath: "/job/deep/er" } });
    e.writeLocal("a.txt", "alpha");
    const plan = await e.run({ dryRun: true });
    expect(plan.plan.map((a) => a.kind)).toEqual(["mkdir-remote", "upload"]);
    expect(plan.warnings.join("\n")).not.toMatch(/gone/);
    expect(await e.run()).toMatchObject({ status: "ok", uploaded: 1 });
    expect(e.remote.read("/job/deep/er/a.txt")?.toString()).toBe("alpha");
  });

  it("after runs: it is created again and every file sent again, with a warning naming the folder (it was gone, not new)", async () => {
    const e = engine({ job: { direction: "upload" } });
    e.writeLocal("a.txt", "alpha");
    e.writeLocal("b.txt", "bravo");
    await e.run();
    await removeRemoteRoot(e);
    rmSync(join(e.local, "b.txt"));
    const s = await e.run();
    expect(s).toMatchObject({ status: "ok", uploaded: 1 });
    expect(s.warnings.join("\n")).toMatch(/the remote folder \/job was gone, though 2 files had been uploaded to it: created again/);
    expect(filesOf(e.remoteTree())).toEqual({ "a.txt": "alpha" });
  });
});
