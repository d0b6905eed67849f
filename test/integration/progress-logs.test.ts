import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "../helpers/cli.js";
import { sleep, startDaemon, stopDaemons } from "../helpers/daemon.js";
import { lastJsonLine } from "../helpers/sync-json.js";
import { writeTree } from "../helpers/trees.js";
import { makeWorkspace, type Workspace } from "../helpers/workspace.js";
import { ensureTestUser, requireServers, startServer, type RunningServer } from "../servers/real-servers.js";

requireServers("vsftpd");

/** Runs the CLI in a pseudo-terminal (util-linux `script`): what a user at a terminal sees. */
function inTerminal(args: string[], env: Record<string, string>): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const command = [process.execPath, CLI, ...args].map((a) => `'${a.replace(/'/g, "'\\''")}'`).join(" ");
    const child = spawn("script", ["-qfec", command, "/dev/null"], { env: { ...process.env, FTPS_SYNC_CONFIG: "", COLUMNS: "120", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 50_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

describe("progress and logs of a sync against vsftpd", () => {
  let server: RunningServer;
  let ws: Workspace;
  let n = 0;
  const job = (opts: Record<string, unknown> = {}) => {
    n++;
    const local = ws.folder(`pl${n}`);
    ws.writeJob(`pl${n}`, { remote: "srv", remotePath: `/pl${n}`, local, direction: "upload", ...opts });
    return { name: `pl${n}`, local };
  };

  beforeAll(async () => {
    await ensureTestUser();
    server = await startServer("vsftpd", { tls: "explicit" });
    ws = makeWorkspace(server, { fingerprint: server.fingerprint });
  });
  afterEach(stopDaemons); // a daemon a test started is stopped by its PID, whatever the outcome
  afterAll(async () => {
    ws?.cleanup();
    await server?.stop();
  });

  it("on a terminal, the line moves with the bytes of a big file in flight, with the total, rate and ETA", async () => {
    // Slowed down to 1 MiB/s: 3 MiB take about three seconds, several redraws.
    const { name, local } = job({ bandwidthLimit: 1024 * 1024 });
    writeTree(local, { "big.bin": Buffer.alloc(3 * 1024 * 1024, 5) });
    const r = await inTerminal(["--config", ws.configPath, "sync", name], ws.env);
    expect(r.code, r.out.slice(-2000)).toBe(0);
    const draws = r.out.split("\r\x1b[2K").map((d) => d.trim()).filter((d) => d.startsWith("transferring"));
    const moving = draws.filter((d) => /of 3\.0 MiB/.test(d) && !/^transferring\s+\[-+\]/.test(d) && /big\.bin/.test(d));
    expect(moving.length, draws.join("\n")).toBeGreaterThanOrEqual(2);
    expect(draws.some((d) => /MiB\/s {2}ETA \d/.test(d)), draws.join("\n")).toBe(true);
    // The summary follows on a clean line; the per-file lines stay in the log file.
    expect(r.out).toMatch(/pl\d+: ok in /);
    expect(r.out).not.toMatch(/uploaded big\.bin \(/);
  });

  it("off a terminal prints no progress unless asked; --progress plain prints one line per file", async () => {
    const { name, local } = job();
    writeTree(local, { "a.txt": "alpha", "sub/b.txt": "bravo" });
    const quiet = await ws.cli(["sync", name, "--json"]);
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(quiet.stderr).not.toMatch(/transferring|uploaded/);
    writeTree(local, { "c.txt": "charlie", "d.txt": "delta" });
    const plain = await ws.cli(["sync", name, "--progress", "plain"]);
    expect(plain.code, plain.stderr).toBe(0);
    const lines = plain.stderr.split("\n").filter((l) => l.startsWith("["));
    expect(lines.sort()).toEqual([expect.stringMatching(/^\[\d\/2\] uploaded c\.txt \(7 B, \d+(\.\d)? m?s\)$/), expect.stringMatching(/^\[\d\/2\] uploaded d\.txt \(5 B, \d+(\.\d)? m?s\)$/)]);
    expect(plain.stderr).not.toMatch(/\x1b/);
  });

  it("--log-format json writes parseable JSON lines (on stderr beside --json), each with the run id, a line per file and the run's summary", async () => {
    const { name, local } = job();
    writeTree(local, { "a.txt": "x".repeat(4096), "b.txt": "bravo" });
    const r = await ws.cli(["--log-format", "json", "-v", "sync", name, "--json"]);
    expect(r.code, r.stderr).toBe(0);
    // stdout holds the command's one object alone; the log lines go to stderr.
    expect(r.stdout.trimEnd().split("\n")).toHaveLength(1);
    const result = lastJsonLine(r.stdout, r.stderr) as { ok: boolean };
    expect(result.ok).toBe(true);
    const logs = r.stderr.trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    const ofRun = logs.filter((l) => l.runId !== undefined);
    const runId = ofRun[0].runId;
    expect(typeof runId).toBe("number");
    expect(ofRun.every((l) => l.runId === runId && l.job === name)).toBe(true);
    expect(logs.filter((l) => l.event === "file").map((l) => [l.path, l.bytes])).toEqual(expect.arrayContaining([["a.txt", 4096], ["b.txt", 5]]));
    expect(logs.find((l) => l.event === "run")).toMatchObject({ level: "info", status: "ok", uploaded: 2, failed: 0, bytes: 4101, runId });
    // The engine's debug lines: one entry a reply, no line endings kept, no "No encryption" before TLS.
    const ftp = logs.filter((l) => typeof l.message === "string" && l.message.startsWith("[ftp srv]")).map((l) => l.message as string);
    expect(ftp.some((m) => m.includes("< 234"))).toBe(true);
    expect(ftp.every((m) => !/[\r\n]/.test(m))).toBe(true);
    expect(ftp.some((m) => m.includes(" | "))).toBe(true); // FEAT's multi-line reply, on one line
    expect(r.stdout + r.stderr).not.toMatch(/No encryption/i);
  });

  it("a successful CLI sync writes its per-file lines and summary to log.file", async () => {
    const { name, local } = job();
    writeTree(local, { "kept.txt": "in the log" });
    const r = await ws.cli(["sync", name]);
    expect(r.code, r.stderr).toBe(0);
    const logDir = join(ws.dir, "logs");
    const text = readdirSync(logDir).filter((f) => f.endsWith(".log")).map((f) => readFileSync(join(logDir, f), "utf8")).join("");
    const entries = text.trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>).filter((e) => e.job === name);
    expect(entries.find((e) => e.event === "file")).toMatchObject({ level: "info", path: "kept.txt", message: expect.stringMatching(/^uploaded kept\.txt \(10 B, /) });
    expect(entries.find((e) => e.event === "run")).toMatchObject({ status: "ok", uploaded: 1 });
  });

  it("the agent with --log-format json: JSON lines on stdout, its summary worded as the CLI's, and a shutdown mid-transfer logs no error", async () => {
    const { name, local } = job({ watch: true, bandwidthLimit: "300KB" });
    const remoteDir = join(server.root, name);
    const agent = startDaemon(ws, { args: ["--log-format", "json"] });
    const lines = () => agent.stdout().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);

    writeFileSync(join(local, "small.txt"), "small");
    const first = await agent.waitFor("the first run's summary", () => lines().find((l) => l.event === "run" && l.job === name), 20_000, 50);
    expect(first).toMatchObject({ level: "info", status: "ok", uploaded: 1, failed: 0 });
    expect(first.message).toMatch(/^run ok: uploaded 1, downloaded 0, deleted local 0, deleted remote 0, conflicts 0, failed 0, 5 B in /);
    expect(lines().find((l) => l.event === "file")).toMatchObject({ path: "small.txt", runId: first.runId, job: name });

    // Then a slow upload, and SIGTERM while it is in flight (grace 30 s by default: cut by a second signal).
    writeFileSync(join(local, "big.bin"), Buffer.alloc(3_000_000, 7));
    await agent.waitFor("the upload in progress", () => existsSync(remoteDir) && readdirSync(remoteDir).some((f) => f.startsWith(".ftps-sync.") && statSync(join(remoteDir, f)).size > 50_000), 20_000, 50);
    agent.kill("SIGTERM");
    await sleep(300);
    agent.kill("SIGTERM");
    expect((await agent.exited).code).toBe(0);
    expect(agent.stderr()).toBe("");
    const all = lines();
    expect(all.filter((l) => l.level === "error"), agent.stdout()).toEqual([]);
    expect(all.some((l) => typeof l.message === "string" && /interrupted by shutdown/.test(l.message))).toBe(true);
  }, 60_000);
});
