// Downloads that must not lie, against real servers whose folders the test writes directly (it
// plays the partner): a file rewritten with the same size and a time the listing shows by day
// only, a file rewritten while it is being downloaded, a resumed download whose first part changed.
import { spawn } from "node:child_process";
import { closeSync, openSync, readdirSync, readFileSync, statSync, utimesSync, writeSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureTestUser, requireServers, startServer, type RunningServer, type ServerKind } from "../servers/real-servers.js";
import { makeWorkspace, type Workspace } from "../helpers/workspace.js";
import { makeServerFolder, writeTree } from "../helpers/trees.js";
import { lastJsonLine, type SyncJson } from "../helpers/sync-json.js";
import { CLI } from "../helpers/cli.js";
import { openState } from "../../src/state/index.js";

const MB = 1024 * 1024;

/** Bytes that differ from `other` at every position (same length): a rewrite anyone can tell. */
function distinct(len: number, seed: number): Buffer {
  const b = Buffer.alloc(len);
  for (let i = 0; i < len; i++) b[i] = (i * 7 + seed) & 0xff;
  return b;
}

/** Overwrites the file's bytes where they are (same inode, same size), as a partner's program may. */
function rewriteInPlace(path: string, content: Buffer, mtime: Date): void {
  const fd = openSync(path, "r+");
  try {
    writeSync(fd, content, 0, content.length, 0);
  } finally {
    closeSync(fd);
  }
  utimesSync(path, mtime, mtime);
}

/** Size of the agent's temporary download file in `dir`, 0 while there is none. */
function partSize(dir: string): number {
  const part = readdirSync(dir).find((f) => f.startsWith(".ftps-sync.") && f.endsWith(".part"));
  return part ? statSync(join(dir, part)).size : 0;
}

