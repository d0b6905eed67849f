// Notifications and expected arrivals end to end, on vsftpd (and the late/recovered pair through
// `sync` on ProFTPD and Pure-FTPd too): through `sync` (a webhook that hangs
// or is down leaves the sync and its output as they were; each event is retried), and through
// the daemon (`run`: "late" once its first run finds nothing past the deadline, "recovered" when a poll brings
// the file; /readyz, /metrics and `status` say so).
//
// The deadline is "00:00" UTC every day: whatever the time of the test, today's deadline has
// passed and nothing arrived since midnight (the arithmetic itself is tested with an injected
// clock in test/unit/expected-arrivals.test.ts).
import { readFileSync, unlinkSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startDaemon, stopDaemons, waitFor } from "../helpers/daemon.js";
import { testTempDir } from "../helpers/temp-dir.js";
import { writeTree } from "../helpers/trees.js";
import { makeWorkspace, type Workspace } from "../helpers/workspace.js";
import { ensureTestUser, freePort, requireServers, startServer, type RunningServer } from "../servers/real-servers.js";

requireServers("vsftpd", "proftpd", "pureftpd");

interface Hook {
  port: number;
  /** Every request's body, in the order they came (retries included). */
  bodies: Array<{ event: string; [k: string]: unknown }>;
  close(): void;
}

/** A webhook receiver on loopback. `hangFirst`: the first request of each event gets no answer at all. */
async function webhook(opts: { hangFirst: boolean }): Promise<Hook> {
  const bodies: Hook["bodies"] = [];
  const seen = new Set<string>();
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(chunks).toString()) as Hook["bodies"][number];
      bodies.push(body);
      if (opts.hangFirst && !seen.has(body.event)) return void seen.add(body.event);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  hooks.push(server);
  return {
    port: (server.address() as AddressInfo).port,
    bodies,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}
const hooks: Server[] = [];

const events = (h: Hook) => h.bodies.map((b) => b.event);

/** A notify command: appends the event it was given (stdin) and two of its variables, one JSON line each. */
function recorder(file: string): string[] {
  return [
    process.execPath,
    "-e",
    `let s = ""; process.stdin.on("data", (c) => (s += c)); process.stdin.on("end", () => {
      require("fs").appendFileSync(${JSON.stringify(file)}, JSON.stringify({ stdin: JSON.parse(s), event: process.env.FTPS_SYNC_EVENT, job: process.env.FTPS_SYNC_JOB }) + "\\n");
    });`,
  ];
}


async function runCount(ws: Workspace, job: string): Promise<number> {
  const r = await ws.cli(["history", job, "--limit", "1000", "--json"]);
  return (JSON.parse(r.stdout) as { runs: unknown[] }).runs.length;
}

