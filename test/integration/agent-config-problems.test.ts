// The agent (`ftps-sync run`) when part of its configuration is wrong: a job file with a typo, a
// job folder missing at boot (an unmounted share), a reload that fails. The other jobs run; the
// problem is said in the log, `status`, /readyz and /metrics.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { sleep, startDaemon, stopDaemons, waitFor } from "../helpers/daemon.js";
import { theOneObject } from "../helpers/json-shapes.js";
import { makeServerFolder } from "../helpers/trees.js";
import { makeWorkspace, type Workspace } from "../helpers/workspace.js";
import { ensureTestUser, freePort, requireServers, startServer, type RunningServer } from "../servers/real-servers.js";

requireServers("vsftpd");

interface JobState {
  job: string;
  direction: string | null;
  queued: boolean;
  running: unknown;
  healthy: boolean;
  problemKind: string | null;
  problem: string | null;
  lastRun: { status: string; error: string | null } | null;
}

async function statusOf(ws: Workspace): Promise<{ code: number | null; jobs: JobState[] }> {
  const r = await ws.cli(["status", "--json"]);
  // 6: a job is failing (these tests make one so); the object is the same.
  if (r.code !== 0 && r.code !== 6) throw new Error(`status failed (${r.code}): ${r.stderr}${r.stdout}`);
  return { code: r.code, jobs: (theOneObject(r.stdout, r.stderr) as unknown as { jobs: JobState[] }).jobs };
}

async function jobStatus(ws: Workspace, job: string): Promise<JobState | undefined> {
  return (await statusOf(ws)).jobs.find((j) => j.job === job);
}

/** The job is idle and its last run ended ok. */
async function settled(ws: Workspace, job: string): Promise<boolean> {
  const s = await jobStatus(ws, job);
  return !!s && !s.queued && !s.running && s.lastRun?.status === "ok";
}

async function readyz(port: number): Promise<{ code: number; body: { status: string; jobs: Record<string, string>; config?: string } }> {
  const r = await fetch(`http://127.0.0.1:${port}/readyz`);
  return { code: r.status, body: (await r.json()) as never };
}

const metrics = async (port: number) => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();

