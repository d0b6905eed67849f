import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { sleep, startDaemon, stopDaemons, waitFor } from "../helpers/daemon.js";
import { theOneObject } from "../helpers/json-shapes.js";
import { makeServerFolder, treeObject, writeTree } from "../helpers/trees.js";
import { makeWorkspace, type Workspace } from "../helpers/workspace.js";
import { ensureTestUser, freePort, requireServers, startServer, type RunningServer } from "../servers/real-servers.js";

requireServers("vsftpd");

interface RunRow {
  id: number;
  job: string;
  trigger: string;
  status: string;
  startedAt: string;
  endedAt: string | null;
  uploaded: number;
  pid?: number;
}

async function history(ws: Workspace, job?: string): Promise<RunRow[]> {
  const r = await ws.cli(["history", ...(job ? [job] : []), "--limit", "1000", "--json"]);
  if (r.code !== 0) throw new Error(`history failed: ${r.stderr}`);
  return (theOneObject(r.stdout, r.stderr) as unknown as { runs: RunRow[] }).runs;
}

async function status(ws: Workspace): Promise<{
  agents: { pid: number }[];
  healthy: boolean;
  jobs: { job: string; queued: boolean; running: { pid: number } | null; lastRun: RunRow | null; nextRunAt: string | null; healthy: boolean }[];
}> {
  const r = await ws.cli(["status", "--json"]);
  // 6 and 7: a job is failing or stale; the object is the same.
  if (r.code !== 0 && r.code !== 6 && r.code !== 7) throw new Error(`status failed: ${r.stderr}`);
  return theOneObject(r.stdout, r.stderr) as never;
}

/** The job is idle: nothing queued, nothing running, and its last run ended ok. */
async function settled(ws: Workspace, job: string): Promise<boolean> {
  const s = (await status(ws)).jobs.find((j) => j.job === job)!;
  return !s.queued && !s.running && s.lastRun?.status === "ok";
}

const isTemp = (rel: string) => rel.split("/").some((s) => s.startsWith(".ftps-sync."));

