// A watched job in the daemon: one watch per folder, shown by `status`; when the watches run out
// (a test hook stands for a low fs.inotify.max_user_watches) it polls instead, and says so in the
// log, `status` and /readyz, naming the setting to raise.
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startDaemon, stopDaemons, waitFor } from "../helpers/daemon.js";
import { makeWorkspace, rememberOff, type Workspace } from "../helpers/workspace.js";
import { startPyftpd, type PyftpdServer } from "../servers/pyftpd.js";
import { freePort, requireServers } from "../servers/real-servers.js";

requireServers("pyftpdlib");

interface JobWatchJson {
  job: string;
  watch: { mode: "watching"; watches: number } | { mode: "polling"; pollMs: number; reason: string } | null;
}

describe("the watch of a job in the daemon", () => {
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

  /** A watched upload job on a local tree of 3 folders, and its daemon started with `env`. */
  async function start(name: string, env: Record<string, string>, agent: Record<string, unknown> = {}) {
    const ws = makeWorkspace(server, { fingerprint: server.fingerprint, maxConnections: 1 }, agent);
    workspaces.push(ws);
    rememberOff(ws, server, "commandsBehindTransfer");
    mkdirSync(join(server.root, name));
    const local = ws.folder("local");
    for (const d of ["d1", "d2"]) mkdirSync(join(local, d));
    writeFileSync(join(local, "d1", "first.txt"), "first");
    ws.writeJob(name, { remote: "srv", remotePath: `/${name}`, local, direction: "upload", watch: true, watchDebounce: "100ms" });
    const daemon = startDaemon(ws, { env });
    const watchOf = async () => {
      const r = await ws.cli(["status", "--json"]);
      return (JSON.parse(r.stdout) as { jobs: JobWatchJson[] }).jobs.find((j) => j.job === name)!.watch;
    };
    return { ws, local, log: daemon.log, watchOf };
  }

  it("holds one watch per folder, status says how many, and a new file's run looks at its folder only", async () => {
    const { local, watchOf, log } = await start("watched", {}, { log: { level: "debug", file: "./logs/agent.log" } });
    expect(await waitFor("the watch in status", watchOf)).toEqual({ mode: "watching", watches: 3 });
    writeFileSync(join(local, "d2", "new.txt"), "new");
    await waitFor(`new.txt on the server\n${log()}`, () => existsSync(join(server.root, "watched", "d2", "new.txt")));
    // The run's debug log says how it gathered: the one folder the event named.
    expect(log()).toMatch(/scoped to 1 folder\(s\)/);
  });

  it("polls at the watch limit, and says so in the log, status and /readyz, naming fs.inotify.max_user_watches", async () => {
    const port = await freePort();
    const { ws, local, watchOf, log } = await start(
      "limited",
      { FTPS_SYNC_TEST_MAX_WATCHES: "2", FTPS_SYNC_TEST_WATCH_POLL_MS: "1000" },
      { http: { listen: `127.0.0.1:${port}` } },
    );
    const watch = await waitFor("the watch in status", watchOf);
    expect(watch).toMatchObject({ mode: "polling", pollMs: 1000 });
    expect(watch?.mode === "polling" && watch.reason).toMatch(/fs\.inotify\.max_user_watches/);
    expect(log()).toMatch(/limit of inotify watches is reached.*every 1 s instead.*fs\.inotify\.max_user_watches/);

    const text = await ws.cli(["status"]);
    expect(text.stdout).toMatch(/watch: +POLLING every 1 s: .*fs\.inotify\.max_user_watches/);
    const ready = (await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()) as { watch?: Record<string, string> };
    expect(ready.watch?.limited).toMatch(/^polling: .*fs\.inotify\.max_user_watches/);

    // Changes are still synced, by polling.
    writeFileSync(join(local, "d2", "polled.txt"), "polled");
    await waitFor(`polled.txt on the server\n${log()}`, () => existsSync(join(server.root, "limited", "d2", "polled.txt")));
  });
});
