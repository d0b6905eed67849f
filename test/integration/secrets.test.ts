// Secrets audit: with debug logging the password appears nowhere: not in the log file, the
// state database (its bytes, WAL included), stdout/stderr, or the running agent's command line.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "../helpers/cli.js";
import { makeWorkspace, type Workspace } from "../helpers/workspace.js";
import { put } from "../faults/harness.js";
import { ensureTestUser, requireServers, startServer, type RunningServer } from "../servers/real-servers.js";

requireServers("vsftpd");

/** Every byte of every file under dir (recursively). */
function allBytes(dir: string): { path: string; bytes: Buffer }[] {
  const out: { path: string; bytes: Buffer }[] = [];
  if (!existsSync(dir)) return out;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) {
      const p = join(e.parentPath ?? (e as unknown as { path: string }).path, e.name);
      out.push({ path: p, bytes: readFileSync(p) });
    }
  }
  return out;
}

interface Observed {
  code: number | null;
  stdout: string;
  stderr: string;
  cmdlines: string[];
}

/** Runs the CLI and reads /proc/<pid>/cmdline while it runs. */
function runObserved(ws: Workspace, args: string[], env: Record<string, string>): Promise<Observed> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, "--config", ws.configPath, ...args], {
      env: { ...process.env, FTPS_SYNC_CONFIG: "", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    const cmdlines: string[] = [];
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const sample = setInterval(() => {
      try {
        cmdlines.push(readFileSync(`/proc/${child.pid}/cmdline`, "utf8"));
      } catch {
        /* exited */
      }
    }, 20);
    const hard = setTimeout(() => child.kill("SIGKILL"), 90_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearInterval(sample);
      clearTimeout(hard);
      resolve({ code, stdout, stderr, cmdlines });
    });
  });
}

describe("secrets audit (debug logging)", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer("vsftpd", { tls: "explicit" });
  });
  afterAll(async () => {
    await server?.stop();
  });

  const audit = (ws: Workspace, secret: string, o: Observed) => {
    const hits: string[] = [];
    if (o.stdout.includes(secret)) hits.push("stdout");
    if (o.stderr.includes(secret)) hits.push("stderr");
    for (const c of o.cmdlines) if (c.includes(secret)) hits.push("/proc/<pid>/cmdline");
    for (const f of [...allBytes(join(ws.dir, "logs")), ...allBytes(join(ws.dir, "state"))]) {
      if (f.bytes.includes(Buffer.from(secret))) hits.push(f.path);
      // also UTF-16 (SQLite may store text that way)
      if (f.bytes.includes(Buffer.from(secret, "utf16le"))) hits.push(f.path + " (utf16)");
    }
    expect(hits).toEqual([]);
    expect(o.cmdlines.length, "the agent's command line was sampled while it ran").toBeGreaterThan(0);
    expect(allBytes(join(ws.dir, "logs")).length, "a log file was written").toBeGreaterThan(0);
    expect(allBytes(join(ws.dir, "state")).length, "a state database was written").toBeGreaterThan(0);
  };

  const setup = async (passwordFile: boolean) => {
    const owner = await ensureTestUser();
    const name = passwordFile ? "viafile" : "viaenv";
    const ws = makeWorkspace(server, { fingerprint: server.fingerprint }, { log: { level: "debug", file: "./logs/agent.log" } });
    const env = { ...ws.env };
    if (passwordFile) {
      const file = join(ws.dir, "ftp.pass");
      writeFileSync(file, server.password + "\n", { mode: 0o600 });
      const cfg = JSON.parse(readFileSync(ws.configPath, "utf8"));
      cfg.remotes.srv.password = { file };
      writeFileSync(ws.configPath, JSON.stringify(cfg, null, 2));
      for (const k of Object.keys(env)) env[k] = "";
    }
    put(server.root, `${name}/remote.txt`, "from the server", owner);
    const local = ws.folder("local");
    put(local, "local.txt", "from here");
    ws.writeJob(name, { remote: "srv", remotePath: `/${name}`, local, direction: "two-way" });
    return { ws, env, name };
  };

  it.each([
    ["an environment variable", false],
    ["a file", true],
  ] as const)("password from %s: nowhere in logs, state, output or the command line", async (_how, passwordFile) => {
    const { ws, env, name } = await setup(passwordFile);
    try {
      const sync = await runObserved(ws, ["-v", "sync", name, "--json"], env);
      expect(sync.code, sync.stdout + sync.stderr).toBe(0);
      expect(sync.stderr).toMatch(/PASS ###|\[redacted\]/); // debug logging was really on
      const check = await runObserved(ws, ["-v", "check"], env);
      expect(check.code, check.stdout + check.stderr).toBe(0);
      audit(ws, server.password, sync);
      audit(ws, server.password, check);
    } finally {
      ws.cleanup();
    }
  });

  it("a wrong password appears nowhere either (error paths)", async () => {
    const wrong = "Wrong-Secret-7Hq2";
    const ws = makeWorkspace({ ...server, password: wrong }, { fingerprint: server.fingerprint }, { log: { level: "debug", file: "./logs/agent.log" } });
    try {
      ws.writeJob("j", { remote: "srv", remotePath: "/", local: ws.folder("local"), direction: "download" });
      const r = await runObserved(ws, ["-v", "sync", "j", "--json"], ws.env);
      expect(r.code).toBe(4);
      audit(ws, wrong, r);
    } finally {
      ws.cleanup();
    }
  });
});