describe("agent daemon against vsftpd", () => {
  let server: RunningServer;
  let owner: { uid: number; gid: number };
  const workspaces: Workspace[] = [];
  let n = 0;

  /** A workspace with one job, a fresh remote folder and a fresh local folder. */
  const setup = (job: Record<string, unknown>, agent: Record<string, unknown> = {}) => {
    n++;
    const name = `agent${n}`;
    makeServerFolder(server.root, name, owner);
    const ws = makeWorkspace(server, { fingerprint: server.fingerprint, maxConnections: 2 }, agent);
    workspaces.push(ws);
    const local = ws.folder("local");
    const jobConfig = { remote: "srv", remotePath: `/${name}`, local, direction: "upload", ...job };
    ws.writeJob(name, jobConfig);
    return { ws, name, local, remoteDir: join(server.root, name), jobConfig };
  };

  beforeAll(async () => {
    owner = await ensureTestUser();
    server = await startServer("vsftpd", { tls: "explicit" });
  });
  afterEach(stopDaemons);
  afterAll(async () => {
    for (const ws of workspaces) ws.cleanup();
    await server?.stop();
  });

  it("watch: uploads a new file within 3 s, folds a burst of 200 writes into a few runs, and reports it", async () => {
    const port = await freePort();
    const { ws, name, local, remoteDir } = setup({ watch: true, maxAge: "1h" }, { http: { listen: `127.0.0.1:${port}` } });
    const logins = () => (readFileSync(join(server.dir, "vsftpd.log"), "utf8").match(/OK LOGIN/g) ?? []).length;
    const loginsBefore = logins();
    const d = startDaemon(ws);
    await waitFor("the start-up run", () => settled(ws, name), 20_000, 250).catch((err: Error) => {
      throw new Error(`${err.message}\n${d.log()}`);
    });

    writeFileSync(join(local, "hello.txt"), "hello from the watcher");
    const written = Date.now();
    await waitFor("hello.txt on the server", () => existsSync(join(remoteDir, "hello.txt")), 10_000, 50);
    const took = Date.now() - written;
    expect(took).toBeLessThan(3000);
    await waitFor("idle", () => settled(ws, name), 10_000, 200);

    const before = (await history(ws, name)).length;
    for (let i = 0; i < 200; i++) {
      writeFileSync(join(local, `burst-${String(i).padStart(3, "0")}.txt`), `file ${i}\n`);
      if (i % 20 === 0) await sleep(20);
    }
    await waitFor("the burst on the server", () => readdirSync(remoteDir).filter((f) => f.startsWith("burst-")).length === 200, 30_000, 200);
    await waitFor("idle", () => settled(ws, name), 15_000, 200);
    const burstRuns = (await history(ws, name)).length - before;
    expect(burstRuns).toBeGreaterThanOrEqual(1);
    expect(burstRuns).toBeLessThanOrEqual(5);
    expect(treeObject(remoteDir)).toEqual(treeObject(local));
    // The runs reuse the connections the first one opened (kept warm between runs): at most the
    // job's maxConnections logins for all of them, where each run used to log in afresh.
    expect(logins() - loginsBefore).toBeLessThanOrEqual(2);

    const s = await status(ws);
    expect(s.agents.map((a) => a.pid)).toContain(d.pid);
    expect(s.healthy).toBe(true);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: "ok", jobs: { [name]: "ok" } });
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toMatch(new RegExp(`ftps_sync_runs_total\\{job="${name}",result="ok"\\} \\d+`));
    expect(metrics).toMatch(new RegExp(`ftps_sync_files_total\\{job="${name}",kind="uploaded"\\} 201`));
    expect(metrics).toMatch(new RegExp(`ftps_sync_last_success_timestamp_seconds\\{job="${name}"\\} \\d+`));
    expect(metrics).toMatch(/ftps_sync_queue_depth 0/);
    expect(metrics).toMatch(/ftps_sync_run_duration_seconds_count/);
    const text = await ws.cli(["history", name]);
    expect(text.stdout).toMatch(/ok .*\[startup\]/);

    process.kill(d.pid, "SIGTERM");
    expect(await d.exited).toEqual({ code: 0, signal: null });
    expect((await status(ws)).agents).toEqual([]);
  }, 90_000);

  it("schedule: a per-second cron job fires on time; status shows its next time", async () => {
    const { ws, name, local, remoteDir } = setup({ schedule: "* * * * * *" });
    const d = startDaemon(ws);
    writeFileSync(join(local, "cron.txt"), "by cron");
    await waitFor("cron.txt on the server", () => existsSync(join(remoteDir, "cron.txt")), 10_000, 100);
    const runs = await history(ws, name);
    expect(runs.length).toBeGreaterThanOrEqual(1);
    expect(runs.every((r) => r.trigger.split(",").includes("schedule"))).toBe(true);
    const job = (await status(ws)).jobs[0];
    expect(Date.parse(job.nextRunAt!)).toBeGreaterThan(Date.now() - 1000);
    expect(Date.parse(job.nextRunAt!)).toBeLessThan(Date.now() + 3000);
    process.kill(d.pid, "SIGTERM");
    expect((await d.exited).code).toBe(0);
  }, 60_000);

  it("locks: `sync` refuses a running job; two agents never run one job at once", async () => {
    const { ws, name, local } = setup({ schedule: "* * * * * *", bandwidthLimit: "200KB" });
    // Hold the job's lock as a live process would (this test process), as `sync` or an agent does.
    const first = await ws.cli(["sync", name]); // creates the state store; nothing to upload
    expect(first.code).toBe(0);
    const db = new Database(join(ws.dir, "state", "ftps-sync.db"));
    db.prepare("INSERT INTO job_locks (job, pid, acquired_at) VALUES (?, ?, ?)").run(name, process.pid, Date.now());
    const refused = await ws.cli(["sync", name]);
    expect(refused.code).toBe(5); // already running: not 1, which is a run with failures
    expect(refused.stderr).toContain(`job ${name} is already running (pid ${process.pid})`);

    const a = startDaemon(ws);
    const b = startDaemon(ws);
    writeFileSync(join(local, "f0.bin"), Buffer.alloc(150_000, 1));
    await sleep(2500);
    expect((await history(ws, name)).filter((r) => r.trigger !== "cli")).toEqual([]); // lock held: nobody ran it
    db.prepare("DELETE FROM job_locks WHERE job = ?").run(name);

    // Keep giving both agents work for a while: every run takes about a second.
    for (let i = 1; i <= 6; i++) {
      writeFileSync(join(local, `f${i}.bin`), Buffer.alloc(150_000, i));
      await sleep(900);
    }
    await waitFor("idle", () => settled(ws, name), 20_000, 250);
    process.kill(a.pid, "SIGTERM");
    process.kill(b.pid, "SIGTERM");
    expect((await a.exited).code).toBe(0);
    expect((await b.exited).code).toBe(0);

    const runs = db.prepare("SELECT id, pid, started_at AS s, ended_at AS e, status FROM runs WHERE trigger != 'cli' ORDER BY started_at").all() as {
      pid: number; s: number; e: number; status: string;
    }[];
    db.close();
    expect(runs.length).toBeGreaterThanOrEqual(2);
    for (let i = 1; i < runs.length; i++) expect(runs[i].s).toBeGreaterThanOrEqual(runs[i - 1].e);
    expect(new Set(runs.map((r) => r.pid)).size).toBeGreaterThanOrEqual(1);
  }, 90_000);

  it("kill -9 in the middle of a run, then a restart: everything arrives once, no temporary files left", async () => {
    const { ws, name, local, remoteDir } = setup({ watch: true, bandwidthLimit: "600KB" });
    const files: Record<string, Buffer> = {};
    for (let i = 0; i < 30; i++) files[`data/part-${String(i).padStart(2, "0")}.bin`] = Buffer.alloc(100_000, i);
    writeTree(local, files);
    const d1 = startDaemon(ws);
    const remoteData = join(remoteDir, "data");
    await waitFor("some files on the server", () => existsSync(remoteData) && readdirSync(remoteData).filter((f) => !isTemp(f)).length >= 5, 30_000, 50);
    process.kill(d1.pid, "SIGKILL");
    await d1.exited;
    const landed = readdirSync(remoteData).filter((f) => !isTemp(f)).length;
    expect(landed).toBeLessThan(30);

    const d2 = startDaemon(ws);
    await waitFor("the resumed run", () => settled(ws, name), 40_000, 250);
    expect(treeObject(remoteDir)).toEqual(treeObject(local)); // byte-identical, no .ftps-sync.* left
    const runs = await history(ws, name);
    expect(runs.map((r) => r.status)).toContain("interrupted");
    expect(runs[0].trigger).toMatch(/recovered/);
    // Nothing uploaded twice: the two runs together uploaded each file once.
    expect(runs.reduce((sum, r) => sum + r.uploaded, 0)).toBeLessThanOrEqual(30 + 1);
    process.kill(d2.pid, "SIGTERM");
    expect((await d2.exited).code).toBe(0);
  }, 120_000);

  it("SIGTERM mid-transfer: exits 0 within the grace period, no half file under the real name", async () => {
    const { ws, name, local, remoteDir, jobConfig } = setup({ watch: true, bandwidthLimit: "300KB" }, { shutdownGraceSeconds: 1 });
    writeTree(local, { "big.bin": Buffer.alloc(3_000_000, 7) });
    const d = startDaemon(ws);
    const temp = await waitFor(
      "the upload in progress",
      () => existsSync(remoteDir) && readdirSync(remoteDir).find((f) => isTemp(f) && statSync(join(remoteDir, f)).size > 100_000),
      20_000,
      50,
    );
    expect(temp).toBeTruthy();
    const t0 = Date.now();
    process.kill(d.pid, "SIGTERM");
    expect(await d.exited).toEqual({ code: 0, signal: null });
    expect(Date.now() - t0).toBeLessThan(1000 + 3000);
    expect(existsSync(join(remoteDir, "big.bin"))).toBe(false);
    const s = (await status(ws)).jobs[0];
    expect(s.lastRun?.status).toBe("interrupted");
    expect(s.queued).toBe(true); // queued again for the next start
    expect(d.log()).toMatch(/interrupted by shutdown/);

    // The next run (here by hand, at full speed) finishes the work and cleans up.
    ws.writeJob(name, { ...jobConfig, bandwidthLimit: undefined });
    const r = await ws.cli(["sync", name]);
    expect(r.code).toBe(0);
    expect(treeObject(remoteDir)).toEqual(treeObject(local));
  }, 60_000);
});
