// The agent (`ftps-sync run`) when a watched job's local folder goes away and comes back.
import { existsSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { sleep, startDaemon, stopDaemons, waitFor } from "../helpers/daemon.js";
import { theOneObject } from "../helpers/json-shapes.js";
import { makeServerFolder } from "../helpers/trees.js";
import { makeWorkspace, type Workspace } from "../helpers/workspace.js";
import { ensureTestUser, freePort, requireServers, startServer, type RunningServer } from "../servers/real-servers.js";

requireServers("vsftpd");

interface JobState {
  job: string;
  queued: boolean;
  running: unknown;
  healthy: boolean;
  problem: string | null;
  lastRun: { status: string; error: string | null } | null;
}

async function jobStatus(ws: Workspace, job: string): Promise<JobState> {
  const r = await ws.cli(["status", "--json"]);
  // 6: a job is failing (this test makes one so); the object is the same.
  if (r.code !== 0 && r.code !== 6) throw new Error(`status failed: ${r.stderr}`);
  return (theOneObject(r.stdout, r.stderr) as unknown as { jobs: JobState[] }).jobs.find((j) => j.job === job)!;
}

describe("a watched local folder that goes away, against vsftpd", () => {
  let server: RunningServer;
  let owner: { uid: number; gid: number };
  const workspaces: Workspace[] = [];

  beforeAll(async () => {
    owner = await ensureTestUser();
    server = await startServer("vsftpd", { tls: "explicit" });
  });
  afterEach(stopDaemons);
  afterAll(async () => {
    for (const ws of workspaces) ws.cleanup();
    await server?.stop();
  });

  it("deleted and made again: status and /healthz name the missing folder, runs say so, and new files are uploaded once it is back", async () => {
    makeServerFolder(server.root, "gone", owner);
    const remoteDir = join(server.root, "gone");
    const port = await freePort();
    const ws = makeWorkspace(server, { fingerprint: server.fingerprint, maxConnections: 1 }, { http: { listen: `127.0.0.1:${port}` } });
    workspaces.push(ws);
    const local = ws.folder("local");
    ws.writeJob("gone", { remote: "srv", remotePath: "/gone", local, direction: "upload", watch: true, watchDebounce: "200ms" });
    const d = startDaemon(ws);
    const fail = (err: Error) => {
      throw new Error(`${err.message}\n${d.log()}`);
    };
    await waitFor("the start-up run", async () => {
      const s = await jobStatus(ws, "gone");
      return !s.queued && !s.running && s.lastRun?.status === "ok";
    }).catch(fail);

    rmSync(local, { recursive: true });
    const missing = await waitFor("status naming the missing folder", async () => {
      const s = await jobStatus(ws, "gone");
      return s.problem?.includes(`local folder ${local} is missing`) && s;
    }).catch(fail);
    expect(missing.healthy).toBe(false);
    const health = await fetch(`http://127.0.0.1:${port}/healthz`);
    expect(health.status).toBe(503);
    expect(((await health.json()) as { jobs: Record<string, string> }).jobs.gone).toContain(`local folder ${local} is missing`);
    // The run the deletion set off failed saying what happened, not with a raw ENOENT.
    const failed = await waitFor("the failed run", async () => {
      const s = await jobStatus(ws, "gone");
      return s.lastRun?.status === "failed" && !s.running && s.lastRun;
    }).catch(fail);
    expect(failed.error).toContain(`local folder ${local} is missing`);
    expect(failed.error).not.toMatch(/ENOENT|realpath/);

    // Back, with no SIGHUP: a file written into the new folder reaches the server.
    mkdirSync(local);
    await sleep(500);
    writeFileSync(join(local, "after.txt"), "written into the new folder");
    await waitFor("after.txt on the server", () => existsSync(join(remoteDir, "after.txt")), 20_000).catch(fail);
    await waitFor("a healthy job again", async () => (await jobStatus(ws, "gone")).healthy).catch(fail);
  }, 90_000);
});
