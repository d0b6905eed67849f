// Two-way jobs that never lose an edit, on real servers: ProFTPD (MLSD, times to the second) and
// vsftpd (LIST only, times to the minute). The partner's edits are made directly in the server's
// folder on disk, as another client would leave them.
import { existsSync, readdirSync, readFileSync, rmSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { requireServers, type RunningServer, type ServerKind } from "../servers/real-servers.js";
import { type Workspace } from "../helpers/workspace.js";
import { freshJobs, useServer } from "../helpers/server-fixture.js";
import { treeObject, writeTree } from "../helpers/trees.js";
import { lastJsonLine, type SyncJson } from "../helpers/sync-json.js";
import { openState } from "../../src/state/index.js";

requireServers("vsftpd", "proftpd");
const KINDS: ServerKind[] = ["proftpd", "vsftpd"];

const HOUR = 3_600_000;

describe.each(KINDS)("two-way against %s", (kind) => {
  let server: RunningServer;
  let owner: { uid: number; gid: number };
  let ws: Workspace;
  useServer(kind, { maxConnections: 3 }, (f) => ({ server, owner, ws } = f));
  const fresh = freshJobs(() => ({ server, ws, owner }), "tw", { direction: "two-way" });
  const sync = async (name: string, ...flags: string[]): Promise<{ code: number | null; summary: SyncJson; stderr: string }> => {
    const r = await ws.cli(["sync", name, "--json", ...flags]);
    return { code: r.code, summary: lastJsonLine(r.stdout, r.stderr), stderr: r.stderr };
  };
  const conflictCopy = (files: Record<string, string>, stem: string, ext: string) =>
    Object.keys(files).find((f) => new RegExp(`^${stem}\\.conflict-\\d{8}T\\d{6}-remote\\.${ext}$`).test(f));

  it("two edits of the same size in the same second are a conflict: plan says so, sync keeps both, and the sides agree", async () => {
    const { name, local, remoteDir } = fresh({ delete: "tracked" });
    writeTree(local, { "later.txt": "first\n" });
    expect((await sync(name)).code).toBe(0);

    // `echo LOCALEDIT > later.txt` here and `printf 'PARTNERED\n' > later.txt` on the server, in the same second
    const t = new Date(Math.floor(Date.now() / 1000) * 1000);
    writeFileSync(join(local, "later.txt"), "LOCALEDIT\n");
    utimesSync(join(local, "later.txt"), t, t);
    writeTree(remoteDir, { "later.txt": "PARTNERED\n" }, owner, t);

    const plan = await ws.cli(["plan", name]);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).not.toMatch(/nothing to do/);
    expect(plan.stdout).toMatch(/compare\s+later\.txt\s.*if they differ -> keep-both/);

    const r = await sync(name);
    expect(r.code, r.stderr).toBe(0);
    expect(r.summary.conflicts).toBe(1);
    const files = treeObject(local);
    expect(files).toEqual(treeObject(remoteDir));
    const copy = conflictCopy(files, "later", "txt");
    expect(copy, JSON.stringify(files)).toBeDefined();
    expect(readFileSync(join(local, "later.txt"), "utf8")).toBe("LOCALEDIT\n");
    expect(readFileSync(join(local, copy!), "utf8")).toBe("PARTNERED\n");

    const again = await sync(name);
    expect(again.summary).toMatchObject({ uploaded: 0, downloaded: 0, conflicts: 0 });
    expect(treeObject(local)).toEqual(treeObject(remoteDir));
  });

  it("a first run over two folders with same-size files keeps both versions of those that differ and adopts those that are equal", async () => {
    const { name, local, remoteDir } = fresh({});
    const t = new Date(Math.floor(Date.now() / 60_000) * 60_000);
    writeTree(local, { "a.txt": "LOCALEDIT\n", "same.txt": "identical\n" }, undefined, t);
    writeTree(remoteDir, { "a.txt": "PARTNERED\n", "same.txt": "identical\n" }, owner, t);
    const r = await sync(name);
    expect(r.code, r.stderr).toBe(0);
    expect(r.summary).toMatchObject({ conflicts: 1, uploaded: 0 });
    const files = treeObject(local);
    expect(files).toEqual(treeObject(remoteDir));
    expect(Object.keys(files).sort()).toEqual(["a.txt", conflictCopy(files, "a", "txt"), "same.txt"].sort());
    expect(readFileSync(join(local, "a.txt"), "utf8")).toBe("LOCALEDIT\n");
    expect(readFileSync(join(local, conflictCopy(files, "a", "txt")!), "utf8")).toBe("PARTNERED\n");
    const again = await sync(name);
    expect(again.summary).toMatchObject({ uploaded: 0, downloaded: 0, conflicts: 0 });
  });

  it("a download renamed into place but not recorded (the agent died in between) is recorded from its partial row, not compared or made a conflict", async () => {
    const { name, local, remoteDir } = fresh({});
    writeTree(remoteDir, { "doc.txt": "version 1" }, owner);
    expect((await sync(name)).code).toBe(0);
    // The partner's new version, at a whole minute (what both servers' listings show exactly).
    const t = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 60_000);
    writeTree(remoteDir, { "doc.txt": "partner's version 2" }, owner, t);
    // What a run killed right after the rename leaves: the new version here with the server's
    // time, the old record, and the partial row of the download (its temporary file renamed away).
    writeTree(local, { "doc.txt": "partner's version 2" }, undefined, t);
    const state = openState(join(ws.dir, "state"));
    state.partials.begin({
      job: name, path: "doc.txt", direction: "download", tempPath: join(local, ".ftps-sync.doc.txt.0badf00d.part"),
      sourceSize: "partner's version 2".length, sourceMtime: t.getTime(), startedAt: Date.now(),
    });
    state.close();
    const r = await sync(name);
    expect(r.code, r.stderr).toBe(0);
    expect(r.summary).toMatchObject({ conflicts: 0, uploaded: 0, downloaded: 0 });
    expect(r.stderr).toMatch(/doc\.txt: its download was renamed into place before the last run stopped; recorded now/);
    expect(r.stderr).not.toMatch(/contents compared/);
    expect(readdirSync(local)).toEqual(["doc.txt"]);
    expect(treeObject(local)).toEqual(treeObject(remoteDir));
    const again = await sync(name);
    expect(again.summary).toMatchObject({ uploaded: 0, downloaded: 0, conflicts: 0 });
  });

  it("newer-wins does not let a server time in the future overwrite the latest local edit: both are kept, and the log says why", async () => {
    const { name, local, remoteDir } = fresh({ onConflict: "newer-wins" });
    writeTree(local, { "doc.txt": "version 1\n" });
    expect((await sync(name)).code).toBe(0);
    // A second run records the time the server lists for the upload (vsftpd cannot be told one).
    expect((await sync(name)).code).toBe(0);
    // `touch -d '+2 hours'` on the server's file, contents unchanged. vsftpd lists a future time
    // by day only (within a day of the local edit it cannot tell which is newer): 3 days there.
    const ahead = kind === "vsftpd" ? 72 * HOUR : 2 * HOUR;
    const future = new Date(Date.now() + ahead);
    utimesSync(join(remoteDir, "doc.txt"), future, future);
    writeFileSync(join(local, "doc.txt"), "my latest edit\n");

    const r = await sync(name);
    expect(r.code, r.stderr).toBe(0);
    expect(r.summary.conflicts).toBe(1);
    expect(readFileSync(join(local, "doc.txt"), "utf8")).toBe("my latest edit\n");
    const files = treeObject(local);
    expect(files).toEqual(treeObject(remoteDir));
    expect(readFileSync(join(local, conflictCopy(files, "doc", "txt")!), "utf8")).toBe("version 1\n");
    expect(r.stderr).toMatch(/doc\.txt: .*remote time is .* ahead of this machine's clock.*keeping both/);
  });

  it("delete=tracked deletes only what this job put on that side, and reports the deletions it holds back", async () => {
    const { name, local, remoteDir } = fresh({ delete: "tracked", maxDelete: 10 });
    writeTree(local, { "mine.txt": "the user's own file", "mine-too.txt": "another of the user's" });
    writeTree(remoteDir, { "partner.txt": "the partner's file", "partner-too.txt": "another of the partner's" }, owner);
    const first = await sync(name);
    expect(first.summary).toMatchObject({ uploaded: 2, downloaded: 2 });

    unlinkSync(join(local, "partner.txt")); // only ever downloaded: stays on the server
    rmSync(join(remoteDir, "mine.txt")); // the user's own file, deleted by the partner: stays here
    unlinkSync(join(local, "mine-too.txt")); // this job uploaded it: goes from the server
    rmSync(join(remoteDir, "partner-too.txt")); // this job downloaded it: goes from here
    const r = await sync(name);
    expect(r.code, r.stderr).toBe(0);
    expect(r.summary).toMatchObject({ deletedRemote: 1, deletedLocal: 1, skippedDeletes: 2 });
    expect(r.summary.warnings?.join("\n")).toMatch(/2 deletion\(s\) held back by delete=tracked/);
    expect(readFileSync(join(remoteDir, "partner.txt"), "utf8")).toBe("the partner's file");
    expect(readFileSync(join(local, "mine.txt"), "utf8")).toBe("the user's own file");
    expect(existsSync(join(remoteDir, "mine-too.txt"))).toBe(false);
    expect(existsSync(join(local, "partner-too.txt"))).toBe(false);
    // held back, not restored: the next run reports the same and changes nothing
    const again = await sync(name);
    expect(again.summary).toMatchObject({ uploaded: 0, downloaded: 0, deletedLocal: 0, deletedRemote: 0, skippedDeletes: 2 });
    expect(existsSync(join(local, "partner.txt"))).toBe(false);
    expect(existsSync(join(remoteDir, "mine.txt"))).toBe(false);
  });

  it("a file on one side and a folder on the other: plan and sync agree it is for the user, at every run, and nothing is deleted", async () => {
    const { name, local, remoteDir } = fresh({ delete: "mirror", maxDelete: 10 });
    writeTree(local, { x: "a file here", "other.txt": "unrelated" });
    writeTree(remoteDir, { "x/inner.txt": "a folder there" }, owner);

    const plan = await ws.cli(["plan", name]);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toMatch(/needs you\s+x\s+type mismatch: file on local, folder on remote/);
    expect(plan.stdout).not.toMatch(/keep-both/);

    for (let run = 0; run < 2; run++) {
      const r = await sync(name);
      expect(r.code, r.stderr).toBe(0);
      expect(r.summary.errors ?? []).toEqual([]);
      expect(r.summary.warnings?.join("\n")).toMatch(/x: type mismatch: file on local, folder on remote/);
      expect(readFileSync(join(local, "x"), "utf8")).toBe("a file here");
      expect(readFileSync(join(remoteDir, "x", "inner.txt"), "utf8")).toBe("a folder there");
      expect(readdirSync(remoteDir).sort()).toEqual(["other.txt", "x"]);
    }
  });
});
