import { existsSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { requireServers, type RunningServer, type ServerKind } from "../servers/real-servers.js";
import { type Workspace } from "../helpers/workspace.js";
import { freshJobs, useServer } from "../helpers/server-fixture.js";
import { edit, treeObject, writeTree } from "../helpers/trees.js";
import { lastJsonLine, syncJson as sync } from "../helpers/sync-json.js";
import { openState } from "../../src/state/index.js";

requireServers("vsftpd", "proftpd", "pureftpd");

const SAMPLE: Record<string, string> = {
  "report.pdf": "%PDF-1.4 quarterly numbers",
  "name with spaces.txt": "spaces are fine",
  "café/naïve résumé.txt": "unicode names",
  ".hidden": "dotfiles are synced too",
  "deep/a/b/c.txt": "nested",
  "empty.txt": "",
};

const noTemp = (rel: string) => rel.split("/").some((s) => s.startsWith(".ftps-sync."));

const KINDS: ServerKind[] = ["vsftpd", "proftpd", "pureftpd"];

describe.each(KINDS)("sync against %s", (kind) => {
  let server: RunningServer;
  let owner: { uid: number; gid: number };
  let ws: Workspace;
  useServer(kind, { maxConnections: 3 }, (f) => ({ server, owner, ws } = f));
  /** A fresh remote folder and local folder per test, so tests don't see each other's files. */
  const fresh = freshJobs(() => ({ server, ws, owner }), "job");

  it("uploads a first time, then transfers nothing on a second run", async () => {
    const { name, local, remoteDir } = fresh({ direction: "upload" });
    writeTree(local, SAMPLE);
    const first = await sync(ws, name);
    expect(first.code, first.stderr).toBe(0);
    expect(first.summary.uploaded).toBe(Object.keys(SAMPLE).length);
    expect(treeObject(remoteDir)).toEqual(treeObject(local));
    const second = await sync(ws, name);
    expect(second.code).toBe(0);
    expect(second.summary).toMatchObject({ uploaded: 0, downloaded: 0, deletedRemote: 0, bytes: 0 });
    const third = await sync(ws, name);
    expect(third.summary).toMatchObject({ uploaded: 0, downloaded: 0, bytes: 0 });
  });

  it("re-runs list folders over the control connection only without MLSD (vsftpd), and still see a remote change", async () => {
    const { name, local, remoteDir } = fresh({ direction: "download" });
    writeTree(remoteDir, { "a/one.txt": "1", "b/c/two.txt": "2", ".dot": "d" }, owner);
    expect((await sync(ws, name)).code).toBe(0);
    writeTree(remoteDir, { "b/c/three.txt": "3" }, owner);
    const r = await ws.cli(["-v", "sync", name, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(lastJsonLine(r.stdout, r.stderr)).toMatchObject({ downloaded: 1, deletedLocal: 0 });
    expect(treeObject(local)).toEqual(treeObject(remoteDir));
    expect(/STAT listings match LIST: used/.test(r.stderr)).toBe(kind === "vsftpd");
    expect(new RegExp(`> STAT -a /${name}/b/c\\b`).test(r.stderr)).toBe(kind === "vsftpd");
  });

  it("treats NFD and NFC spellings of a name as the same file, keeping the spelling on disk", async () => {
    const { name, local, remoteDir } = fresh({ direction: "two-way" });
    const nfd = "cafe\u0301 na\u0308ive.txt";
    writeTree(local, { [nfd]: "decomposed on disk", [`${nfd.slice(0, 5)}-dir/inner.txt`]: "in an NFD folder" });
    const first = await sync(ws, name);
    expect(first.code, first.stderr).toBe(0);
    expect(readdirSync(remoteDir).sort()).toEqual([nfd, `${nfd.slice(0, 5)}-dir`].sort());
    expect(readdirSync(join(remoteDir, `${nfd.slice(0, 5)}-dir`))).toEqual(["inner.txt"]);
    const second = await sync(ws, name);
    expect(second.summary).toMatchObject({ uploaded: 0, downloaded: 0, conflicts: 0 });
  });

  it("never copies the agent's own temporary files, on either side", async () => {
    const { name, local, remoteDir } = fresh({ direction: "two-way" });
    writeTree(local, { "a.txt": "a", ".ftps-sync.b.txt.0123abcd.part": "half of b" });
    writeTree(remoteDir, { "c.txt": "c", ".ftps-sync.d.txt.89abcdef.part": "half of d" }, owner);
    const r = await sync(ws, name);
    expect(r.code, r.stderr).toBe(0);
    expect(r.summary).toMatchObject({ uploaded: 1, downloaded: 1 });
    expect(existsSync(join(local, ".ftps-sync.d.txt.89abcdef.part"))).toBe(false);
    expect(existsSync(join(remoteDir, ".ftps-sync.b.txt.0123abcd.part"))).toBe(false);
  });

  it("uploads an edit and leaves no temporary file behind", async () => {
    const { name, local, remoteDir } = fresh({ direction: "upload" });
    writeTree(local, SAMPLE);
    await sync(ws, name);
    edit(local, "report.pdf", "%PDF-1.4 revised numbers, longer");
    const r = await sync(ws, name);
    expect(r.summary.uploaded).toBe(1);
    expect(treeObject(remoteDir)).toEqual(treeObject(local));
    expect(Object.keys(treeObject(remoteDir)).some(noTemp)).toBe(false);
  });

  it.each([
    ["never", { ours: true, theirs: true }],
    ["tracked", { ours: false, theirs: true }],
    ["mirror", { ours: false, theirs: false }],
  ] as const)("with delete=%s keeps exactly what the policy says on the remote", async (policy, expected) => {
    const { name, local, remoteDir } = fresh({ direction: "upload", delete: policy, maxDelete: 10 });
    writeTree(local, SAMPLE);
    writeTree(remoteDir, { "theirs.txt": "put there by the partner" }, owner);
    const first = await sync(ws, name);
    expect(first.code, first.stderr).toBe(0);
    unlinkSync(join(local, "report.pdf"));
    const r = await sync(ws, name, "--force");
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(join(remoteDir, "report.pdf"))).toBe(expected.ours);
    expect(existsSync(join(remoteDir, "theirs.txt"))).toBe(expected.theirs);
    expect(existsSync(join(remoteDir, "name with spaces.txt"))).toBe(true);
  });

  it("changes nothing on either side in a dry run, and prints the plan", async () => {
    const { name, local, remoteDir } = fresh({ direction: "two-way" });
    writeTree(local, { "new-local.txt": "x" });
    writeTree(remoteDir, { "new-remote.txt": "y" }, owner);
    const before = { local: treeObject(local), remote: treeObject(remoteDir) };
    const r = await sync(ws, name, "--dry-run");
    expect(r.code).toBe(0);
    expect(r.summary.plan?.map((a) => `${a.kind} ${a.path}`).sort()).toEqual(["download new-remote.txt", "upload new-local.txt"]);
    expect({ local: treeObject(local), remote: treeObject(remoteDir) }).toEqual(before);
    const plan = await ws.cli(["plan", name]);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toMatch(/upload\s+new-local\.txt/);
    expect({ local: treeObject(local), remote: treeObject(remoteDir) }).toEqual(before);
  });

  it("downloads a first time and transfers nothing on a second run", async () => {
    const { name, local, remoteDir } = fresh({ direction: "download", delete: "mirror" });
    writeTree(remoteDir, SAMPLE, owner);
    const first = await sync(ws, name);
    expect(first.code, first.stderr).toBe(0);
    expect(first.summary.downloaded).toBe(Object.keys(SAMPLE).length);
    expect(treeObject(local)).toEqual(treeObject(remoteDir));
    const second = await sync(ws, name);
    expect(second.summary).toMatchObject({ uploaded: 0, downloaded: 0, bytes: 0 });
    // an edit and a delete on the source propagate
    writeTree(remoteDir, { "report.pdf": "%PDF-1.4 new version from partner" }, owner, new Date(Date.now() + 3600_000));
    rmSync(join(remoteDir, ".hidden"));
    const third = await sync(ws, name);
    expect(third.code, third.stderr).toBe(0);
    expect(third.summary).toMatchObject({ downloaded: 1, deletedLocal: 1 });
    expect(treeObject(local)).toEqual(treeObject(remoteDir));
  });

  it("stops with exit 3 and deletes nothing when the remote folder was emptied", async () => {
    const { name, local, remoteDir } = fresh({ direction: "download", delete: "mirror" });
    writeTree(remoteDir, SAMPLE, owner);
    expect((await sync(ws, name)).code).toBe(0);
    for (const e of readdirSync(remoteDir)) rmSync(join(remoteDir, e), { recursive: true });
    const before = treeObject(local);
    const r = await ws.cli(["sync", name]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/--force/);
    expect(treeObject(local)).toEqual(before);
    const j = await sync(ws, name);
    expect(j.code).toBe(3);
    expect(j.summary).toMatchObject({ job: name, status: "aborted", deletedLocal: 0 });
  });

  it("stops with exit 3 when the remote folder was renamed away", async () => {
    const { name, local, remoteDir } = fresh({ direction: "two-way", delete: "mirror" });
    writeTree(remoteDir, SAMPLE, owner);
    expect((await sync(ws, name)).code).toBe(0);
    rmSync(remoteDir, { recursive: true });
    const before = treeObject(local);
    const r = await ws.cli(["sync", name]);
    expect(r.code).toBe(3);
    expect(treeObject(local)).toEqual(before);
  });

  it("two-way: an upload renamed into place but not recorded (the agent died in between) is recorded, not made a conflict", async () => {
    const { name, local, remoteDir } = fresh({ direction: "two-way" });
    writeTree(local, { "doc.txt": "version 1" });
    expect((await sync(ws, name)).code).toBe(0);
    // What a run killed right after its rename leaves: the new version on both sides, the old
    // record, and the partial row of the upload (its temporary file already renamed away).
    writeTree(local, { "doc.txt": "version 2, longer" });
    // edited an hour ago; the server's copy has the time of the upload (no MFMT on vsftpd)
    const hourAgo = new Date(Date.now() - 3600_000);
    utimesSync(join(local, "doc.txt"), hourAgo, hourAgo);
    writeTree(remoteDir, { "doc.txt": "version 2, longer" }, owner);
    const st = statSync(join(local, "doc.txt"));
    const state = openState(join(ws.dir, "state"));
    state.partials.begin({
      job: name, path: "doc.txt", direction: "upload", tempPath: `/${name}/.ftps-sync.doc.txt.0badf00d.part`,
      sourceSize: st.size, sourceMtime: Math.floor(st.mtimeMs), startedAt: Date.now(),
    });
    state.close();
    const { code, summary } = await sync(ws, name);
    expect(code).toBe(0);
    expect(summary.conflicts).toBe(0);
    expect(summary.uploaded + summary.downloaded).toBe(0);
    // no conflict copy on either side, the same content on both
    expect(readdirSync(local)).toEqual(["doc.txt"]);
    expect(readdirSync(remoteDir)).toEqual(["doc.txt"]);
    expect(readFileSync(join(local, "doc.txt"), "utf8")).toBe("version 2, longer");
    expect(treeObject(remoteDir)).toEqual(treeObject(local));
    // and the record holds: nothing to do next time
    const again = await sync(ws, name);
    expect(again.summary.uploaded + again.summary.downloaded + again.summary.conflicts).toBe(0);
  });

  it("two-way: propagates both sides, and keeps both versions of a conflict", async () => {
    const { name, local, remoteDir } = fresh({ direction: "two-way", delete: "tracked" });
    writeTree(local, { "shared.txt": "v1", "only-local.txt": "L" });
    writeTree(remoteDir, { "only-remote.txt": "R" }, owner);
    const first = await sync(ws, name);
    expect(first.code, first.stderr).toBe(0);
    expect(treeObject(local)).toEqual(treeObject(remoteDir));
    expect(Object.keys(treeObject(local)).sort()).toEqual(["only-local.txt", "only-remote.txt", "shared.txt"]);

    edit(local, "shared.txt", "local edit");
    writeTree(remoteDir, { "shared.txt": "remote edit!" }, owner, new Date(Date.now() + 7200_000));
    const r = await sync(ws, name);
    expect(r.code, r.stderr).toBe(0);
    expect(r.summary.conflicts).toBe(1);
    const files = treeObject(local);
    expect(files).toEqual(treeObject(remoteDir));
    const copy = Object.keys(files).find((f) => /^shared\.conflict-\d{8}T\d{6}-remote\.txt$/.test(f));
    expect(copy, JSON.stringify(files)).toBeDefined();
    expect(readFileSync(join(local, "shared.txt"), "utf8")).toBe("local edit");
    expect(readFileSync(join(local, copy!), "utf8")).toBe("remote edit!");

    // a delete on one side propagates under "tracked"; nothing else moves
    unlinkSync(join(local, "only-local.txt"));
    const del = await sync(ws, name);
    expect(del.summary.deletedRemote).toBe(1);
    expect(treeObject(local)).toEqual(treeObject(remoteDir));
  });

  /** Runs until a run finds both sides as the last run that found nothing to do (see settled-run.ts). */
  const settle = async (name: string) => {
    for (let i = 0; i < 4; i++) {
      const r = await sync(ws, name, "-v");
      expect(r.code, r.stderr).toBe(0);
      if (/both as at the last run/.test(r.stderr)) {
        expect(r.stderr).not.toMatch(/loaded \d+ state rows/);
        expect(r.summary).toMatchObject({ uploaded: 0, downloaded: 0, conflicts: 0, deletedLocal: 0, deletedRemote: 0 });
        return r.stderr;
      }
    }
    throw new Error(`${name}: no run found both sides as at the last run`);
  };

  it("a re-run that finds both sides as a settled run left them skips the state; a change on either side is still acted on", async () => {
    const { name, local, remoteDir } = fresh({ direction: "two-way" });
    writeTree(local, { "a.txt": "a", "sub/b.txt": "b" });
    writeTree(remoteDir, { "r.txt": "from the server" }, owner);
    const settledRun = await settle(name);
    expect(treeObject(local)).toEqual(treeObject(remoteDir));
    // Without MLSD, the listing still goes by STAT, sized from the memo's estimates (no state read).
    expect(new RegExp(`> STAT -a /${name}/sub\\b`).test(settledRun)).toBe(kind === "vsftpd");

    writeTree(remoteDir, { "r.txt": "changed on the server, and longer" }, owner);
    const remoteChange = await sync(ws, name, "-v");
    expect(remoteChange.summary).toMatchObject({ downloaded: 1, uploaded: 0, conflicts: 0 });
    expect(remoteChange.stderr).toMatch(/loaded \d+ state rows/);
    expect(readFileSync(join(local, "r.txt"), "utf8")).toBe("changed on the server, and longer");

    await settle(name);
    edit(local, "sub/b.txt", "changed here, and longer");
    const localChange = await sync(ws, name, "-v");
    expect(localChange.summary).toMatchObject({ uploaded: 1, downloaded: 0, conflicts: 0 });
    expect(treeObject(remoteDir)).toEqual(treeObject(local));

    await settle(name);
    rmSync(join(remoteDir, "sub", "b.txt"));
    const remoteGone = await sync(ws, name, "-v");
    expect(remoteGone.summary).toMatchObject({ uploaded: 1 }); // delete "never": the local copy goes back
    expect(readFileSync(join(remoteDir, "sub", "b.txt"), "utf8")).toBe("changed here, and longer");
  });

  it("the settled memo holds the job's settings: the same two sides under delete=mirror still lose the stray file", async () => {
    const { name, local, remoteDir } = fresh({ direction: "upload", delete: "never", maxDelete: 10 });
    writeTree(local, { "keep.txt": "k", "more/keep2.txt": "k2" });
    writeTree(remoteDir, { "stray.txt": "only on the server" }, owner);
    await settle(name);
    expect(existsSync(join(remoteDir, "stray.txt"))).toBe(true);
    ws.writeJob(name, { remote: "srv", remotePath: `/${name}`, local, direction: "upload", delete: "mirror", maxDelete: 10 });
    const r = await sync(ws, name, "-v");
    expect(r.code, r.stderr).toBe(0);
    expect(r.summary).toMatchObject({ deletedRemote: 1 });
    expect(existsSync(join(remoteDir, "stray.txt"))).toBe(false);
  });
});