/** Starts `sync job` and SIGKILLs the agent once its temporary file holds some bytes. */
async function killMidDownload(ws: Workspace, job: string, local: string): Promise<void> {
  const child = spawn(process.execPath, [CLI, "--config", ws.configPath, "sync", job], {
    env: { ...process.env, FTPS_SYNC_CONFIG: "", ...ws.env },
    stdio: "ignore",
  });
  const exited = new Promise((r) => child.once("close", r));
  try {
    await waitFor("the download to start", () => partSize(local) > 512 * 1024);
  } finally {
    child.kill("SIGKILL");
    await exited;
  }
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

requireServers("vsftpd", "proftpd", "pureftpd");
const KINDS: ServerKind[] = ["vsftpd", "proftpd", "pureftpd"];

/** A server of `kind`, a workspace, and a fresh remote and local folder per test. */
function onServer(kind: ServerKind) {
  const ctx = {} as { server: RunningServer; owner: { uid: number; gid: number }; ws: Workspace };
  let n = 0;
  beforeAll(async () => {
    ctx.owner = await ensureTestUser();
    ctx.server = await startServer(kind, { tls: "explicit" });
    ctx.ws = makeWorkspace(ctx.server, { fingerprint: ctx.server.fingerprint, maxConnections: 2 });
  });
  afterAll(async () => {
    ctx.ws?.cleanup();
    await ctx.server?.stop();
  });
  const fresh = (job: Record<string, unknown> = {}) => {
    const { server, owner, ws } = ctx;
    n++;
    const name = `job${n}`;
    const remoteDir = makeServerFolder(server.root, name, owner);
    const local = ws.folder(`local${n}`);
    ctx.ws.writeJob(name, { remote: "srv", remotePath: `/${name}`, local, direction: "download", ...job });
    return { name, local, remoteDir };
  };
  const sync = async (name: string, ...flags: string[]): Promise<{ code: number | null; summary: SyncJson; stderr: string }> => {
    const r = await ctx.ws.cli(["sync", name, "--json", ...flags]);
    return { code: r.code, summary: lastJsonLine(r.stdout, r.stderr), stderr: r.stderr };
  };
  return { ctx, fresh, sync };
}

describe.each(KINDS)("downloads on %s", (kind) => {
  const { ctx, fresh, sync } = onServer(kind);

  it("a file rewritten in place with the same size during its download is discarded, not published, and fetched whole next run", async () => {
    const { name, local, remoteDir } = fresh({ bandwidthLimit: "1MB" });
    const old = distinct(4 * MB, 1);
    const fresh2 = distinct(4 * MB, 2);
    writeTree(remoteDir, { "big.bin": old }, ctx.owner, new Date(Date.now() - 3_600_000));
    const running = sync(name);
    // Once some bytes have landed, the partner overwrites the file where it is.
    await waitFor("the download to start", () => partSize(local) > 256 * 1024);
    rewriteInPlace(join(remoteDir, "big.bin"), fresh2, new Date());
    const first = await running;
    expect(first.code, first.stderr).toBe(0);
    expect(first.summary).toMatchObject({ downloaded: 0, deferred: 1, failed: 0 });
    expect(first.summary.warnings?.join("\n")).toMatch(/big\.bin changed on the server while it was being downloaded/);
    expect(readdirSync(local)).toEqual([]); // neither a torn file under the real name nor a temporary one

    ctx.ws.writeJob(name, { remote: "srv", remotePath: `/${name}`, local, direction: "download" });
    const second = await sync(name);
    expect(second.code, second.stderr).toBe(0);
    expect(second.summary.downloaded).toBe(1);
    expect(readFileSync(join(local, "big.bin")).equals(fresh2)).toBe(true);
  });

  it("a resumed download of an unchanged file continues where it stopped", async () => {
    const { name, local, remoteDir } = fresh({ bandwidthLimit: "1MB" });
    const content = distinct(4 * MB, 4);
    writeTree(remoteDir, { "big.bin": content }, ctx.owner, new Date(Date.now() - 3_600_000));
    await killMidDownload(ctx.ws, name, local);
    ctx.ws.writeJob(name, { remote: "srv", remotePath: `/${name}`, local, direction: "download" });
    const r = await ctx.ws.cli(["-v", "sync", name, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/resuming download of \/job\d+\/big\.bin at byte [1-9]/);
    expect(readFileSync(join(local, "big.bin")).equals(content)).toBe(true);
  });
});

describe("downloads on vsftpd (LIST only: minute and day times)", () => {
  const { ctx, fresh, sync } = onServer("vsftpd");

  it("a file rewritten with the same size and a future time (listed by day only) is downloaded again", async () => {
    const { name, local, remoteDir } = fresh();
    const hourAgo = new Date(Date.now() - 3_600_000);
    writeTree(remoteDir, { "f.dat": "version one" }, ctx.owner, hourAgo);
    const first = await sync(name);
    expect(first.code, first.stderr).toBe(0);
    expect(first.summary.downloaded).toBe(1);

    // The partner rewrites it: same size, a time two minutes ahead. vsftpd lists a future time
    // as "Dec 05 2026", by day only; the state holds the old time to the minute.
    writeTree(remoteDir, { "f.dat": "version two" }, ctx.owner);
    const ahead = new Date(Date.now() + 120_000);
    utimesSync(join(remoteDir, "f.dat"), ahead, ahead);
    const second = await sync(name);
    expect(second.code, second.stderr).toBe(0);
    expect(second.summary.downloaded).toBe(1);
    expect(readFileSync(join(local, "f.dat"), "utf8")).toBe("version two");

    // Unchanged since: the exact time (MDTM) says so, and nothing is fetched again.
    const third = await sync(name);
    expect(third.code, third.stderr).toBe(0);
    expect(third.summary.downloaded).toBe(0);
  });

  it("a resumed download whose first part changed on the server (same size, same listed minute) starts over", async () => {
    const { name, local, remoteDir } = fresh({ bandwidthLimit: "1MB" });
    const old = distinct(4 * MB, 3);
    const next = Buffer.from(old);
    next.fill(0x5a, 0, MB); // the first part changes, the rest stays
    // Both versions' times fall in the same minute: the listing ("Dec 05 13:30") cannot tell them apart.
    const minute = Math.floor((Date.now() - 3_600_000) / 60_000) * 60_000;
    writeTree(remoteDir, { "big.bin": old }, ctx.owner, new Date(minute + 10_000));

    // The agent dies part-way: a partial row and a temporary file holding the old first part remain.
    await killMidDownload(ctx.ws, name, local);
    expect(partSize(local)).toBeGreaterThan(0);

    rewriteInPlace(join(remoteDir, "big.bin"), next, new Date(minute + 40_000));
    ctx.ws.writeJob(name, { remote: "srv", remotePath: `/${name}`, local, direction: "download" });
    const r = await sync(name);
    expect(r.code, r.stderr).toBe(0);
    expect(r.summary.downloaded).toBe(1);
    expect(readFileSync(join(local, "big.bin")).equals(next)).toBe(true);
    expect(readdirSync(local)).toEqual(["big.bin"]);
  });


  it("a download renamed into place but not recorded is still recognised when its partial row holds MDTM's exact time", async () => {
    const { name, local, remoteDir } = fresh({ direction: "two-way" });
    writeTree(remoteDir, { "doc.txt": "version 1" }, ctx.owner);
    expect((await sync(name)).code).toBe(0);
    // The partner's version 2 at 41 s past a minute: the listing shows the minute, MDTM the second.
    const minute = Math.floor(Date.now() / 60_000) * 60_000 - 60_000;
    const exact = new Date(minute + 41_000);
    writeTree(remoteDir, { "doc.txt": "partner's version 2" }, ctx.owner, exact);
    // What a run killed right after the rename leaves: the file with the listed time, the old
    // record, and the partial row with the exact time the download took before its first byte.
    writeTree(local, { "doc.txt": "partner's version 2" }, undefined, new Date(minute));
    const state = openState(join(ctx.ws.dir, "state"));
    state.partials.begin({
      job: name, path: "doc.txt", direction: "download", tempPath: join(local, ".ftps-sync.doc.txt.0badf00d.part"),
      sourceSize: "partner's version 2".length, sourceMtime: exact.getTime(), startedAt: Date.now(),
    });
    state.close();
    const r = await sync(name);
    expect(r.code, r.stderr).toBe(0);
    expect(r.summary).toMatchObject({ conflicts: 0, uploaded: 0, downloaded: 0 });
    expect(r.stderr).toMatch(/doc\.txt: its download was renamed into place before the last run stopped; recorded now/);
    expect(readdirSync(local)).toEqual(["doc.txt"]);
  });
});
