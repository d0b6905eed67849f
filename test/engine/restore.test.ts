// Listing and restoring versions (sync/restore.ts, behind `ftps-sync versions` and `restore`) on
// the in-memory server: the newest version or the newest at or before a time, from either side,
// back into the job's local folder only, with the current file kept as a version first.
import { existsSync, mkdirSync, readdirSync, rmSync, symlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { AgentError } from "../../src/errors.js";
import { silentLogger } from "../../src/log.js";
import { jobPathOf, listVersions, restoreVersion, withBackup } from "../../src/sync/restore.js";
import { versionStamp } from "../../src/sync/versions.js";
import { testTempDir } from "../helpers/temp-dir.js";
import { at, engine, filesOf, type Engine } from "./harness.js";

const RUN1 = Date.UTC(2026, 11, 5, 3, 0, 0);
const day = (n: number) => new Date(RUN1 + n * 86_400_000);
const stampOf = (d: Date) => versionStamp(d.getTime());

/** An upload job with versions that ran three times: the server keeps v1 (day 1) and v2 (day 2); v3 is current. */
async function backedUpThrice(): Promise<Engine> {
  const e = engine({ job: { direction: "upload", backup: { dir: ".versions", keep: "30d" } } });
  for (let i = 1; i <= 3; i++) {
    e.writeLocal("docs/a.txt", `version ${i}`, at(i));
    await e.run({ now: day(i - 1) });
  }
  return e;
}

const restore = (e: Engine, path: string, atMs?: number, nowMs = day(10).getTime()) =>
  restoreVersion({ job: withBackup(e.config.jobs.job), server: e.remote, logger: silentLogger(), path, atMs, nowMs });

describe("listing versions", () => {
  it("lists each kept version with its side, run and size, newest first, of one path or all", async () => {
    const e = await backedUpThrice();
    e.writeLocal(`.versions/${stampOf(day(5))}/docs/a.txt`, "a local version");
    const job = withBackup(e.config.jobs.job);
    const kept = await listVersions(job, e.remote, silentLogger(), "docs/a.txt");
    expect(kept.map((v) => [v.side, v.stamp, v.size, v.keptAs])).toEqual([
      ["local", stampOf(day(5)), 15, `.versions/${stampOf(day(5))}/docs/a.txt`],
      ["remote", stampOf(day(2)), 9, `.versions/${stampOf(day(2))}/docs/a.txt`],
      ["remote", stampOf(day(1)), 9, `.versions/${stampOf(day(1))}/docs/a.txt`],
    ]);
    expect((await listVersions(job, e.remote, silentLogger(), "docs")).length).toBe(3);
    expect(await listVersions(job, e.remote, silentLogger(), "other.txt")).toEqual([]);
  });
});

describe("restoring a version", () => {
  it("puts the newest version back in the local folder, keeps the current file as a version, and the next run sends it", async () => {
    const e = await backedUpThrice();
    const r = await restore(e, "docs/a.txt");
    expect(r.from).toMatchObject({ side: "remote", stamp: stampOf(day(2)) });
    expect(e.readLocal("docs/a.txt")).toBe("version 2");
    expect(e.localMtime("docs/a.txt")).toBe(at(2));
    expect(r.currentKeptAs).toBe(`.versions/${stampOf(day(10))}/docs/a.txt`);
    expect(e.readLocal(r.currentKeptAs!)).toBe("version 3");
    // The next run uploads the restored file; the server's version 3 is kept in its turn.
    const s = await e.run({ now: day(11) });
    expect(s).toMatchObject({ status: "ok", uploaded: 1 });
    expect(e.readRemote("docs/a.txt")).toBe("version 2");
    expect(e.readRemote(`.versions/${stampOf(day(11))}/docs/a.txt`)).toBe("version 3");
  });

  it("--at picks the newest version kept at or before that time", async () => {
    const e = await backedUpThrice();
    const r = await restore(e, "docs/a.txt", day(1).getTime() + 3_600_000);
    expect(r.from.stamp).toBe(stampOf(day(1)));
    expect(e.readLocal("docs/a.txt")).toBe("version 1");
  });

  it("a file deleted locally comes back, with nothing to keep aside", async () => {
    const e = await backedUpThrice();
    rmSync(join(e.local, "docs"), { recursive: true });
    const r = await restore(e, "./docs/a.txt");
    expect(r.currentKeptAs).toBeUndefined();
    expect(e.readLocal("docs/a.txt")).toBe("version 2");
  });

  it("no version at or before the time: an error that names the path, and nothing changes", async () => {
    const e = await backedUpThrice();
    const before = e.localTree();
    await expect(restore(e, "docs/a.txt", day(0).getTime())).rejects.toThrow(/no version of docs\/a\.txt at or before 2026-12-05T03:00:00\.000Z/);
    expect(e.localTree()).toEqual(before);
  });

  it("a download cut during the restore leaves the current file as it was and no temporary file", async () => {
    const e = await backedUpThrice();
    e.remote.fail({ method: "download" });
    await expect(restore(e, "docs/a.txt")).rejects.toThrow();
    expect(filesOf(e.localTree())).toEqual({ "docs/a.txt": "version 3" });
  });

  it("never writes outside the job folder: a path that climbs out, or runs through a symlink, is refused", async () => {
    const e = await backedUpThrice();
    const job = withBackup(e.config.jobs.job);
    for (const bad of ["../escape.txt", "docs/../../escape.txt", ".versions/x/docs/a.txt", "/"]) {
      expect(() => jobPathOf(job, bad), bad).toThrow(AgentError);
    }
    const outside = testTempDir("restore-outside");
    mkdirSync(outside, { recursive: true });
    symlinkSync(outside, join(e.local, "out"));
    e.putRemote(`.versions/${stampOf(day(1))}/out/a.txt`, "would land outside");
    await expect(restore(e, "out/a.txt")).rejects.toThrow();
    expect(readdirSync(outside)).toEqual([]);
    expect(existsSync(join(e.local, ".versions"))).toBe(false);
  });

  it("a job without \"backup\" is refused with a usage error", async () => {
    const e = engine({ job: { direction: "upload" } });
    expect(() => withBackup(e.config.jobs.job)).toThrow(/has no "backup" key/);
  });
});
