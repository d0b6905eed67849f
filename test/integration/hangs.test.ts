// Servers that stop answering, close connections mid-transfer, refuse the first connection or log
// in slowly: every command ends by itself, within bounded time, with a clear error and the
// documented exit code; the daemon records the failure and /healthz reports it.
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "../helpers/cli.js";
import { testTempDir } from "../helpers/temp-dir.js";
import { makeWorkspace, type Workspace } from "../helpers/workspace.js";
import { generateCert, type GeneratedCert } from "../servers/certs.js";
import { startHostileServer, type HostileOptions, type HostileServer } from "../servers/hostile-ftps.js";
import { freePort } from "../servers/real-servers.js";
import { startScriptedServer, type ScriptedOptions, type ScriptedServer } from "../servers/scripted-ftps.js";

const T = "modify=20240101120000";
/** Before the fixes these commands hung: a run still going after this long is killed and fails its test. */
const HANG_LIMIT_MS = 25_000;

interface Timed {
  code: number | null;
  stdout: string;
  stderr: string;
  /** ms from the start to the process's exit */
  ms: number;
  /** ms from the first line on stdout to the process's exit */
  afterOutputMs?: number;
}

/** Runs the CLI, killing it after `limitMs`, and notes when stdout first had a line and when it exited. */
function runTimed(ws: Workspace | undefined, args: string[], limitMs = HANG_LIMIT_MS): Promise<Timed> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...(ws ? ["--config", ws.configPath] : []), ...args], {
      env: { ...process.env, FTPS_SYNC_CONFIG: "", ...ws?.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let firstLineAt: number | undefined;
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
      if (firstLineAt === undefined && stdout.includes("\n")) firstLineAt = Date.now();
    });
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const hard = setTimeout(() => child.kill("SIGKILL"), limitMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(hard);
      const now = Date.now();
      resolve({ code, stdout, stderr, ms: now - started, afterOutputMs: firstLineAt === undefined ? undefined : now - firstLineAt });
    });
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("servers that stop answering", () => {
  let cert: GeneratedCert;
  const stops: (() => Promise<void> | void)[] = [];
  beforeAll(async () => {
    cert = await generateCert(testTempDir("hang-certs"), { name: "hang" });
  });
  afterEach(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  const scripted = async (opts: Omit<ScriptedOptions, "cert" | "key">, remote: Record<string, unknown> = {}) => {
    const s = await startScriptedServer({ cert: cert.certPem, key: cert.keyPem, ...opts });
    const ws = makeWorkspace(
      { host: "127.0.0.1", port: s.port, user: "alice", password: "hang-pw-7Qx" },
      { fingerprint: cert.fingerprint, timeoutSeconds: 1, tls: opts.mode, ...remote },
    );
    stops.push(() => s.stop(), () => ws.cleanup());
    ws.writeJob("job", {
      remote: "srv", remotePath: "/job", local: ws.folder("local"), direction: "upload",
      retries: { attempts: 2, initialDelay: "50ms", maxDelay: "100ms" },
    });
    return { s, ws };
  };

  const expectTimedOut = (r: Timed, step: RegExp) => {
    expect(r.code, `exit ${r.code} after ${r.ms} ms\n${r.stdout}${r.stderr}`).toBe(4);
    expect(r.stdout + r.stderr).toMatch(/timeout: no answer/i);
    expect(r.stdout + r.stderr).toMatch(step);
  };

  it("sync: a server that answers AUTH TLS with 234 and then says nothing ends in exit 4, naming the TLS handshake", async () => {
    const { ws } = await scripted({ mode: "explicit", silence: "after-auth-tls" });
    const r = await runTimed(ws, ["sync", "job", "--json"]);
    expectTimedOut(r, /TLS handshake/);
    // the JSON line scripts read is still there
    expect(JSON.parse(r.stdout.trim().split("\n").at(-1)!)).toMatchObject({ status: "failed" });
  });

  it("check: the same silent server ends in exit 4 with a clear error", async () => {
    const { ws } = await scripted({ mode: "explicit", silence: "after-auth-tls" });
    const r = await runTimed(ws, ["check"]);
    expectTimedOut(r, /TLS handshake/);
    expect(r.stdout).toMatch(/result:\s+FAILED/);
  });

  it("fingerprint: the same silent server ends in exit 4 within --timeout", async () => {
    const { s } = await scripted({ mode: "explicit", silence: "after-auth-tls" });
    const r = await runTimed(undefined, ["fingerprint", `127.0.0.1:${s.port}`, "--timeout", "1"]);
    expectTimedOut(r, /TLS handshake/);
    expect(r.stdout).toBe("");
  });

  it("implicit TLS: a server that never answers the handshake ends in exit 4 (sync and check)", async () => {
    const { ws } = await scripted({ mode: "implicit", silence: "handshake" });
    expectTimedOut(await runTimed(ws, ["check"]), /TLS handshake|greeting/);
    expectTimedOut(await runTimed(ws, ["sync", "job"]), /TLS handshake|greeting/);
  });

  it("a reply that starts and never ends (one byte every 250 ms) ends in exit 4: each reply has a deadline, not only an idle timeout", async () => {
    const { ws } = await scripted({ mode: "explicit", silence: "mid-reply", trickleMs: 250 });
    const r = await runTimed(ws, ["sync", "job"]);
    expectTimedOut(r, /login/);
  });

  it("after the login, a reply that starts and never ends (one byte every 250 ms) fails the run (exit 1): every reply has a deadline", async () => {
    const { s, ws } = await scripted({ mode: "explicit", trickleReplyTo: "EPSV", trickleMs: 250 }, { timeoutSeconds: 2 });
    const r = await runTimed(ws, ["sync", "job"]);
    // connected and logged in, then an operation failed: "finished with failures"
    expect(r.code, `exit ${r.code} after ${r.ms} ms\n${r.stdout}${r.stderr}`).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/timeout: no answer within 2 s on the control connection, waiting for the complete reply to EPSV/);
    // each attempt (retries: 2) logged in and then waited for EPSV's reply until its deadline
    expect(s.commands.filter((c) => c === "EPSV")).toHaveLength(2);
  });

  it("a download that keeps moving bytes for longer than timeoutSeconds is not cut by the reply deadline", async () => {
    const mlsd = "type=file;size=5;modify=20240101120000; hello.txt\r\n";
    // 5 bytes, one every 700 ms: RETR's final reply comes 3.5 s after the command, timeoutSeconds 1
    const { s, ws } = await scripted({ mode: "explicit", mlsd, dripRetrMs: 700 });
    const job = JSON.parse(readFileSync(join(ws.dir, "jobs", "job.json"), "utf8"));
    ws.writeJob("job", { ...job, direction: "download" });
    const r = await runTimed(ws, ["sync", "job"]);
    expect(r.code, `exit ${r.code} after ${r.ms} ms\n${r.stdout}${r.stderr}`).toBe(0);
    expect(readFileSync(join(job.local, "hello.txt"), "utf8")).toBe("hello");
    expect(s.commands.filter((c) => c.startsWith("RETR "))).toHaveLength(1);
  });

  it("the daemon records a timed-out run as failed and /healthz reports it", async () => {
    const { ws } = await scripted({ mode: "explicit", silence: "after-auth-tls" });
    const port = await freePort();
    const config = JSON.parse(readFileSync(ws.configPath, "utf8"));
    writeFileSync(ws.configPath, JSON.stringify({ ...config, http: { listen: `127.0.0.1:${port}` } }));
    const job = JSON.parse(readFileSync(join(ws.dir, "jobs", "job.json"), "utf8"));
    ws.writeJob("job", { ...job, watch: true }); // a watched job runs once at start-up
    const child = spawn(process.execPath, [CLI, "--config", ws.configPath, "run"], {
      env: { ...process.env, FTPS_SYNC_CONFIG: "", ...ws.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let log = "";
    child.stdout.on("data", (d: Buffer) => (log += d.toString()));
    child.stderr.on("data", (d: Buffer) => (log += d.toString()));
    const exited = new Promise((r) => child.once("exit", r));
    stops.push(async () => {
      child.kill("SIGKILL");
      await exited;
    });
    let health: { status: number; body: { status: string; jobs: Record<string, string> } } | undefined;
    const end = Date.now() + 20_000;
    while (Date.now() < end) {
      await sleep(250);
      const res = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
      if (!res) continue;
      health = { status: res.status, body: await res.json() };
      if (health.status === 503) break;
    }
    expect(health?.status, log).toBe(503);
    expect(health!.body.jobs.job).toMatch(/last run failed: .*TLS handshake/);
    const history = await ws.cli(["history", "job", "--json"]);
    const runs = (JSON.parse(history.stdout) as { runs: { status: string; error: string | null }[] }).runs;
    expect(runs[0].status).toBe("failed");
    expect(runs[0].error).toMatch(/timeout: no answer/i);
  });
});

describe("the first connection of a run, connections cut mid-upload, slow logins", () => {
  let cert: GeneratedCert;
  const stops: (() => Promise<void> | void)[] = [];
  beforeAll(async () => {
    cert = await generateCert(testTempDir("cut-certs"), { name: "cut" });
  });
  afterAll(async () => {
    for (const stop of stops.splice(0).reverse()) await stop();
  });

  const hostile = async (opts: Omit<HostileOptions, "cert" | "key" | "listings"> & Partial<Pick<HostileOptions, "listings">>, job: Record<string, unknown> = {}, remote: Record<string, unknown> = {}) => {
    const s: HostileServer = await startHostileServer({ cert: cert.certPem, key: cert.keyPem, listings: { "/job": "" }, ...opts });
    const ws = makeWorkspace(
      { host: "127.0.0.1", port: s.port, user: "alice", password: "cut-pw-3Lm" },
      { fingerprint: cert.fingerprint, timeoutSeconds: 3, maxConnections: 1, ...remote },
    );
    stops.push(() => s.stop(), () => ws.cleanup());
    const local = ws.folder("local");
    ws.writeJob("job", { remote: "srv", remotePath: "/job", local, direction: "upload", retries: { attempts: 3, initialDelay: "50ms", maxDelay: "200ms" }, ...job });
    return { s, ws, local };
  };

  it.each(["control", "data"] as const)("a server that closes the %s connection in the middle of STOR: retried, and the file ends whole", async (close) => {
    const { s, ws, local } = await hostile({ cutStor: { times: 1, close } });
    const content = Buffer.alloc(8 * 1024 * 1024, 7);
    writeFileSync(join(local, "big.bin"), content);
    const r = await runTimed(ws, ["sync", "job", "--json"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(s.commands.filter((c) => /^(STOR|APPE) /.test(c))).toHaveLength(2);
    expect(s.uploads.get("/job/big.bin")?.equals(content)).toBe(true);
  });

  it("the first connection is retried when the server answers 421, and the run succeeds", async () => {
    const { s, ws, local } = await hostile({ refuseFirstConnections: 2 });
    writeFileSync(join(local, "a.txt"), "hello");
    const r = await runTimed(ws, ["sync", "job", "--json"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(s.connections).toBe(3);
    expect(s.uploads.get("/job/a.txt")?.toString()).toBe("hello");
  });

  it("the first connection is not retried after a refused login (530) or a certificate that does not match the pin", async () => {
    const refused = await hostile({ password: "the-right-one" });
    const r1 = await runTimed(refused.ws, ["sync", "job"]);
    expect(r1.code, r1.stdout + r1.stderr).toBe(4);
    expect(refused.s.connections).toBe(1);

    const other = await generateCert(testTempDir("other-cert"), { name: "other" });
    const pinned = await hostile({}, {}, { fingerprint: other.fingerprint });
    const r2 = await runTimed(pinned.ws, ["sync", "job"]);
    expect(r2.code, r2.stdout + r2.stderr).toBe(4);
    expect(r2.stdout + r2.stderr).toMatch(/does not match the pinned fingerprint/);
    expect(pinned.s.connections).toBe(1);
  });

  it("after a run against a slow-login server the CLI exits promptly, without a late log line", async () => {
    // maxConnections 4 on an MLSD server: the run opens the other connections in the background,
    // each of which takes the server 6 s to log in; the run itself needs only the first. (A
    // download job: an upload job of one file opens no other connection, see connectionsWanted.)
    const listing = "type=file;size=5;modify=20240101120000; a.txt\r\n";
    const { ws, local } = await hostile({ loginDelayMs: 6000, listings: { "/job": listing }, files: { "/job/a.txt": "hello" } }, { direction: "download" }, { maxConnections: 4, timeoutSeconds: 10 });
    const r = await runTimed(ws, ["sync", "job", "--json", "-v"], 40_000);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(readFileSync(join(local, "a.txt"), "utf8")).toBe("hello");
    expect(r.afterOutputMs, `exited ${r.afterOutputMs} ms after the result\n${r.stderr}`).toBeLessThan(3000);
    expect(r.stderr).not.toMatch(/winston|no transports/i);
  });
});
