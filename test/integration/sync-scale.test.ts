import { createHash } from "node:crypto";
import { createReadStream, openSync, writeSync, closeSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureTestUser, requireServers, startServer, type RunningServer } from "../servers/real-servers.js";
import { makeWorkspace, type Workspace } from "../helpers/workspace.js";
import { spawn } from "node:child_process";
import { CLI } from "../helpers/cli.js";
import { lastJsonLine, type SyncJson } from "../helpers/sync-json.js";

requireServers("pureftpd");

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;

async function sha256File(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * MiB })) h.update(chunk as Buffer);
  return h.digest("hex");
}

/** A file of pseudo-random bytes (not compressible, not sparse), written in 4 MiB blocks. */
function writeBigFile(path: string, size: number): void {
  const fd = openSync(path, "w");
  const block = Buffer.alloc(4 * MiB);
  let seed = 12345;
  for (let i = 0; i < block.length; i += 4) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    block.writeUInt32LE(seed, i);
  }
  for (let written = 0; written < size; written += block.length) {
    block.writeUInt32LE(written / block.length, 0); // every block differs
    writeSync(fd, block, 0, Math.min(block.length, size - written));
  }
  closeSync(fd);
}

async function syncJson(ws: Workspace, job: string): Promise<SyncJson> {
  const r = await ws.cli(["sync", job, "--json"]);
  expect(r.code, r.stderr).toBe(0);
  return lastJsonLine(r.stdout, r.stderr);
}

