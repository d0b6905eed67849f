import { rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SafetyGuardError } from "../../src/errors.js";
import { injectedError } from "../../src/remote/memory-folder.js";
import { engine, filesOf } from "./harness.js";

/** An upload job synced once with a.txt, b.txt, c.txt and sub/d.txt on both sides. */
async function syncedUpload(job: Record<string, unknown>) {
  const e = engine({ job: { direction: "upload", ...job } });
  for (const [p, c] of Object.entries({ "a.txt": "A", "b.txt": "B", "c.txt": "C", "sub/d.txt": "D" })) e.writeLocal(p, c);
  expect(await e.run()).toMatchObject({ status: "ok", uploaded: 4 });
  return e;
}

const rmLocal = (e: { local: string }, rel: string) => rmSync(join(e.local, rel), { recursive: true });

describe("deletions on the target follow the job's delete setting", () => {
  it('delete "mirror": a file deleted locally is deleted on the server, and its state row goes', async () => {
    const e = await syncedUpload({ delete: "mirror" });
    rmLocal(e, "b.txt");
    const s = await e.run();
    expect(s).toMatchObject({ status: "ok", deletedRemote: 1, failed: 0 });
    expect(filesOf(e.remoteTree())).toEqual({ "a.txt": "A", "c.txt": "C", "sub/d.txt": "D" });
    expect(e.stateRows().has("b.txt")).toBe(false);
  });

  it('delete "mirror": a file on the server the job never saw locally is deleted too', async () => {
    const e = await syncedUpload({ delete: "mirror", maxDelete: 10 });
    e.putRemote("stranger.txt", "put there by someone else");
    const s = await e.run();
    expect(s).toMatchObject({ status: "ok", deletedRemote: 1 });
    expect(e.readRemote("stranger.txt")).toBeUndefined();
  });

  it('delete "never": a file deleted locally stays on the server', async () => {
    const e = await syncedUpload({ delete: "never" });
    rmLocal(e, "b.txt");
    const s = await e.run();
    expect(s).toMatchObject({ status: "ok", deletedRemote: 0, skippedDeletes: 1 });
    expect(e.readRemote("b.txt")).toBe("B");
    expect(e.remote.pathsOf("remove").filter((p) => !p.includes(".ftps-sync."))).toEqual([]);
    // reported as held back by the policy that holds it, not by another
    expect(s.warnings.join("\n")).toMatch(/1 deletion\(s\) held back by delete=never .*: b\.txt/);
    expect(s.warnings.join("\n")).not.toContain("delete=tracked");
  });

  it('delete "tracked": a file this job put on the server is deleted there when deleted locally', async () => {
    const e = await syncedUpload({ delete: "tracked" });
    rmLocal(e, "b.txt");
    const s = await e.run();
    expect(s).toMatchObject({ status: "ok", deletedRemote: 1 });
    expect(e.readRemote("b.txt")).toBeUndefined();
  });

  it('delete "tracked": a file already on the server before the job (same bytes, adopted) is held back, not deleted', async () => {
    const e = engine({ job: { direction: "upload", delete: "tracked" } });
    e.writeLocal("mine.txt", "M");
    e.writeLocal("shared.txt", "same bytes");
    e.putRemote("shared.txt", "same bytes");
    expect(await e.run()).toMatchObject({ status: "ok", uploaded: 1 });
    expect(e.stateRows().get("shared.txt")).toMatchObject({ placedRemote: false });
    rmLocal(e, "shared.txt");
    const s = await e.run();
    expect(s).toMatchObject({ status: "ok", deletedRemote: 0 });
    expect(e.readRemote("shared.txt")).toBe("same bytes");
  });

  it('delete "tracked": a file this job put on the server but someone changed there since is not deleted', async () => {
    const e = await syncedUpload({ delete: "tracked" });
    e.putRemote("b.txt", "B, changed by a partner", Date.UTC(2026, 0, 6));
    rmLocal(e, "b.txt");
    const s = await e.run();
    expect(s.deletedRemote).toBe(0);
    expect(e.readRemote("b.txt")).toBe("B, changed by a partner");
  });

  it('a download job with delete "mirror" deletes locally a file deleted on the server', async () => {
    const e = engine({ job: { direction: "download", delete: "mirror" } });
    e.putRemote("a.txt", "A");
    e.putRemote("b.txt", "B");
    await e.run();
    await e.remote.remove("/job/b.txt");
    const s = await e.run();
    expect(s).toMatchObject({ status: "ok", deletedLocal: 1 });
    expect(filesOf(e.localTree())).toEqual({ "a.txt": "A" });
  });

  it('two-way with delete "tracked": a deletion reaches the other side only for a copy this job put there', async () => {
    const e = engine({ job: { direction: "two-way", delete: "tracked", maxDelete: "100%" } });
    e.writeLocal("kept.txt", "K");
    e.writeLocal("sent.txt", "S");
    e.writeLocal("both.txt", "same");
    e.putRemote("both.txt", "same");
    await e.run();
    expect(e.stateRows().get("both.txt")).toMatchObject({ placedRemote: false, placedLocal: false });
    rmLocal(e, "sent.txt");
    rmLocal(e, "both.txt");
    const s = await e.run();
    expect(s).toMatchObject({ status: "ok", deletedRemote: 1 });
    expect(e.readRemote("sent.txt")).toBeUndefined();
    expect(e.readRemote("both.txt")).toBe("same");
    expect(s.warnings.join("\n")).toMatch(/held back by delete=tracked.*both\.txt/);
  });
});

