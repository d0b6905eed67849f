// The quick subset of the fault suite (the long mode is `npm run test:faults`): a real vsftpd
// behind the fault proxy (test/faults/proxy.ts), connections cut at random points, the agent
// killed, stalls, server-side errors, full disks on either side, a listing failing half-way.
import { execFileSync } from "node:child_process";
import { chownSync, existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireServers, startServer } from "../servers/real-servers.js";
import { makeWorkspace } from "../helpers/workspace.js";
import { hashTree, put, randomBytesFrom, prng, runSync, sha, startRig, tempFiles, type Rig } from "../faults/harness.js";
import { ONE_CONNECTION_FOLDERS } from "../../src/protocol/stat-listing.js";
import { cutsBigFile, cutsManyFiles, sigkill, type ScenarioResult } from "../faults/scenarios.js";

requireServers("vsftpd");

const SEED = Number(process.env.FTPS_SYNC_FAULTS_SEED ?? 20240601);

function expectClean(r: ScenarioResult): void {
  expect({ lost: r.lost, half: r.half, failures: r.failures, notes: r.notes }).toEqual({ lost: 0, half: 0, failures: 0, notes: [] });
  expect(r.faultsHit).toBeGreaterThan(0);
}

function mountTmpfs(dir: string, size: string): () => void {
  execFileSync("mount", ["-t", "tmpfs", "-o", `size=${size},mode=0755`, "tmpfs", dir]);
  return () => {
    try {
      execFileSync("umount", [dir]);
    } catch {
      execFileSync("umount", ["-l", dir]);
    }
  };
}