describe("sync at scale against Pure-FTPd", () => {
  let server: RunningServer;
  let ws: Workspace;
  let owner: { uid: number; gid: number };
  beforeAll(async () => {
    owner = await ensureTestUser();
    server = await startServer("pureftpd", { tls: "explicit" });
    ws = makeWorkspace(server, { fingerprint: server.fingerprint, maxConnections: 4 });
  });
  afterAll(async () => {
    ws?.cleanup();
    await server?.stop();
  });

  it("uploads and downloads a 1 GiB file byte-identical, with memory that does not grow with the file", async () => {
    const up = ws.folder("big-up");
    writeBigFile(join(up, "big.bin"), GiB);
    ws.writeJob("bigup", { remote: "srv", remotePath: "/big", local: up, direction: "upload" });
    const u = await syncJson(ws, "bigup");
    expect(u.uploaded).toBe(1);
    const expected = await sha256File(join(up, "big.bin"));
    expect(statSync(join(server.root, "big", "big.bin")).size).toBe(GiB);
    expect(await sha256File(join(server.root, "big", "big.bin"))).toBe(expected);

    const down = ws.folder("big-down");
    ws.writeJob("bigdown", { remote: "srv", remotePath: "/big", local: down, direction: "download" });
    const d = await syncJson(ws, "bigdown");
    expect(d.downloaded).toBe(1);
    expect(await sha256File(join(down, "big.bin"))).toBe(expected);
    // Streaming: the process holds buffers, not the file. 1 GiB through a process that
    // buffered it would show an RSS above 1 GiB; the agent stays near its idle size.
    expect(u.peakRssBytes).toBeLessThan(200 * MiB);
    expect(d.peakRssBytes).toBeLessThan(200 * MiB);
  }, 300_000);

  it("uploads 10 000 small files in 100 folders, then finds nothing to do", async () => {
    const local = ws.folder("many");
    for (let d = 0; d < 100; d++) {
      mkdirSync(join(local, `dir${d}`));
      for (let f = 0; f < 100; f++) writeFileSync(join(local, `dir${d}`, `file${f}.txt`), `folder ${d} file ${f}\n`);
    }
    ws.writeJob("many", { remote: "srv", remotePath: "/many", local, direction: "upload" });
    const first = await syncJson(ws, "many");
    expect(first.uploaded).toBe(10_000);
    let count = 0;
    for (const d of readdirSync(join(server.root, "many"))) {
      for (const f of readdirSync(join(server.root, "many", d))) {
        count++;
        expect(f.startsWith(".ftps-sync.")).toBe(false);
      }
    }
    expect(count).toBe(10_000);
    expect(readFileSync(join(server.root, "many", "dir42", "file7.txt"), "utf8")).toBe("folder 42 file 7\n");
    const second = await syncJson(ws, "many");
    expect(second).toMatchObject({ uploaded: 0, downloaded: 0, bytes: 0 });
  }, 300_000);

  it("resumes an interrupted download with REST instead of starting over", async () => {
    const src = join(server.root, "resume");
    mkdirSync(src);
    writeBigFile(join(src, "part.bin"), 64 * MiB);
    const { chownSync } = await import("node:fs");
    chownSync(src, owner.uid, owner.gid);
    chownSync(join(src, "part.bin"), owner.uid, owner.gid);
    const local = ws.folder("resume-local");
    // 8 MiB/s: the first run is killed after about 2 s, some 16 MiB in.
    ws.writeJob("resume", { remote: "srv", remotePath: "/resume", local, direction: "download", bandwidthLimit: 8 * MiB });
    const child = spawn(process.execPath, [CLI, "--config", ws.configPath, "sync", "resume"], { env: { ...process.env, ...ws.env }, stdio: "ignore" });
    await new Promise((r) => setTimeout(r, 2500));
    child.kill("SIGKILL");
    await new Promise((r) => child.once("close", r));
    const partial = readdirSync(local).filter((n) => n.startsWith(".ftps-sync."));
    expect(partial.length).toBe(1);
    expect(readdirSync(local)).not.toContain("part.bin"); // never a half file under its real name
    const have = statSync(join(local, partial[0])).size;
    expect(have).toBeGreaterThan(0);

    ws.writeJob("resume", { remote: "srv", remotePath: "/resume", local, direction: "download" });
    const r = await ws.cli(["sync", "resume", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/resuming download of \/resume\/part\.bin at byte \d+/);
    const summary = lastJsonLine(r.stdout, r.stderr);
    expect(summary.bytes).toBe(64 * MiB);
    expect(await sha256File(join(local, "part.bin"))).toBe(await sha256File(join(src, "part.bin")));
    expect(readdirSync(local).filter((n) => n.startsWith(".ftps-sync."))).toEqual([]);
  }, 120_000);

  it("resumes an interrupted upload of its temporary file with APPE", async () => {
    const local = ws.folder("resume-up");
    writeBigFile(join(local, "up.bin"), 64 * MiB);
    ws.writeJob("resumeup", { remote: "srv", remotePath: "/resumeup", local, direction: "upload", bandwidthLimit: 8 * MiB });
    const child = spawn(process.execPath, [CLI, "--config", ws.configPath, "sync", "resumeup"], { env: { ...process.env, ...ws.env }, stdio: "ignore" });
    await new Promise((r) => setTimeout(r, 2500));
    child.kill("SIGKILL");
    await new Promise((r) => child.once("close", r));
    const remoteDir = join(server.root, "resumeup");
    expect(readdirSync(remoteDir)).not.toContain("up.bin"); // a partner never sees a half file
    expect(readdirSync(remoteDir).filter((n) => n.startsWith(".ftps-sync.")).length).toBe(1);

    ws.writeJob("resumeup", { remote: "srv", remotePath: "/resumeup", local, direction: "upload" });
    const r = await ws.cli(["sync", "resumeup", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/resuming upload of \/resumeup\/up\.bin at byte [1-9]\d*/);
    expect(await sha256File(join(remoteDir, "up.bin"))).toBe(await sha256File(join(local, "up.bin")));
    expect(readdirSync(remoteDir)).toEqual(["up.bin"]);
  }, 120_000);

  it("does not record a file that changed while it was being sent, and sends it again next run", async () => {
    const local = ws.folder("moving");
    writeBigFile(join(local, "growing.log"), 24 * MiB);
    // 24 MiB at 4 MiB/s: about 6 s of transfer; the file grows 3 s after the start.
    ws.writeJob("moving", { remote: "srv", remotePath: "/moving", local, direction: "upload", bandwidthLimit: 4 * MiB });
    const run = ws.cli(["sync", "moving", "--json"]);
    await new Promise((r) => setTimeout(r, 3000));
    const { appendFileSync } = await import("node:fs");
    appendFileSync(join(local, "growing.log"), "one more line\n");
    const r = await run;
    expect(r.code, r.stderr).toBe(0);
    const first = lastJsonLine(r.stdout, r.stderr);
    expect(first).toMatchObject({ uploaded: 0, deferred: 1 });
    expect(readdirSync(join(server.root, "moving"))).toEqual([]); // neither the file nor its temporary copy
    const second = await syncJson(ws, "moving");
    expect(second.uploaded).toBe(1);
    expect(await sha256File(join(server.root, "moving", "growing.log"))).toBe(await sha256File(join(local, "growing.log")));
  }, 120_000);
});