describe("notifications and expected arrivals against vsftpd", () => {
  let server: RunningServer;
  let owner: { uid: number; gid: number };
  const workspaces: Workspace[] = [];
  let n = 0;

  /** A download job on a fresh server folder holding `files`. */
  const setup = (job: Record<string, unknown>, files: Record<string, string>, agent: Record<string, unknown> = {}) => {
    const name = `notify${++n}`;
    writeTree(server.root, { [`${name}/.keep`]: "", ...Object.fromEntries(Object.entries(files).map(([k, v]) => [`${name}/${k}`, v])) }, owner);
    unlinkSync(join(server.root, name, ".keep"));
    const ws = makeWorkspace(server, { fingerprint: server.fingerprint }, agent);
    workspaces.push(ws);
    const local = ws.folder("local");
    ws.writeJob(name, { remote: "srv", remotePath: `/${name}`, local, direction: "download", retries: { attempts: 1 }, ...job });
    return { ws, name, local, drop: (rel: string, text: string) => writeTree(server.root, { [`${name}/${rel}`]: text }, owner) };
  };

  const EXPECT = { by: "00:00", timezone: "UTC", match: "orders-*.csv", days: "daily" };

  beforeAll(async () => {
    owner = await ensureTestUser();
    server = await startServer("vsftpd", { tls: "explicit" });
  });
  afterEach(async () => {
    await stopDaemons();
    for (const h of hooks.splice(0)) {
      h.closeAllConnections();
      h.close();
    }
  });
  afterAll(async () => {
    for (const ws of workspaces) ws.cleanup();
    await server?.stop();
  });

  it("sync: a hanging webhook is retried and the sync is unaffected; late, then recovered when the file comes; status exits 10 meanwhile", async () => {
    const hook = await webhook({ hangFirst: true });
    const lines = join(testTempDir("notify-cmd"), "events.jsonl");
    const { ws, name, local, drop } = setup(
      {
        expect: EXPECT,
        notify: { webhook: `http://127.0.0.1:${hook.port}/hook`, command: recorder(lines), on: ["failure", "success", "late", "recovered"], timeout: "3s", attempts: 2 },
      },
      { "readme.txt": "not the expected file" },
    );

    const first = await ws.cli(["sync", name, "--json"]);
    expect(first.code, first.stderr).toBe(0);
    const summary = JSON.parse(first.stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({ ok: true, status: "ok", downloaded: 1 });
    expect(readFileSync(join(local, "readme.txt"), "utf8")).toBe("not the expected file");
    // Each event's first POST got no answer: retried, and delivered the second time, before `sync` exited.
    expect(events(hook).sort(), first.stderr).toEqual(["late", "late", "success", "success"]);
    const success = hook.bodies.find((b) => b.event === "success")!;
    expect(success).toMatchObject({ job: name, status: "ok", counts: { downloaded: 1 }, runId: expect.any(Number), host: expect.any(String) });
    expect(hook.bodies.find((b) => b.event === "late")).toMatchObject({ job: name, expected: { by: "00:00", timezone: "UTC", match: "orders-*.csv" } });
    expect(first.stderr).toMatch(/notification "success" to webhook http:\/\/127\.0\.0\.1:\d+ failed \(attempt 1 of 2\)/);
    expect(first.stderr).toMatch(/late: no file matching "orders-\*\.csv" has arrived by 00:00 \(UTC\)/);
    const commandSaw = () => readFileSync(lines, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { event: string; job: string });
    expect(commandSaw().map((e) => e.event).sort()).toEqual(["late", "success"]);
    expect(commandSaw().every((e) => e.job === name)).toBe(true);

    const late = await ws.cli(["status", "--json"]);
    expect(late.code).toBe(10);
    const s = JSON.parse(late.stdout) as { error: { code: string }; jobs: Array<{ problemKind: string; expect: { late: boolean } }> };
    expect(s.error.code).toBe("job-late");
    expect(s.jobs[0]).toMatchObject({ problemKind: "late", expect: { late: true } });

    // A second sync with nothing new: the job is still late, but "late" is not sent again.
    hook.bodies.length = 0;
    expect((await ws.cli(["sync", name])).code).toBe(0);
    expect(events(hook)).toEqual(["success"]);

    drop("in/orders-1.csv", "id;qty\n1;2\n");
    hook.bodies.length = 0;
    const second = await ws.cli(["sync", name]);
    expect(second.code, second.stderr).toBe(0);
    expect(events(hook).sort()).toEqual(["recovered", "recovered", "success"]);
    expect(hook.bodies.find((b) => b.event === "recovered")).toMatchObject({ job: name, arrived: { path: "in/orders-1.csv" } });
    expect(commandSaw().map((e) => e.event)).toContain("recovered");
    expect((await ws.cli(["status"])).code).toBe(0);
  }, 90_000);

  it("sync: a webhook that is down costs the sync nothing: same exit code and output, the failure logged", async () => {
    const port = await freePort();
    const { ws, name, local } = setup({ notify: { webhook: `http://127.0.0.1:${port}/`, on: ["success"], timeout: "500ms", attempts: 2 } }, { "a.txt": "A" });
    const r = await ws.cli(["sync", name, "--json"]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ ok: true, status: "ok", downloaded: 1 });
    expect(readFileSync(join(local, "a.txt"), "utf8")).toBe("A");
    expect(r.stderr).toMatch(/notification "success" not delivered to webhook http:\/\/127\.0\.0\.1:\d+ after 2 attempt\(s\)/);
    expect((await ws.cli(["history", name, "--json"])).stdout).toMatch(/"status":\s*"ok"/);
  }, 60_000);

  it("run: late once its first run finds no file past the deadline (its hanging POST retried while the polls go on), recovered when a poll brings the file; /readyz, /metrics and status follow", async () => {
    // Each event's first POST hangs: the agent retries it while its poll runs go on.
    const hook = await webhook({ hangFirst: true });
    const httpPort = await freePort();
    const { ws, name, drop } = setup(
      { poll: "1s", expect: EXPECT, notify: { webhook: `http://127.0.0.1:${hook.port}/`, on: ["late", "recovered"], timeout: "3s", attempts: 3 } },
      {},
      { http: { listen: `127.0.0.1:${httpPort}` } },
    );
    const agent = startDaemon(ws);

    await agent.waitFor("the late event", () => events(hook).includes("late"));
    const readyLate = await fetch(`http://127.0.0.1:${httpPort}/readyz`);
    expect(readyLate.status).toBe(503);
    expect(((await readyLate.json()) as { jobs: Record<string, string> }).jobs[name]).toMatch(/^late: no file matching "orders-\*\.csv"/);
    const metricsLate = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
    expect(metricsLate).toMatch(new RegExp(`ftps_sync_job_late\\{job="${name}"\\} 1`));
    const runsWhenLate = await runCount(ws, name);
    await waitFor("the late notification retried and delivered", async () =>
      /ftps_sync_notifications_total\{[^}]*event="late"[^}]*outcome="delivered"[^}]*\} 1/.test(await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text()),
    );
    expect(await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text()).toMatch(/ftps_sync_notifications_total\{[^}]*event="late"[^}]*outcome="retried"[^}]*\} 1/);
    // The polls went on while the first POST hung (3 s) and the retry waited (1 s).
    expect(await runCount(ws, name)).toBeGreaterThan(runsWhenLate);
    expect((await ws.cli(["status"])).code).toBe(10);

    drop("orders-2.csv", "1;1\n");
    await agent.waitFor("the recovered event", () => events(hook).includes("recovered"));
    expect(hook.bodies.find((b) => b.event === "recovered")).toMatchObject({ job: name, arrived: { path: "orders-2.csv" } });
    expect((await fetch(`http://127.0.0.1:${httpPort}/readyz`)).status).toBe(200);
    expect(await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text()).toMatch(new RegExp(`ftps_sync_job_late\\{job="${name}"\\} 0`));
    expect((await ws.cli(["status"])).code).toBe(0);
    // One late event, sent twice (the first POST hung); no other late for the same deadline.
    expect(events(hook).filter((e) => e === "late")).toHaveLength(2);
    expect(new Set(hook.bodies.filter((b) => b.event === "late").map((b) => JSON.stringify(b))).size).toBe(1);

    agent.kill("SIGTERM");
    expect((await agent.exited).code).toBe(0);
  }, 90_000);
});

