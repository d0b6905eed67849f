import { spawn } from "node:child_process";
import { chmodSync, chownSync, existsSync, readdirSync, statSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "../helpers/cli.js";
import { lastJsonLine, type SyncJson } from "../helpers/sync-json.js";
import { writeTree } from "../helpers/trees.js";
import { makeWorkspace, type Workspace } from "../helpers/workspace.js";
import { ensureTestUser, serversAvailable, startServer, type RunningServer } from "../servers/real-servers.js";

const available = serversAvailable();
if (!available.vsftpd && process.env.CI) throw new Error("real FTPS servers missing in CI: run scripts/fetch-servers.sh");

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isTemp = (name: string) => name.startsWith(".ftps-sync.");

/** Runs `sync JOB --json` as the given user (root reads every folder, whatever its mode). */
function syncAs(ws: Workspace, job: string, user?: { uid: number; gid: number }): Promise<{ code: number | null; summary: SyncJson; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, "--config", ws.configPath, "sync", job, "--json"], {
      env: { ...process.env, FTPS_SYNC_CONFIG: "", ...ws.env },
      stdio: ["ignore", "pipe", "pipe"],
      ...(user && { uid: user.uid, gid: user.gid }),
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 50_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      try {
        resolve({ code, summary: lastJsonLine(stdout, stderr), stderr });
      } catch (err) {
        reject(err);
      }
    });
  });
}

/** chown -R */
function chownTree(path: string, owner: { uid: number; gid: number }): void {
  chownSync(path, owner.uid, owner.gid);
  if (!statSync(path).isDirectory()) return;
  for (const name of readdirSync(path)) chownTree(join(path, name), owner);
}

describe.skipIf(!available.vsftpd)("the local side of a run, against vsftpd", () => {
  let server: RunningServer;
  let owner: { uid: number; gid: number };
  const workspaces: Workspace[] = [];
  let n = 0;

  /** A workspace with one job, a fresh remote folder and a fresh local folder. */
  const setup = (job: Record<string, unknown>, remote: Record<string, unknown> = {}) => {
    n++;
    const name = `local${n}`;
    writeTree(server.root, { [`${name}/.keep-dir`]: "" }, owner);
    unlinkSync(join(server.root, name, ".keep-dir"));
    const ws = makeWorkspace(server, { fingerprint: server.fingerprint, ...remote });
    workspaces.push(ws);
    const local = ws.folder("local");
    ws.writeJob(name, { remote: "srv", remotePath: `/${name}`, local, ...job });
    return { ws, name, local, remoteDir: join(server.root, name) };
  };

  beforeAll(async () => {
    owner = await ensureTestUser();
    server = await startServer("vsftpd", { tls: "explicit" });
  });
  afterAll(async () => {
    for (const ws of workspaces) ws.cleanup();
    await server?.stop();
  });

  it("a local folder that cannot be read is reported as that folder, not as an incomplete remote listing", async () => {
    const { ws, name, local, remoteDir } = setup({ direction: "upload", delete: "mirror", maxDelete: "100%" });
    writeTree(local, { "open/a.txt": "a", "closed/b.txt": "b" });
    chownTree(ws.dir, owner);
    const first = await syncAs(ws, name, owner);
    expect(first.code, first.stderr).toBe(0);
    expect(existsSync(join(remoteDir, "closed", "b.txt"))).toBe(true);

    chmodSync(join(local, "closed"), 0o000);
    try {
      const r = await syncAs(ws, name, owner);
      expect(r.code).toBe(1);
      const said = [...(r.summary.errors ?? []), ...(r.summary.warnings ?? [])].join("\n");
      expect(said).not.toMatch(/remote listing/i);
      expect(r.summary.warnings?.join("\n")).toMatch(/local folder .*closed.* could not be read/);
      expect(r.summary.errors?.join("\n")).toContain(`cannot read local folder ${join(local, "closed")}`);
      expect(r.summary.deletedRemote).toBe(0);
      expect(r.summary.skippedDeletes).toBeGreaterThan(0);
      expect(existsSync(join(remoteDir, "closed", "b.txt"))).toBe(true);
    } finally {
      chmodSync(join(local, "closed"), 0o755);
    }
  });

  it("a file that vanishes between the scan and its upload is skipped with a warning, and the run's deletions still happen", async () => {
    // One connection: the big file goes first and slowly, the small one is deleted meanwhile.
    const { ws, name, local, remoteDir } = setup(
      { direction: "upload", delete: "mirror", maxDelete: 10, bandwidthLimit: "400KB" },
      { maxConnections: 1 },
    );
    writeTree(remoteDir, { "stale.txt": "only on the server" }, owner);
    writeTree(local, { "a-big.bin": Buffer.alloc(1_200_000, 3), "b-small.txt": "soon gone" });
    const running = syncAs(ws, name);
    const deadline = Date.now() + 20_000;
    while (!(existsSync(remoteDir) && readdirSync(remoteDir).some(isTemp)) && Date.now() < deadline) await sleep(20);
    unlinkSync(join(local, "b-small.txt"));
    const r = await running;
    expect(r.code, r.stderr).toBe(0);
    expect(r.summary).toMatchObject({ status: "ok", uploaded: 1, failed: 0, deletedRemote: 1 });
    expect(r.summary.warnings?.join("\n")).toMatch(/b-small\.txt.*(vanished|no longer there)/);
    expect(existsSync(join(remoteDir, "stale.txt"))).toBe(false);
    expect(existsSync(join(remoteDir, "b-small.txt"))).toBe(false);
  });

  it("a job root that cannot be listed is named by the job's remote path, not as \"/\"", async () => {
    n++;
    const name = `local${n}`;
    const remoteDir = join(server.root, name, "inner");
    writeTree(server.root, { [`${name}/inner/x.txt`]: "x" }, owner);
    const ws = makeWorkspace(server, { fingerprint: server.fingerprint });
    workspaces.push(ws);
    ws.writeJob(name, { remote: "srv", remotePath: `/${name}/inner`, local: ws.folder("local"), direction: "download" });
    // The server can enter both folders but read neither: LIST of the job's root fails (vsftpd
    // then tries the parent, which it cannot read either), while CWD into it works.
    chmodSync(remoteDir, 0o300);
    chmodSync(join(server.root, name), 0o100);
    try {
      const r = await syncAs(ws, name);
      expect(r.code, r.stderr).toBe(1);
      const said = [...(r.summary.errors ?? []), ...(r.summary.warnings ?? [])].join("\n");
      expect(said).toContain(`cannot list remote folder /${name}/inner:`);
      expect(said).not.toMatch(/folder \/[: ]|failed: \/\)/);
    } finally {
      chmodSync(join(server.root, name), 0o755);
      chmodSync(remoteDir, 0o755);
    }
  });
});