describe("an agent with a bad job or a failed reload, against vsftpd", () => {
  let server: RunningServer;
  let owner: { uid: number; gid: number };
  const workspaces: Workspace[] = [];
  let n = 0;

  /** A fresh, empty folder on the server, owned by the FTP user. */
  const remoteFolder = (): { remotePath: string; dir: string } => {
    n++;
    const name = `cfg${n}`;
    makeServerFolder(server.root, name, owner);
    return { remotePath: `/${name}`, dir: join(server.root, name) };
  };

  const workspace = async () => {
    const port = await freePort();
    const ws = makeWorkspace(server, { fingerprint: server.fingerprint, maxConnections: 1 }, { http: { listen: `127.0.0.1:${port}` } });
    workspaces.push(ws);
    return { ws, port };
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

  it("a job file with a typo beside a good one: the good one runs, and the log, status, /readyz and /metrics name the bad one", async () => {
    const { ws, port } = await workspace();
    const good = remoteFolder();
    const local = ws.folder("good");
    writeFileSync(join(local, "first.txt"), "sent by the good job");
    ws.writeJob("good", { remote: "srv", remotePath: good.remotePath, local, direction: "upload", watch: true, watchDebounce: "200ms" });
    ws.writeJob("typo", { remote: "srv", remotePath: "/nowhere", local: ws.folder("typo"), direction: "uplaod", watch: true });
    const badFile = join(ws.dir, "jobs", "typo.json");
    const d = startDaemon(ws);
    const fail = (err: Error) => {
      throw new Error(`${err.message}\n${d.log()}`);
    };

    await waitFor("first.txt on the server", () => existsSync(join(good.dir, "first.txt")), 20_000).catch(fail);
    await waitFor("the good job's start-up run", () => settled(ws, "good")).catch(fail);
    expect(d.log()).toMatch(new RegExp(`${badFile.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}: field "direction"`));

    const s = await statusOf(ws);
    expect(s.code).toBe(6);
    const typo = s.jobs.find((j) => j.job === "typo")!;
    expect(typo).toMatchObject({ healthy: false, problemKind: "failing", direction: null, lastRun: null });
    expect(typo.problem).toContain(badFile);
    expect(typo.problem).toContain('field "direction"');
    expect(s.jobs.find((j) => j.job === "good")).toMatchObject({ healthy: true });
    const text = await ws.cli(["status"]);
    expect(text.code).toBe(6);
    expect(text.stdout).toContain("typo (job file invalid)");
    expect(text.stdout).toMatch(/problem: +invalid job file: .*typo\.json: field "direction"/);

    const ready = await readyz(port);
    expect(ready.code).toBe(503);
    expect(ready.body.jobs.good).toBe("ok");
    expect(ready.body.jobs.typo).toContain('field "direction"');
    const m = await metrics(port);
    expect(m).toMatch(/ftps_sync_job_config_error\{job="typo"\} 1/);
    expect(m).toMatch(/ftps_sync_job_config_error\{job="good"\} 0/);

    // The good job goes on running: a new file is sent.
    writeFileSync(join(local, "second.txt"), "sent later");
    await waitFor("second.txt on the server", () => existsSync(join(good.dir, "second.txt")), 20_000).catch(fail);

    // By hand, the bad job still stops at once with the error (exit 2), as before.
    const byHand = await ws.cli(["sync", "typo"]);
    expect(byHand.code).toBe(2);
    expect(byHand.stderr).toContain('field "direction"');

    process.kill(d.pid, "SIGTERM");
    expect((await d.exited).code).toBe(0);
  }, 90_000);

  it("an invalid agent.config.json still stops `run` at start with exit 2, naming the file and the field", async () => {
    const { ws } = await workspace();
    ws.writeJob("good", { remote: "srv", remotePath: "/x", local: ws.folder("good"), direction: "upload", watch: true });
    const config = JSON.parse(readFileSync(ws.configPath, "utf8")) as Record<string, unknown>;
    writeFileSync(ws.configPath, JSON.stringify({ ...config, maxConcurentJobs: 2 }));
    const r = await runCli(["--config", ws.configPath, "run"], { env: ws.env, timeoutMs: 20_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${ws.configPath}: field "maxConcurentJobs"`);
  }, 30_000);

  it("a job folder missing at boot: the other job runs, the missing one is reported, and it runs once the folder appears, without a restart", async () => {
    const { ws, port } = await workspace();
    const good = remoteFolder();
    const share = remoteFolder();
    const goodLocal = ws.folder("good");
    writeFileSync(join(goodLocal, "a.txt"), "from the good job");
    const shareLocal = join(ws.dir, "share"); // not there yet: a share not mounted
    ws.writeJob("good", { remote: "srv", remotePath: good.remotePath, local: goodLocal, direction: "upload", watch: true, watchDebounce: "200ms" });
    ws.writeJob("share", { remote: "srv", remotePath: share.remotePath, local: shareLocal, direction: "upload", watch: true, watchDebounce: "200ms" });
    const d = startDaemon(ws);
    const fail = (err: Error) => {
      throw new Error(`${err.message}\n${d.log()}`);
    };

    await waitFor("a.txt on the server", () => existsSync(join(good.dir, "a.txt")), 20_000).catch(fail);
    expect(d.log()).toContain(`${join(ws.dir, "jobs", "share.json")}: field "local"`);
    const missing = await waitFor("status naming the missing folder", async () => {
      const j = await jobStatus(ws, "share");
      return j?.problem?.includes(`local folder ${shareLocal} is missing`) && j;
    }).catch(fail);
    expect(missing).toMatchObject({ healthy: false, problemKind: "failing" });
    const ready = await readyz(port);
    expect(ready.code).toBe(503);
    expect(ready.body.jobs.share).toContain(`local folder ${shareLocal} is missing`);
    expect(await metrics(port)).toMatch(/ftps_sync_job_local_folder_missing\{job="share"\} 1/);

    // The share is mounted: its files are sent, and the job is healthy again.
    mkdirSync(shareLocal);
    await sleep(300);
    writeFileSync(join(shareLocal, "mounted.txt"), "on the share");
    await waitFor("mounted.txt on the server", () => existsSync(join(share.dir, "mounted.txt")), 20_000).catch(fail);
    await waitFor("a healthy share job", async () => (await jobStatus(ws, "share"))?.healthy).catch(fail);
    expect((await readyz(port)).code).toBe(200);
    expect(await metrics(port)).toMatch(/ftps_sync_job_local_folder_missing\{job="share"\} 0/);

    process.kill(d.pid, "SIGTERM");
    expect((await d.exited).code).toBe(0);
  }, 90_000);

  it("a reload that fails keeps the running configuration, says why in the log, /readyz and /metrics, and a good reload clears it", async () => {
    const { ws, port } = await workspace();
    const good = remoteFolder();
    const local = ws.folder("good");
    ws.writeJob("good", { remote: "srv", remotePath: good.remotePath, local, direction: "upload", watch: true, watchDebounce: "200ms" });
    const d = startDaemon(ws);
    const fail = (err: Error) => {
      throw new Error(`${err.message}\n${d.log()}`);
    };
    await waitFor("the start-up run", () => settled(ws, "good")).catch(fail);
    expect(await metrics(port)).toMatch(/ftps_sync_config_last_reload_successful 1/);

    // agent.config.json broken (a trailing comma), then SIGHUP.
    const text = readFileSync(ws.configPath, "utf8");
    writeFileSync(ws.configPath, text.replace(/\}\s*$/, ",}"));
    process.kill(d.pid, "SIGHUP");
    await waitFor("the reload failure in the log", () => /reload failed/.test(d.log())).catch(fail);
    expect(d.log()).toMatch(/reload failed, keeping the current configuration: .*agent\.config\.json: invalid JSON/);
    const ready = await readyz(port);
    expect(ready.code).toBe(503);
    expect(ready.body.config).toMatch(/reload failed at .*agent\.config\.json: invalid JSON/);
    expect(await metrics(port)).toMatch(/ftps_sync_config_last_reload_successful 0/);

    // The job runs on, as configured before.
    writeFileSync(join(local, "during.txt"), "sent while the config is broken");
    await waitFor("during.txt on the server", () => existsSync(join(good.dir, "during.txt")), 20_000).catch(fail);

    // Fixed: the next reload takes, and the report is cleared.
    writeFileSync(ws.configPath, text);
    process.kill(d.pid, "SIGHUP");
    await waitFor("the good reload", () => /configuration reloaded/.test(d.log())).catch(fail);
    await waitFor("/readyz ok again", async () => (await readyz(port)).code === 200).catch(fail);
    expect((await readyz(port)).body.config).toBeUndefined();
    expect(await metrics(port)).toMatch(/ftps_sync_config_last_reload_successful 1/);

    process.kill(d.pid, "SIGTERM");
    expect((await d.exited).code).toBe(0);
  }, 90_000);

  it("a job file broken by a reload: the job runs on as it was, the others take their changes, and /readyz names the file", async () => {
    const { ws, port } = await workspace();
    const first = remoteFolder();
    const second = remoteFolder();
    const local = ws.folder("kept");
    const job = { remote: "srv", remotePath: first.remotePath, local, direction: "upload", watch: true, watchDebounce: "200ms" };
    ws.writeJob("kept", job);
    const d = startDaemon(ws);
    const fail = (err: Error) => {
      throw new Error(`${err.message}\n${d.log()}`);
    };
    await waitFor("the start-up run", () => settled(ws, "kept")).catch(fail);

    // A change with a typo (an unknown key): the reload keeps the job as it was.
    ws.writeJob("kept", { ...job, remotePath: second.remotePath, watchDebonce: "1s" });
    const added = ws.folder("added");
    writeFileSync(join(added, "new-job.txt"), "from a job added by the reload");
    ws.writeJob("added", { remote: "srv", remotePath: second.remotePath, local: added, direction: "upload", watch: true, watchDebounce: "200ms" });
    process.kill(d.pid, "SIGHUP");
    await waitFor("the reload", () => /configuration reloaded/.test(d.log())).catch(fail);
    const keptFile = join(ws.dir, "jobs", "kept.json");
    expect(d.log()).toContain(`${keptFile}: field "watchDebonce"`);

    writeFileSync(join(local, "after-reload.txt"), "sent where the job sent before");
    await waitFor("after-reload.txt in the job's old remote folder", () => existsSync(join(first.dir, "after-reload.txt")), 20_000).catch(fail);
    await waitFor("the added job's file", () => existsSync(join(second.dir, "new-job.txt")), 20_000).catch(fail);
    expect(existsSync(join(second.dir, "after-reload.txt"))).toBe(false);

    const ready = await readyz(port);
    expect(ready.code).toBe(503);
    expect(ready.body.jobs.kept).toContain(`${keptFile}: field "watchDebonce"`);
    expect(ready.body.jobs.kept).toContain("previous");
    expect(await metrics(port)).toMatch(/ftps_sync_job_config_error\{job="kept"\} 1/);

    process.kill(d.pid, "SIGTERM");
    expect((await d.exited).code).toBe(0);
  }, 90_000);
});