describe("faults (quick subset) against vsftpd behind a fault proxy", () => {
  let rig: Rig;
  beforeAll(async () => {
    // Short, so that the stalls below are noticed quickly; not shorter, or a login on a machine
    // busy with the rest of the suite can pass it (one connect timed out at 2 s in a full run).
    rig = await startRig({ timeoutSeconds: 3 });
  });
  afterAll(async () => {
    await rig?.stop();
  });

  it("connections cut at random points while uploading and downloading many files: nothing lost, no half file", async () => {
    expectClean(await cutsManyFiles(rig, "upload", { iterations: 2, seed: SEED, files: 120 }));
    expectClean(await cutsManyFiles(rig, "download", { iterations: 2, seed: SEED + 1, files: 120 }));
  }, 180_000);

  it("connections cut at a random byte of a big file, both directions: resumed, never half", async () => {
    expectClean(await cutsBigFile(rig, "upload", { iterations: 2, seed: SEED + 2, bigBytes: 8 * 1024 * 1024 }));
    expectClean(await cutsBigFile(rig, "download", { iterations: 2, seed: SEED + 3, bigBytes: 8 * 1024 * 1024 }));
  }, 180_000);

  it.each(["upload", "download", "two-way"] as const)("the agent SIGKILLed mid-run (%s): the next run converges, nothing lost or duplicated, no temporary file", async (direction) => {
    const r = await sigkill(rig, direction, { iterations: 2, seed: SEED + 4, files: 80, bigBytes: 3 * 1024 * 1024 });
    expect({ lost: r.lost, half: r.half, failures: r.failures, notes: r.notes }).toEqual({ lost: 0, half: 0, failures: 0, notes: [] });
  }, 180_000);

  it("a stalled data connection is detected by the timeout and retried, never a hang", async () => {
    const j = rig.job("stall", { direction: "upload" });
    for (let i = 0; i < 6; i++) put(j.local, `f${i}.txt`, `file ${i} `.repeat(1000));
    // the 2nd and 3rd data connections stall: one after a few bytes, one before any byte
    const base = rig.proxy.stats.data;
    rig.proxy.faultFor = (c) => (c.kind === "data" && (c.index === base + 1 || c.index === base + 2) ? { kind: "stall", afterBytes: c.index === base + 1 ? 2000 : 0 } : undefined);
    const r = await rig.sync("stall", { timeoutMs: 60_000 });
    rig.proxy.disarm();
    expect(r.signal).toBeNull();
    expect(r.code, JSON.stringify(r.summary) + r.stderr.slice(-3000)).toBe(0);
    expect(r.ms).toBeLessThan(30_000);
    expect(r.stderr).toMatch(/timeout/i);
    expect(hashTree(j.remoteDir)).toEqual(hashTree(j.local));
  }, 90_000);

  it("a data connection that goes silent without the server noticing: the retry does not wait on the server's lock on the old temporary file", async () => {
    // vsftpd (lock_upload_files, the default) holds a write lock on a file being uploaded until
    // that session ends; here the session never learns that the agent gave up. A retry into the
    // same temporary name would wait on that lock until the server's own timeout (minutes).
    const j = rig.job("stale-lock", { direction: "upload" });
    put(j.local, "big.bin", randomBytesFrom(prng(SEED + 20), 400_000));
    const base = rig.proxy.stats.data;
    // data connections: the listing (a few bytes: the stall never triggers), then the upload
    rig.proxy.faultFor = (c) => (c.kind === "data" && c.index <= base + 1 ? { kind: "stall", afterBytes: 60_000, serverNeverLearns: true } : undefined);
    const r = await rig.sync("stale-lock", { timeoutMs: 60_000 });
    rig.proxy.disarm();
    expect(r.code, JSON.stringify(r.summary) + r.stderr.slice(-3000)).toBe(0);
    expect(r.ms).toBeLessThan(30_000);
    expect(r.stderr).toMatch(/timeout/i);
    expect(hashTree(j.remoteDir)).toEqual(hashTree(j.local));
    // the abandoned temporary file was removed, not left beside the real one
    expect(tempFiles(j.remoteDir)).toEqual([]);
  }, 90_000);

  it("a big file downloads in ranges over several connections; a range cut mid-way is continued, not restarted, and the file arrives whole", async () => {
    const j = rig.job("segments", { direction: "download" });
    const bytes = 80 * 1024 * 1024; // above the 64 MiB from which downloads are segmented
    const content = randomBytesFrom(prng(SEED + 21), bytes);
    put(j.remoteDir, "big.bin", content, rig.owner);
    const logLines = () => readFileSync(join(rig.server.dir, "vsftpd.log"), "utf8").split("\n");
    const seen = logLines().length;
    const base = rig.proxy.stats.data;
    // data connections: the listing (small: the cut never triggers), then the ranges
    rig.proxy.faultFor = (c) => (c.kind === "data" && c.index <= base + 2 ? { kind: "cut", afterBytes: 5_000_000 } : undefined);
    const r = await rig.sync("segments", { timeoutMs: 120_000 });
    rig.proxy.disarm();
    expect(r.code, JSON.stringify(r.summary) + r.stderr.slice(-3000)).toBe(0);
    expect(r.stderr).toMatch(/retrying/);
    expect(sha(readFileSync(join(j.local, "big.bin")))).toBe(sha(content));
    expect(tempFiles(j.local)).toEqual([]);
    // three ranges (maxConnections 3) from 0, 1/3 and 2/3 of the file; a cut range resumed at its own offset
    const rests = logLines().slice(seen).map((l) => /"REST (\d+)"/.exec(l)?.[1]).filter((x): x is string => !!x).map(Number);
    const step = Math.ceil(bytes / 3);
    expect(rests).toEqual(expect.arrayContaining([step, 2 * step]));
    expect(rests.some((n) => n % step !== 0)).toBe(true);
  }, 180_000);

  it("a segmented download killed mid-way: never published with holes; the next run continues each range where it was flushed", async () => {
    const j = rig.job("segments-kill", { direction: "download" });
    const bytes = 80 * 1024 * 1024;
    const content = randomBytesFrom(prng(SEED + 22), bytes);
    put(j.remoteDir, "big.bin", content, rig.owner);
    // slow the ranges down so that the kill lands mid-transfer, after a flush or two of each range
    rig.proxy.faultFor = (c) => (c.kind === "data" ? { kind: "slow", bytesPerSecond: 10_000_000 } : undefined);
    // 1.5 s after the ranges' file appears, each range (10 MB/s) is past its first flush (every ~6.7 MB).
    const killed = await rig.sync("segments-kill", { killWhen: () => tempFiles(j.local).length > 0, killAfterMs: 1500 });
    rig.proxy.disarm();
    expect(killed.signal).toBe("SIGKILL");
    expect(existsSync(join(j.local, "big.bin"))).toBe(false);
    expect(tempFiles(j.local).length).toBe(1);
    const logLines = () => readFileSync(join(rig.server.dir, "vsftpd.log"), "utf8").split("\n");
    const seen = logLines().length;
    const r = await rig.sync("segments-kill");
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    expect(r.stderr).toMatch(/resuming segmented download of \S+: \d+ of 83886080 bytes on disk/);
    expect(sha(readFileSync(join(j.local, "big.bin")))).toBe(sha(content));
    expect(tempFiles(j.local)).toEqual([]);
    // the ranges (from 0, 1/3 and 2/3 of the file) continued past their starts
    const step = Math.ceil(bytes / 3);
    const rests = logLines().slice(seen).map((l) => /"REST (\d+)"/.exec(l)?.[1]).filter((x): x is string => !!x).map(Number);
    expect(rests.some((n) => n % step !== 0)).toBe(true);
  }, 180_000);

  it("a stalled control connection mid-run is detected and the run still completes", async () => {
    const j = rig.job("stall-control", { direction: "upload" });
    for (let i = 0; i < 20; i++) put(j.local, `f${i}.txt`, `file ${i} `.repeat(500));
    const base = rig.proxy.stats.control;
    rig.proxy.faultFor = (c) => (c.kind === "control" && c.index === base + 1 ? { kind: "stall", afterBytes: 9000 } : undefined);
    const r = await rig.sync("stall-control", { timeoutMs: 60_000 });
    rig.proxy.disarm();
    expect(r.signal).toBeNull();
    expect(r.ms).toBeLessThan(40_000);
    if (r.code !== 0) expect((await rig.sync("stall-control")).code).toBe(0);
    expect(hashTree(j.remoteDir)).toEqual(hashTree(j.local));
  }, 120_000);

  it("a slow link completes (and stays under the timeout while bytes flow)", async () => {
    const j = rig.job("slow", { direction: "download" });
    put(j.remoteDir, "slow.bin", randomBytesFrom(prng(SEED), 300_000), rig.owner);
    rig.proxy.faultFor = (c) => (c.kind === "data" ? { kind: "slow", bytesPerSecond: 200_000 } : undefined);
    const r = await rig.sync("slow", { timeoutMs: 60_000 });
    rig.proxy.disarm();
    expect(r.code, r.stderr.slice(-1500)).toBe(0);
    expect(hashTree(j.local)).toEqual(hashTree(j.remoteDir));
  }, 90_000);

  it("the server restarted mid-run: the run completes or reports failure, the next one converges", async () => {
    const j = rig.job("restart", { direction: "upload" });
    const rnd = prng(SEED + 9);
    for (let i = 0; i < 150; i++) put(j.local, `r${i % 9}/f${i}.dat`, randomBytesFrom(rnd, 2000 + (i % 13) * 500));
    const run = rig.sync("restart", { timeoutMs: 90_000 });
    await new Promise((r) => setTimeout(r, 1200));
    await rig.server.restart(500);
    const r = await run;
    expect(r.signal).toBeNull();
    expect([0, 1]).toContain(r.code);
    const again = await rig.sync("restart");
    expect(again.code, again.stderr.slice(-1500)).toBe(0);
    expect(hashTree(j.remoteDir)).toEqual(hashTree(j.local));
  }, 120_000);

  it("a listing failing half-way (data and control connections reset after the first): no local file is deleted", async () => {
    const j = rig.job("halflist", { direction: "download", delete: "mirror", maxDelete: "100%" });
    // More folders than a near server's re-run lists over one connection (statListingWidth), so
    // that the re-run needs a second control connection, which fails.
    const folders = ONE_CONNECTION_FOLDERS + 6;
    for (let i = 0; i < folders; i++) put(j.remoteDir, `sub${i}/f${i}.txt`, `remote ${i}`, rig.owner);
    expect((await rig.sync("halflist")).code).toBe(0);
    const before = hashTree(j.local);
    // Folders come over data connections (LIST) or, on a re-run, over control connections (STAT):
    // both kinds fail after the first.
    const base = { data: rig.proxy.stats.data, control: rig.proxy.stats.control };
    rig.proxy.faultFor = (c) => (c.index > base[c.kind] ? { kind: "reset", afterBytes: 0 } : undefined);
    const r = await rig.sync("halflist", { timeoutMs: 60_000 });
    rig.proxy.disarm();
    expect(r.code).toBe(1);
    expect(r.summary?.errors?.join("\n")).toMatch(/cannot list remote folder/);
    expect(r.summary?.deletedLocal).toBe(0);
    expect(hashTree(j.local)).toEqual(before);
  }, 90_000);

  it("a remote folder the server cannot read: no local file below it is deleted", async () => {
    const j = rig.job("unreadable", { direction: "download", delete: "mirror", maxDelete: "100%" });
    for (let i = 0; i < 6; i++) put(j.remoteDir, `locked/f${i}.txt`, `remote ${i}`, rig.owner);
    put(j.remoteDir, "open.txt", "open", rig.owner);
    expect((await rig.sync("unreadable")).code).toBe(0);
    const before = hashTree(j.local);
    execFileSync("chmod", ["000", join(j.remoteDir, "locked")]);
    try {
      const r = await rig.sync("unreadable");
      expect(r.summary?.deletedLocal, r.stdout).toBe(0);
      expect(hashTree(j.local)).toEqual(before);
    } finally {
      execFileSync("chmod", ["755", join(j.remoteDir, "locked")]);
    }
  }, 60_000);

  it("the server's disk is full (tmpfs of 2 MB): a clear failure, no half file under its final name", async () => {
    const j = rig.job("remotefull", { direction: "upload" });
    const unmount = mountTmpfs(j.remoteDir, "2m");
    try {
      chownSync(j.remoteDir, rig.owner.uid, rig.owner.gid);
      put(j.local, "small.txt", "fits");
      put(j.local, "huge.bin", randomBytesFrom(prng(SEED), 3 * 1024 * 1024));
      const r = await rig.sync("remotefull", { timeoutMs: 60_000 });
      expect(r.signal).toBeNull();
      expect(r.code).toBe(1);
      expect(r.summary?.errors?.join("\n")).toMatch(/huge\.bin/);
      expect(existsSync(join(j.remoteDir, "huge.bin"))).toBe(false);
      const small = join(j.remoteDir, "small.txt");
      if (existsSync(small)) expect(readFileSync(small, "utf8")).toBe("fits");
    } finally {
      unmount();
    }
  }, 90_000);

  it("the local disk is full during a download (tmpfs of 2 MB): the old local version stays intact, a clear error", async () => {
    const j = rig.job("localfull", { direction: "download" });
    const unmount = mountTmpfs(j.local, "2m");
    try {
      const v1 = randomBytesFrom(prng(SEED + 1), 1024 * 1024);
      put(j.remoteDir, "doc.bin", v1, rig.owner, Date.now() - 3_600_000);
      expect((await rig.sync("localfull")).code).toBe(0);
      put(j.remoteDir, "doc.bin", randomBytesFrom(prng(SEED + 2), 1536 * 1024), rig.owner, Date.now());
      const r = await rig.sync("localfull", { timeoutMs: 60_000 });
      expect(r.code).toBe(1);
      expect(r.summary?.errors?.join("\n")).toMatch(/ENOSPC|no space/i);
      expect(readFileSync(join(j.local, "doc.bin")).equals(v1)).toBe(true);
      expect(tempFiles(j.local)).toEqual([]);
    } finally {
      unmount();
    }
  }, 90_000);
});

