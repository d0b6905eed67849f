// Jobs on one remote share its connections in the daemon: the server sees logins per connection
// (within the remote's maxConnections, across all its jobs), not one per run.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "../helpers/cli.js";
import { makeWorkspace, rememberOff, type Workspace } from "../helpers/workspace.js";
import { startPyftpd, type PyftpdServer } from "../servers/pyftpd.js";
import { requireServers } from "../servers/real-servers.js";

requireServers("pyftpdlib");

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(what: string, fn: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(100);
  }
}

/** Logins the server saw, and the most sessions it had open at once, from its own log. */
function sessions(log: string): { logins: number; peak: number } {
  let open = 0;
  let peak = 0;
  for (const line of log.split("\n")) {
    if (line.includes("FTP session opened")) peak = Math.max(peak, ++open);
    if (line.includes("FTP session closed")) open--;
  }
  return { logins: (log.match(/ logged in\./g) ?? []).length, peak };
}

const daemons = new Set<ChildProcess>();

describe("connections shared by the jobs on one remote, in the daemon", () => {
  let server: PyftpdServer;
  const workspaces: Workspace[] = [];
  beforeAll(async () => {
    server = await startPyftpd();
  });
  afterEach(async () => {
    for (const child of [...daemons]) {
      child.kill("SIGKILL");
      await new Promise((r) => child.once("exit", r));
      daemons.delete(child);
    }
  });
  afterAll(async () => {
    for (const ws of workspaces) ws.cleanup();
    await server?.stop();
  });

  it("serves the runs of two jobs on one server with one pool: the logins stay within maxConnections, whichever job runs", async () => {
    const ws = makeWorkspace(server, { fingerprint: server.fingerprint, maxConnections: 2, idleTimeout: "5m" }, { maxConcurrentJobs: 2 });
    workspaces.push(ws);
    // pyftpdlib answers a command sent behind a transfer early: a connection that learns it is
    // replaced (one login more), so the state knows it already.
    rememberOff(ws, server, "commandsBehindTransfer");
    const locals: Record<string, string> = {};
    for (const job of ["a", "b"]) {
      mkdirSync(join(server.root, job));
      locals[job] = ws.folder(job);
      ws.writeJob(job, { remote: "srv", remotePath: `/${job}`, local: locals[job], direction: "upload", watch: true, watchDebounce: "100ms" });
    }
    const child = spawn(process.execPath, [CLI, "--config", ws.configPath, "run"], {
      env: { ...process.env, FTPS_SYNC_CONFIG: "", ...ws.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    daemons.add(child);
    let out = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));

    // Both jobs run at start-up, at once; then one after the other, each a few times.
    await waitFor("both start-up runs", () => (out.match(/run ok/g) ?? []).length >= 2);
    for (const [i, job] of ["a", "b", "a", "b"].entries()) {
      await sleep(300); // the watcher is set up
      writeFileSync(join(locals[job], `f${i}.txt`), `file ${i}`);
      await waitFor(`f${i}.txt on the server`, () => existsSync(join(server.root, job, `f${i}.txt`)));
    }
    await waitFor("the last run's end", () => (out.match(/run ok/g) ?? []).length >= 6);

    const seen = sessions(await server.log());
    expect(seen.logins, out).toBeGreaterThanOrEqual(1);
    expect(seen.logins, out).toBeLessThanOrEqual(2);
    expect(seen.peak).toBeLessThanOrEqual(2);
  });
});