describe("deletion guards", () => {
  it("maxDelete: a run that would delete more files than the count stops, deletes nothing and records an aborted run", async () => {
    const e = await syncedUpload({ delete: "mirror", maxDelete: 1 });
    rmLocal(e, "a.txt");
    rmLocal(e, "b.txt");
    await expect(e.run()).rejects.toThrow(SafetyGuardError);
    expect(filesOf(e.remoteTree())).toEqual({ "a.txt": "A", "b.txt": "B", "c.txt": "C", "sub/d.txt": "D" });
    expect(e.state.runs.last("job")?.status).toBe("aborted");
    expect(e.stateRows().has("a.txt")).toBe(true);
  });

  it("maxDelete: as many deletions as the count are carried out", async () => {
    const e = await syncedUpload({ delete: "mirror", maxDelete: 2 });
    rmLocal(e, "a.txt");
    rmLocal(e, "b.txt");
    expect(await e.run()).toMatchObject({ status: "ok", deletedRemote: 2 });
  });

  it("maxDelete: --force carries out the deletions the guard stopped", async () => {
    const e = await syncedUpload({ delete: "mirror", maxDelete: 1 });
    rmLocal(e, "a.txt");
    rmLocal(e, "b.txt");
    const s = await e.run({ force: true });
    expect(s).toMatchObject({ status: "ok", deletedRemote: 2 });
    expect(s.warnings.join("\n")).toMatch(/maxDelete/);
  });

  it("an emptied local folder (no files left) never turns into deleting the server's copies, whatever maxDelete allows", async () => {
    const e = await syncedUpload({ delete: "mirror", maxDelete: "100%" });
    for (const p of ["a.txt", "b.txt", "c.txt", "sub/d.txt"]) rmLocal(e, p);
    await expect(e.run()).rejects.toThrow(/local folder is empty/);
    expect(filesOf(e.remoteTree())).toEqual({ "a.txt": "A", "b.txt": "B", "c.txt": "C", "sub/d.txt": "D" });
  });

  it("an emptied remote folder never turns into deleting the local copies", async () => {
    const e = engine({ job: { direction: "download", delete: "mirror", maxDelete: "100%" } });
    e.putRemote("a.txt", "A");
    e.putRemote("sub/b.txt", "B");
    await e.run();
    await e.remote.remove("/job/a.txt");
    await e.remote.remove("/job/sub/b.txt");
    await expect(e.run()).rejects.toThrow(/remote folder is empty/);
    expect(filesOf(e.localTree())).toEqual({ "a.txt": "A", "sub/b.txt": "B" });
  });

  it("a remote folder that cannot be listed means no deletion anywhere that run, and the run fails naming it", async () => {
    const e = engine({ job: { direction: "download", delete: "mirror", maxDelete: "100%" } });
    e.putRemote("a/one.txt", "1");
    e.putRemote("a/two.txt", "2");
    e.putRemote("b/three.txt", "3");
    await e.run();
    await e.remote.remove("/job/a/one.txt");
    e.remote.fail({ method: "list", path: "/job/b", error: () => injectedError("path", 550) });
    const s = await e.run();
    expect(s).toMatchObject({ status: "failed", deletedLocal: 0 });
    expect(s.errors.join("\n")).toMatch(/cannot list remote folder \/job\/b/);
    expect(filesOf(e.localTree())).toEqual({ "a/one.txt": "1", "a/two.txt": "2", "b/three.txt": "3" });
    expect(e.stateRows().has("a/one.txt")).toBe(true);
  });

  it("a dry run with a remote folder that cannot be listed plans no deletion, and says why", async () => {
    const e = engine({ job: { direction: "download", delete: "mirror", maxDelete: "100%" } });
    e.putRemote("a/one.txt", "1");
    e.putRemote("b/two.txt", "2");
    e.putRemote("c.txt", "3");
    await e.run();
    await e.remote.remove("/job/a/one.txt");
    e.remote.fail({ method: "list", path: "/job/b", error: () => injectedError("path", 550) });
    const s = await e.run({ dryRun: true });
    expect(s.plan.filter((a) => a.kind.startsWith("delete"))).toEqual([]);
    expect(s.skippedDeletes).toBeGreaterThanOrEqual(1);
    expect(s.warnings.join("\n")).toMatch(/remote listing was incomplete/);
  });

  it("a failed folder in an upload job's listing keeps the server's files elsewhere from being deleted", async () => {
    const e = await syncedUpload({ delete: "mirror", maxDelete: "100%" });
    rmLocal(e, "a.txt");
    const fault = e.remote.fail({ method: "list", path: "/job/sub" });
    const s = await e.run();
    expect(s).toMatchObject({ status: "failed", deletedRemote: 0 });
    expect(e.readRemote("a.txt")).toBe("A");
    fault.remove();
    // The next run, with the folder listed again, carries the deletion out.
    const again = await e.run();
    expect(again).toMatchObject({ status: "ok", deletedRemote: 1 });
    expect(e.readRemote("a.txt")).toBeUndefined();
  });

  it("a transfer that fails for an unknown reason in the run blocks every deletion of that run", async () => {
    const e = await syncedUpload({ delete: "mirror", maxDelete: "100%" });
    rmLocal(e, "a.txt");
    e.writeLocal("new.txt", "N");
    e.remote.fail({ method: "upload", error: () => new Error("something unexpected") });
    const s = await e.run();
    expect(s).toMatchObject({ status: "failed", deletedRemote: 0 });
    expect(s.warnings.join("\n")).toMatch(/deletion\(s\) skipped because this run had errors/);
    expect(e.readRemote("a.txt")).toBe("A");
  });
});