describe("server-side refusals by a real vsftpd", () => {
  it("421 too many connections (max_per_ip=2, maxConnections 4): the pool shrinks and the run completes", async () => {
    const server = await startServer("vsftpd", { tls: "explicit", extraConfig: ["max_per_ip=2"] });
    const ws = makeWorkspace(server, { fingerprint: server.fingerprint, maxConnections: 4, timeoutSeconds: 5 });
    try {
      const { uid, gid } = statSync(server.root);
      const remoteDir = join(server.root, "j");
      execFileSync("mkdir", [remoteDir]);
      chownSync(remoteDir, uid, gid);
      const local = ws.folder("local");
      for (let i = 0; i < 30; i++) put(local, `f${i}.txt`, `file ${i}`);
      ws.writeJob("j", { remote: "srv", remotePath: "/j", local, direction: "upload", retries: { attempts: 4, initialDelay: "100ms", maxDelay: "500ms" } });
      const r = await runSync(ws, "j");
      expect(r.code, r.stderr.slice(-1500)).toBe(0);
      expect(r.stderr).toMatch(/421|pool shrunk/);
      expect(hashTree(remoteDir)).toEqual(hashTree(local));
    } finally {
      ws.cleanup();
      await server.stop();
    }
  }, 90_000);

  it("530 wrong password: exit 4, one clear message, exactly one login attempt in the server's log", async () => {
    const server = await startServer("vsftpd", { tls: "explicit" });
    const ws = makeWorkspace({ ...server, password: "not-the-password" }, { fingerprint: server.fingerprint });
    try {
      const local = ws.folder("local");
      ws.writeJob("j", { remote: "srv", remotePath: "/", local, direction: "download" });
      const r = await runSync(ws, "j");
      expect(r.code).toBe(4);
      expect(r.stdout + r.stderr).toMatch(/login refused for user "ftpsynctest" \(530\)/);
      const log = readFileSync(join(server.dir, "vsftpd.log"), "utf8");
      expect(log.match(/"PASS /g) ?? []).toHaveLength(1);
      expect(log.match(/FAIL LOGIN/g) ?? []).toHaveLength(1);
      expect(readdirSync(local)).toEqual([]);
    } finally {
      ws.cleanup();
      await server.stop();
    }
  }, 60_000);
});
