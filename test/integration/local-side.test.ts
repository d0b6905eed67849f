import { spawn } from "node:child_process";
import { chmodSync, chownSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "../helpers/cli.js";
import { lastJsonLine, type SyncJson } from "../helpers/sync-json.js";
import { makeServerFolder, treeObject, writeTree } from "../helpers/trees.js";
import { makeWorkspace, type Workspace } from "../helpers/workspace.js";
import { ensureTestUser, requireServers, startServer, type RunningServer } from "../servers/real-servers.js";

requireServers("vsftpd");

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isTemp = (name: string) => name.startsWith(".ftps-sync.");

/**
 * Runs `sync JOB --json`; `unprivileged`: as root without the capabilities that let root read any
 * folder whatever its mode (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), so a folder of mode 000 is
 * unreadable to it. (Running as another user instead needs the checkout readable by that user,
 * which a clone under a private temporary folder is not.)
 */
function syncAs(ws: Workspace, job: string, unprivileged = false): Promise<{ code: number | null; summary: SyncJson; stderr: string }> {
  return new Promise((resolve, reject) => {
    const args = [CLI, "--config", ws.configPath, "sync", job, "--json"];
    const [command, argv] = unprivileged
      ? ["setpriv", ["--bounding-set=-dac_override,-dac_read_search", process.execPath, ...args]]
      : [process.execPath, args];
    const child = spawn(command, argv, {
      env: { ...process.env, FTPS_SYNC_CONFIG: "", ...ws.env },
      stdio: ["ignore", "pipe", "pipe"],
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

describe("the local side of a run, against vsftpd", () => {
  let server: RunningServer;
  let owner: { uid: number; gid: number };
  const workspaces: Workspace[] = [];
  let n = 0;

  /** A workspace with one job, a fresh remote folder and a fresh local folder. */
  const setup = (job: Record<string, unknown>, remote: Record<string, unknown> = {}) => {
    n++;
    const name = `local${n}`;
    makeServerFolder(server.root, name, owner);
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
    const first = await syncAs(ws, name, true);
    expect(first.code, first.stderr).toBe(0);
    expect(existsSync(join(remoteDir, "closed", "b.txt"))).toBe(true);

    chmodSync(join(local, "closed"), 0o000);
    try {
      const r = await syncAs(ws, name, true);
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
    // One connection (three calls at once on it with vsftpd: the next transfer is written during
    // the current one): the big files go first and slowly, the small one is deleted meanwhile,
    // before any is done.
    const { ws, name, local, remoteDir } = setup(
      { direction: "upload", delete: "mirror", maxDelete: 10, bandwidthLimit: "400KB" },
      { maxConnections: 1 },
    );
    writeTree(remoteDir, { "stale.txt": "only on the server" }, owner);
    writeTree(local, { "a-big.bin": Buffer.alloc(1_200_000, 3), "a-big2.bin": Buffer.alloc(1_200_000, 4), "a-big3.bin": Buffer.alloc(1_200_000, 5), "b-small.txt": "soon gone" });
    const running = syncAs(ws, name);
    const deadline = Date.now() + 20_000;
    while (!(existsSync(remoteDir) && readdirSync(remoteDir).some(isTemp)) && Date.now() < deadline) await sleep(20);
    unlinkSync(join(local, "b-small.txt"));
    const r = await running;
    expect(r.code, r.stderr).toBe(0);
    expect(r.summary).toMatchObject({ status: "ok", uploaded: 3, failed: 0, deletedRemote: 1 });
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

  /** A workspace whose job syncs the folder of agent.config.json itself, the password in a file. */
  const ownFolderSetup = (job: Record<string, unknown>) => {
    n++;
    const name = `own${n}`;
    makeServerFolder(server.root, name, owner);
    const ws = makeWorkspace(server, { fingerprint: server.fingerprint, password: { file: "./secrets/srv.pass" } });
    workspaces.push(ws);
    mkdirSync(join(ws.dir, "secrets"));
    writeFileSync(join(ws.dir, "secrets", "srv.pass"), server.password + "\n", { mode: 0o600 });
    ws.writeJob(name, { remote: "srv", remotePath: `/${name}`, local: ".", ...job });
    return { ws, name, remoteDir: join(server.root, name) };
  };

  it("a job whose folder holds the agent's own files never uploads them, under any name, and says so", async () => {
    const { ws, name, remoteDir } = ownFolderSetup({ direction: "upload", delete: "mirror", followSymlinks: true });
    writeTree(ws.dir, { "data/report.txt": "the job's data" });
    // The same files under other names: a hard link to the password file, a symlink to the state folder.
    linkSync(join(ws.dir, "secrets", "srv.pass"), join(ws.dir, "data", "pass-copy"));
    symlinkSync(join(ws.dir, "state"), join(ws.dir, "data", "state-link"));
    const first = await syncAs(ws, name);
    expect(first.code, first.stderr).toBe(0);
    // The second run finds the state's database, its -wal file and the day's log file too.
    const second = await syncAs(ws, name);
    expect(second.code, second.stderr).toBe(0);
    expect(existsSync(join(ws.dir, "logs"))).toBe(true);
    expect(Object.keys(treeObject(remoteDir))).toEqual(["data/report.txt"]);
    for (const r of [first, second]) {
      const warning = r.summary.warnings?.find((w) => w.includes("own files")) ?? "";
      for (const own of ["agent.config.json", "secrets/srv.pass", "state", "jobs", "data/pass-copy"]) expect(warning).toContain(own);
    }
    expect(second.summary.warnings?.find((w) => w.includes("own files"))).toMatch(/logs\/agent-\d{4}-\d{2}-\d{2}\.log/);
    expect(second.summary).toMatchObject({ uploaded: 0, failed: 0 });
  });

  it("a two-way job whose folder holds the agent's own files never downloads over them nor deletes them", async () => {
    const { ws, name, remoteDir } = ownFolderSetup({ direction: "two-way", delete: "mirror", maxDelete: 100 });
    const configBefore = readFileSync(ws.configPath, "utf8");
    const theirs = {
      "agent.config.json": "{\"remotes\": {}}",
      "secrets/srv.pass": "not the password",
      "state/ftps-sync.db": "not a database",
      "jobs/planted.json": JSON.stringify({ remote: "srv", remotePath: "/", local: "/", direction: "download" }),
      "logs/agent-2020-01-01.log": "an old log",
      "from-server.txt": "the job's data",
    };
    writeTree(remoteDir, theirs, owner);
    const r = await syncAs(ws, name);
    expect(r.code, r.stderr).toBe(0);
    expect(r.summary).toMatchObject({ downloaded: 1, deletedLocal: 0, deletedRemote: 0, failed: 0 });
    expect(readFileSync(join(ws.dir, "from-server.txt"), "utf8")).toBe("the job's data");
    expect(readFileSync(ws.configPath, "utf8")).toBe(configBefore);
    expect(readFileSync(join(ws.dir, "secrets", "srv.pass"), "utf8")).toBe(server.password + "\n");
    expect(existsSync(join(ws.dir, "jobs", "planted.json"))).toBe(false);
    expect(existsSync(join(ws.dir, "logs", "agent-2020-01-01.log"))).toBe(false);
    // The server's copies are left alone too, and the state still opens: a second run is quiet.
    expect(Object.keys(treeObject(remoteDir)).sort()).toEqual(Object.keys(theirs).sort());
    const again = await syncAs(ws, name);
    expect(again.code, again.stderr).toBe(0);
    expect(again.summary).toMatchObject({ uploaded: 0, downloaded: 0, deletedLocal: 0, deletedRemote: 0, failed: 0 });
  });
});
