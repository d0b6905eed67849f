// A server that repeats the password in its error replies (test/servers/hostile-ftps.ts,
// `echoPassword`): the text comes from the server, not from us, and must still be scrubbed
// wherever the agent stores, logs or prints it: the runs table (and every other byte of the state
// database), the log file, `sync --json`, `history`, `status`, the daemon's output and /healthz.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "../helpers/cli.js";
import { testTempDir } from "../helpers/temp-dir.js";
import { makeWorkspace, type Workspace } from "../helpers/workspace.js";
import { generateCert, type GeneratedCert } from "../servers/certs.js";
import { startHostileServer, type HostileOptions, type HostileServer } from "../servers/hostile-ftps.js";
import { freePort } from "../servers/real-servers.js";

/** A quote and a backslash: in JSON text the password appears escaped, and must be caught there too. */
const PASSWORD = 'Echo"Secret\\9fQ2-long';
const FORMS = [PASSWORD, JSON.stringify(PASSWORD).slice(1, -1)];

/** Every file under dir (recursively), with its bytes. */
function allFiles(dir: string): { path: string; bytes: Buffer }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile())
    .map((e) => ({ path: join(e.parentPath, e.name), bytes: readFileSync(join(e.parentPath, e.name)) }));
}

/** Where the password (raw, JSON-escaped or UTF-16) shows up: [] when nowhere. */
function leaks(texts: Record<string, string>, dirs: string[]): string[] {
  const hits: string[] = [];
  for (const [where, text] of Object.entries(texts)) if (FORMS.some((f) => text.includes(f))) hits.push(where);
  for (const f of dirs.flatMap(allFiles)) {
    if (FORMS.some((p) => f.bytes.includes(Buffer.from(p)) || f.bytes.includes(Buffer.from(p, "utf16le")))) hits.push(f.path);
  }
  return hits;
}

const daemons = new Set<ChildProcess>();

describe("a server that repeats the password in an error reply", () => {
  let cert: GeneratedCert;
  const open: { s: HostileServer; ws: Workspace }[] = [];
  beforeAll(async () => {
    cert = await generateCert(testTempDir("echo-certs"), { name: "echo" });
  });
  afterEach(async () => {
    // A daemon a failed test left running is stopped by its PID.
    for (const child of [...daemons]) {
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGKILL");
      await exited;
    }
  });
  afterAll(async () => {
    for (const { s, ws } of open) {
      ws.cleanup();
      await s.stop();
    }
  });

  const setup = async (echoPassword: HostileOptions["echoPassword"], agent: Record<string, unknown> = {}) => {
    const s = await startHostileServer({ cert: cert.certPem, key: cert.keyPem, listings: { "/job": "" }, password: PASSWORD, echoPassword });
    const ws = makeWorkspace(
      { host: "127.0.0.1", port: s.port, user: "alice", password: PASSWORD },
      { fingerprint: cert.fingerprint, timeoutSeconds: 5, maxConnections: 1 },
      { log: { level: "debug", file: "./logs/agent.log" }, ...agent },
    );
    open.push({ s, ws });
    const local = ws.folder("local");
    writeFileSync(join(local, "report.txt"), "to upload");
    ws.writeJob("job", {
      remote: "srv", remotePath: "/job", local, direction: "upload", watch: true,
      retries: { attempts: 1, initialDelay: "50ms", maxDelay: "50ms" },
    });
    return { s, ws };
  };

  /** sync --json, then history and status in both forms: what each printed. */
  const cliOutputs = async (ws: Workspace, expectedCode: number) => {
    const sync = await ws.cli(["sync", "job", "--json"]);
    expect(sync.code, sync.stdout + sync.stderr).toBe(expectedCode);
    const out: Record<string, string> = { "sync stdout": sync.stdout, "sync stderr": sync.stderr };
    for (const args of [["history"], ["history", "--json"], ["status"], ["status", "--json"]]) {
      const r = await ws.cli(args);
      // status exits 6: the job's last run failed.
      expect(r.code, r.stderr).toBe(args[0] === "status" ? 6 : 0);
      out[args.join(" ")] = r.stdout + r.stderr;
    }
    return { out, sync };
  };

  it("in a 550 to an upload: nowhere in the runs table, log, sync --json, history, status, the daemon's output or /healthz", async () => {
    const port = await freePort();
    const { s, ws } = await setup([{ verb: "STOR", code: 550 }], { http: { listen: `127.0.0.1:${port}` } });
    const { out, sync } = await cliOutputs(ws, 1);
    // The server really did say it, and the reply reached the run's record (redacted).
    expect(s.commands.some((c) => c.startsWith("STOR"))).toBe(true);
    const summary = JSON.parse(sync.stdout.trim().split("\n").at(-1)!);
    expect(summary.errors.join("\n")).toContain("STOR refused for alice/[redacted]");
    expect(out["history"]).toContain("[redacted]");

    // The daemon runs the watched job at start-up, fails the same way, and reports it.
    const child = spawn(process.execPath, [CLI, "--config", ws.configPath, "run"], {
      env: { ...process.env, FTPS_SYNC_CONFIG: "", ...ws.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    daemons.add(child);
    child.once("exit", () => daemons.delete(child));
    let daemonOut = "";
    child.stdout!.on("data", (d: Buffer) => (daemonOut += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (daemonOut += d.toString()));
    let health: { code: number; body: string } | undefined;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const runs = (await ws.cli(["history", "--json"])).stdout;
      if ((JSON.parse(runs) as { runs: { trigger: string; status: string }[] }).runs.some((r) => r.trigger === "startup" && r.status === "failed")) {
        const res = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
        if (res) {
          health = { code: res.status, body: await res.text() };
          break;
        }
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    expect(health, daemonOut).toBeDefined();
    expect(health!.code).toBe(503);
    expect(health!.body).toContain("[redacted]");
    const exited = new Promise((r) => child.once("exit", r));
    process.kill(child.pid!, "SIGTERM");
    await exited;

    expect(leaks({ ...out, "daemon output": daemonOut, "/healthz": health!.body }, [join(ws.dir, "state"), join(ws.dir, "logs")])).toEqual([]);
    expect(allFiles(join(ws.dir, "logs")).length, "a log file was written").toBeGreaterThan(0);
  });

  it("in the reply to PASS (not a 530): exit 4, and nowhere in the runs table, log, sync --json, history or status", async () => {
    const { s, ws } = await setup([{ verb: "PASS", code: 500 }]);
    const { out, sync } = await cliOutputs(ws, 4);
    expect(s.commands.filter((c) => c.startsWith("PASS"))).toHaveLength(1);
    expect(JSON.parse(sync.stdout.trim().split("\n").at(-1)!).error.message).toContain("PASS refused for alice/[redacted]");
    expect(leaks(out, [join(ws.dir, "state"), join(ws.dir, "logs")])).toEqual([]);
  });
});
