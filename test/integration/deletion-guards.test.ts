// Deletion safety end to end, on a real server: the guards, per-path failures and a missing
// remote folder, as a user meets them through the CLI.
import { chmodSync, chownSync, existsSync, readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureTestUser, requireServers, startServer, type RunningServer } from "../servers/real-servers.js";
import { makeWorkspace, type Workspace } from "../helpers/workspace.js";
import { makeServerFolder, treeObject, writeTree } from "../helpers/trees.js";
import { syncJson as sync } from "../helpers/sync-json.js";
import { prng, put, randomBytesFrom, startRig, type Rig } from "../faults/harness.js";

requireServers("vsftpd");

describe("deletion safety against vsftpd", () => {
  let server: RunningServer;
  let owner: { uid: number; gid: number };
  let ws: Workspace;
  let n = 0;
  /** A fresh remote and local folder per test (the remote one created unless `remoteMissing`). */
  const fresh = (job: Record<string, unknown>, opts: { remoteMissing?: boolean } = {}) => {
    n++;
    const name = `job${n}`;
    const remoteDir = join(server.root, name);
    if (!opts.remoteMissing) makeServerFolder(server.root, name, owner);
    const local = ws.folder(`local${n}`);
    ws.writeJob(name, { remote: "srv", remotePath: `/${name}`, local, ...job });
    return { name, local, remoteDir };
  };

  beforeAll(async () => {
    owner = await ensureTestUser();
    server = await startServer("vsftpd", { tls: "explicit" });
    ws = makeWorkspace(server, { fingerprint: server.fingerprint, maxConnections: 2 });
  });
  afterAll(async () => {
    ws?.cleanup();
    await server?.stop();
  });

  it("a local folder emptied of its files but keeping its folders stops an upload job with exit 3, maxDelete being a count, and the server keeps every file", async () => {
    const { name, local, remoteDir } = fresh({ direction: "upload", delete: "mirror", maxDelete: 100 });
    writeTree(local, { "a/one.txt": "1", "a/b/two.txt": "2", "c/three.txt": "3", "top.txt": "t" });
    expect((await sync(ws, name)).code).toBe(0);
    const before = treeObject(remoteDir);
    expect(Object.keys(before)).toHaveLength(4);
    for (const f of ["a/one.txt", "a/b/two.txt", "c/three.txt", "top.txt"]) rmSync(join(local, f));
    expect(readdirSync(local).sort()).toEqual(["a", "c"]);
    const r = await sync(ws, name);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/local folder is empty.*--force/s);
    expect(r.summary).toMatchObject({ status: "aborted", deletedRemote: 0 });
    expect(treeObject(remoteDir)).toEqual(before);
  });

  it("a file the server refuses (553) is reported at every run, and deletions elsewhere still happen", async () => {
    const { name, local, remoteDir } = fresh({ direction: "upload", delete: "mirror", maxDelete: 100 });
    writeTree(local, { "keep.txt": "k", "gone1.txt": "1", "gone2.txt": "2", "locked/old.txt": "o", "other/x.txt": "x" });
    expect((await sync(ws, name)).code).toBe(0);
    // A folder the FTP user may not write into: a new file there is refused with 553, every run.
    chownSync(join(remoteDir, "locked"), 0, 0);
    chmodSync(join(remoteDir, "locked"), 0o555);
    writeTree(local, { "locked/new.txt": "refused by the server" });
    rmSync(join(local, "gone1.txt"));
    const first = await sync(ws, name);
    expect(first.code, first.stderr).toBe(1);
    expect(first.summary.errors?.join("\n")).toMatch(/upload locked\/new\.txt: .*553/);
    expect(first.summary).toMatchObject({ status: "failed", failed: 1, deletedRemote: 1 });
    expect(existsSync(join(remoteDir, "gone1.txt"))).toBe(false);

    // The next run: the same refusal is reported again, and a new deletion elsewhere still happens.
    rmSync(join(local, "gone2.txt"));
    const second = await sync(ws, name);
    expect(second.code, second.stderr).toBe(1);
    expect(second.summary.errors?.join("\n")).toMatch(/upload locked\/new\.txt: .*553/);
    expect(second.summary).toMatchObject({ deletedRemote: 1 });
    expect(existsSync(join(remoteDir, "gone2.txt"))).toBe(false);
    expect(readdirSync(remoteDir).sort()).toEqual(["keep.txt", "locked", "other"]);
    expect(readdirSync(join(remoteDir, "locked"))).toEqual(["old.txt"]);
  });

  it("a two-way job whose remote folder does not exist yet: plan says it will create it, and the first sync does", async () => {
    const { name, local, remoteDir } = fresh({ direction: "two-way" }, { remoteMissing: true });
    writeTree(local, { "a.txt": "a", "sub/b.txt": "b" });
    const plan = await ws.cli(["plan", name]);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toMatch(new RegExp(`mkdir remote .*remote folder /${name} does not exist yet`));
    expect(plan.stdout).toMatch(/upload\s+a\.txt/);
    expect(existsSync(remoteDir)).toBe(false);
    const r = await sync(ws, name);
    expect(r.code, r.stderr).toBe(0);
    expect(r.summary).toMatchObject({ status: "ok", uploaded: 2 });
    expect(treeObject(remoteDir)).toEqual(treeObject(local));
    const again = await sync(ws, name);
    expect(again.summary).toMatchObject({ status: "ok", uploaded: 0, downloaded: 0 });
  });

  it("an upload job whose remote folder does not exist yet: plan says it will create it", async () => {
    const { name, local, remoteDir } = fresh({ direction: "upload" }, { remoteMissing: true });
    writeTree(local, { "a.txt": "a" });
    const plan = await ws.cli(["plan", name]);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toMatch(new RegExp(`mkdir remote .*remote folder /${name} does not exist yet`));
    expect(existsSync(remoteDir)).toBe(false);
    expect((await sync(ws, name)).code).toBe(0);
    expect(treeObject(remoteDir)).toEqual(treeObject(local));
  });

  it("a download job whose remote folder does not exist fails with a message naming the folder, and deletes nothing", async () => {
    const { name, local } = fresh({ direction: "download", delete: "mirror", maxDelete: 100 }, { remoteMissing: true });
    writeTree(local, { "mine.txt": "local only" });
    const before = treeObject(local);
    const plan = await ws.cli(["plan", name]);
    expect(plan.code).toBe(1);
    expect(plan.stdout + plan.stderr).toMatch(new RegExp(`remote folder /${name} does not exist`));
    expect(plan.stdout).not.toMatch(/nothing to do/);
    const r = await sync(ws, name);
    expect(r.code).toBe(1);
    expect(r.summary).toMatchObject({ status: "failed", deletedLocal: 0 });
    expect(r.summary.errors?.join("\n")).toMatch(new RegExp(`remote folder /${name} does not exist.*remotePath`));
    expect(treeObject(local)).toEqual(before);
  });
});