describe.each(["proftpd", "pureftpd"] as const)("expected arrivals through sync against %s", (kind) => {
  let server: RunningServer;
  let owner: { uid: number; gid: number };
  let ws: Workspace | undefined;
  beforeAll(async () => {
    owner = await ensureTestUser();
    server = await startServer(kind, { tls: "explicit" });
  });
  afterAll(async () => {
    ws?.cleanup();
    await server?.stop();
  });

  it("sends late when the run finds no matching file past its time, and recovered with the run that brings it", async () => {
    writeTree(server.root, { "pickup/readme.txt": "not it" }, owner);
    ws = makeWorkspace(server, { fingerprint: server.fingerprint });
    const lines = join(testTempDir("notify-cmd"), "events.jsonl");
    ws.writeJob("pickup", {
      remote: "srv", remotePath: "/pickup", local: ws.folder("local"), direction: "download", retries: { attempts: 1 },
      expect: { by: "00:00", timezone: "UTC", match: "*.csv", days: "daily" }, notify: { command: recorder(lines), on: ["late", "recovered"] },
    });
    const seen = () => readFileSync(lines, "utf8").trim().split("\n").map((l) => JSON.parse(l) as { event: string; stdin: Record<string, unknown> });
    const first = await ws.cli(["sync", "pickup"]);
    expect(first.code, first.stderr).toBe(0);
    expect(seen().map((e) => e.event)).toEqual(["late"]);
    expect((await ws.cli(["status"])).code).toBe(10);

    writeTree(server.root, { "pickup/day/orders.csv": "1;1\n" }, owner);
    const second = await ws.cli(["sync", "pickup"]);
    expect(second.code, second.stderr).toBe(0);
    expect(seen().map((e) => e.event)).toEqual(["late", "recovered"]);
    expect(seen()[1].stdin).toMatchObject({ job: "pickup", arrived: { path: "day/orders.csv" } });
    expect((await ws.cli(["status"])).code).toBe(0);
  }, 60_000);
});
