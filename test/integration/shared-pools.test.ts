// Jobs on one remote share its connections in the daemon: the server sees logins per connection
// (within the remote's maxConnections, across all its jobs), not one per run.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { sleep, startDaemon, stopDaemons } from "../helpers/daemon.js";
import { makeWorkspace, rememberOff, type Workspace } from "../helpers/workspace.js";
import { startPyftpd, type PyftpdServer } from "../servers/pyftpd.js";
import { requireServers } from "../servers/real-servers.js";

requireServers("pyftpdlib");

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

describe("connections shared by the jobs on one remote, in the daemon", () => {
  let server: PyftpdServer;
  const workspaces: Workspace[] = [];
  beforeAll(async () => {
    server = await startPyftpd();
  });
  afterEach(stopDaemons);
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
    const agent = startDaemon(ws);
    const runsOk = () => (agent.log().match(/run ok/g) ?? []).length;

    // Both jobs run at start-up, at once; then one after the other, each a few times.
    await agent.waitFor("both start-up runs", () => runsOk() >= 2);
    for (const [i, job] of ["a", "b", "a", "b"].entries()) {
      await sleep(300); // the watcher is set up
      writeFileSync(join(locals[job], `f${i}.txt`), `file ${i}`);
      await agent.waitFor(`f${i}.txt on the server`, () => existsSync(join(server.root, job, `f${i}.txt`)));
    }
    await agent.waitFor("the last run's end", () => runsOk() >= 6);

    const seen = sessions(await server.log());
    expect(seen.logins, agent.log()).toBeGreaterThanOrEqual(1);
    expect(seen.logins, agent.log()).toBeLessThanOrEqual(2);
    expect(seen.peak).toBeLessThanOrEqual(2);
  });
});