describe("deletion safety against vsftpd behind a fault proxy", () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({ timeoutSeconds: 3 });
  });
  afterAll(async () => {
    await rig?.stop();
  });

  it("an upload whose connection keeps being cut (a temporary failure that outlives its retries) still blocks every deletion of the run", async () => {
    const j = rig.job("transient", { direction: "upload", delete: "mirror", maxDelete: 100 });
    put(j.local, "gone.txt", "to be deleted");
    put(j.local, "keep.txt", "k");
    expect((await rig.sync("transient")).code).toBe(0);
    rmSync(join(j.local, "gone.txt"));
    put(j.local, "big.bin", randomBytesFrom(prng(7), 3 * 1024 * 1024));
    // Every data connection is cut after 200 kB: the listing gets through, the upload never does.
    rig.proxy.faultFor = (c) => (c.kind === "data" ? { kind: "cut", afterBytes: 200_000 } : undefined);
    const r = await rig.sync("transient", { timeoutMs: 60_000 });
    rig.proxy.disarm();
    expect(r.code, r.stderr.slice(-2000)).toBe(1);
    expect(r.summary).toMatchObject({ status: "failed", deletedRemote: 0, skippedDeletes: 1 });
    expect(r.summary?.warnings?.join("\n")).toMatch(/1 deletion\(s\) skipped because this run had errors/);
    expect(existsSync(join(j.remoteDir, "gone.txt"))).toBe(true);
  }, 90_000);
});
