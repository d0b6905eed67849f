// The JSON contract (README "JSON output") and the exit codes (README "Exit codes"), on the built
// CLI against the embedded FTPS server: every command with --json prints exactly one object on
// stdout, whatever the outcome, with its schema, `ok`, ISO times and, on failure, the same
// `error` shape; plans say what they would do; status fails for an unhealthy job.
import Database from "better-sqlite3";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { z } from "zod";
import { makeSelfSignedCertificate } from "../../src/demo/cert.js";
import { startDemoServer, type DemoServer } from "../../src/demo/ftps-server.js";
import { runCli } from "../helpers/cli.js";
import {
  applyFailedShape, applyShape, checkShape, epochMillisIn, failureOf, historyShape, runFailedShape, runSummaryShape, statusShape, theOneObject,
} from "../helpers/json-shapes.js";
import { testTempDir } from "../helpers/temp-dir.js";
import { makeWorkspace, type Workspace } from "../helpers/workspace.js";
import { freePort } from "../servers/real-servers.js";

const PASSWORD = "json-contract-Pw-7q";
const cert = makeSelfSignedCertificate();

/** Runs a --json command: its one object, checked against the shape, with no epoch time in it. */
async function json<S extends z.ZodType>(ws: Workspace, args: string[], shape: S, exitCode: number): Promise<z.output<S>> {
  const r = await ws.cli(args);
  const context = `${args.join(" ")}: exit ${r.code}\n${r.stderr}`;
  const obj = theOneObject(r.stdout, context);
  expect(r.code, context).toBe(exitCode);
  const parsed = shape.safeParse(obj);
  if (!parsed.success) throw new Error(`${args.join(" ")}: not the contract's shape:\n${JSON.stringify(obj, null, 2)}\n${parsed.error.message}`);
  expect(epochMillisIn(obj), "times are ISO text").toEqual([]);
  // ok is true exactly when the command exits 0, and a failure names the exit code it ends with.
  expect(obj.ok).toBe(exitCode === 0);
  if (exitCode !== 0) expect((obj.error as { exitCode: number }).exitCode).toBe(exitCode);
  return parsed.data;
}

describe("the JSON contract and exit codes", () => {
  let root: string;
  let server: DemoServer;
  let n = 0;
  const workspaces: Workspace[] = [];

  /** A workspace of its own (its jobs alone decide `status`) with one job on a fresh remote folder. */
  const fresh = (job: Record<string, unknown> = {}, remote: Record<string, unknown> = {}) => {
    const name = `job${++n}`;
    mkdirSync(join(root, name));
    const ws = makeWorkspace({ host: server.host, port: server.port, user: "demo", password: PASSWORD }, { fingerprint: cert.fingerprint, ...remote });
    // One attempt: a server that does not answer fails at once (the retry policy is not under test).
    workspaces.push(ws);
    const local = ws.folder("local");
    ws.writeJob(name, { remote: "srv", remotePath: `/${name}`, local, direction: "upload", retries: { attempts: 1 }, ...job });
    return { ws, name, local, remoteDir: join(root, name) };
  };

  beforeAll(async () => {
    root = testTempDir("json-root");
    server = await startDemoServer({ root, user: "demo", password: PASSWORD, cert: cert.certPem, key: cert.keyPem });
  });
  afterAll(async () => {
    for (const ws of workspaces) ws.cleanup();
    await server?.stop();
  });

  it("sync --json: one object with schema ftps-sync/sync/v1, ok true, ISO start and end times", async () => {
    const { ws, name, local } = fresh();
    writeFileSync(join(local, "a.txt"), "alpha");
    const s = await json(ws, ["sync", name, "--json"], runSummaryShape("sync", true), 0);
    expect(s).toMatchObject({ job: name, kind: "sync", status: "ok", dryRun: false, uploaded: 1 });
    expect(Date.parse(s.endedAt)).toBeGreaterThanOrEqual(Date.parse(s.startedAt));
  });

  it("plan --json carries each action's size and the totals; a deletion held back by delete=never is in the plan and in skippedDeletes", async () => {
    const { ws, name, local, remoteDir } = fresh({ delete: "never" });
    writeFileSync(join(local, "kept.txt"), "kept");
    writeFileSync(join(local, "gone.txt"), "to be deleted locally");
    await json(ws, ["sync", name, "--json"], runSummaryShape("sync", true), 0);
    rmSync(join(local, "gone.txt"));
    writeFileSync(join(local, "new.bin"), Buffer.alloc(3 * 1024, 1));

    const p = await json(ws, ["plan", name, "--json"], runSummaryShape("plan", true), 0);
    expect(p).toMatchObject({ kind: "plan", dryRun: true, uploaded: 0, skippedDeletes: 1 });
    expect(p.plan).toEqual([
      { kind: "upload", path: "new.bin", reason: "new on local", bytes: 3072 },
      { kind: "held-delete", path: "gone.txt", reason: "deleted on local; delete=never keeps the remote copy", side: "remote" },
    ]);
    expect(p.totals).toMatchObject({ actions: 2, upload: { files: 1, bytes: 3072 }, download: { files: 0, bytes: 0 }, heldDeletes: 1, deleteRemote: 0 });

    // The text says what the plan would do, not "ok" with zero counts.
    const text = await ws.cli(["plan", name]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/upload\s+new\.bin\s+3\.0 KiB\s+new on local/);
    expect(text.stdout).toMatch(/kept\s+gone\.txt\s+deleted on local; delete=never keeps the remote copy/);
    expect(text.stdout).toContain(`${name}: would upload 1 file (3.0 KiB); 1 deletion held back by the delete policy; nothing changed (plan, `);
    expect(text.stdout).not.toMatch(/dry run|uploaded 0/);

    // The sync does what the plan said: the deletion is held back, and counted.
    const s = await json(ws, ["sync", name, "--json"], runSummaryShape("sync", true), 0);
    expect(s).toMatchObject({ uploaded: 1, deletedRemote: 0, skippedDeletes: 1 });
    expect(readdirSync(remoteDir).sort()).toEqual(["gone.txt", "kept.txt", "new.bin"]);
  });

  it("a plan with nothing to do says so, and that nothing changed", async () => {
    const { ws, name } = fresh();
    const text = await ws.cli(["plan", name]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout.trim()).toMatch(new RegExp(`^${name}: nothing to do: both sides agree; nothing changed \\(plan, .*\\)$`));
  });

  it("history --json: runs with ISO times, plans marked as plans (kind and dryRun); the text marks them too", async () => {
    const { ws, name, local } = fresh();
    writeFileSync(join(local, "a.txt"), "alpha");
    await json(ws, ["plan", name, "--json"], runSummaryShape("plan", true), 0);
    await json(ws, ["sync", name, "--json"], runSummaryShape("sync", true), 0);
    const h = await json(ws, ["history", name, "--json"], historyShape, 0);
    expect(h.job).toBe(name);
    expect(h.runs.map((r) => [r.kind, r.dryRun, r.status])).toEqual([["sync", false, "ok"], ["plan", true, "ok"]]);
    expect(h.runs.every((r) => r.endedAt !== null && r.error === null)).toBe(true);
    const text = (await ws.cli(["history", name])).stdout.trim().split("\n");
    expect(text).toHaveLength(2);
    expect(text[0]).toMatch(/Z {2}sync {2}ok /);
    expect(text[1]).toMatch(/Z {2}plan {2}ok /);
  });

  it("plan --out --json names the plan file; apply --json: schema ftps-sync/apply/v1, what was carried out and its totals", async () => {
    const { ws, name, local, remoteDir } = fresh();
    writeFileSync(join(local, "a.txt"), "alpha");
    const planFile = join(ws.dir, "reviewed.json");
    const p = await json(ws, ["plan", name, "--out", planFile, "--json"], runSummaryShape("plan", true), 0);
    expect(p.planFile).toBe(planFile);
    const a = await json(ws, ["apply", planFile, "--json"], applyShape(true), 0);
    expect(a).toMatchObject({ job: name, kind: "apply", planFile, status: "ok", uploaded: 1, changed: [] });
    expect(a.plan).toEqual([{ kind: "upload", path: "a.txt", reason: "new on local", bytes: 5 }]);
    expect(readdirSync(remoteDir)).toEqual(["a.txt"]);
  });

  it("plan --out inside the job's local folder is refused (exit 2: it would be synced), and no file is written", async () => {
    const { ws, name, local } = fresh();
    writeFileSync(join(local, "a.txt"), "alpha");
    const f = await json(ws, ["plan", name, "--out", join(local, "plan.json"), "--json"], failureOf("plan", "config", 2), 2);
    expect(f.error.message).toContain("the plan file would be inside the job's local folder");
    expect(readdirSync(local)).toEqual(["a.txt"]);
  });

  it("apply tells the job's notify command of its run: success once applied, failure once refused", async () => {
    const events = join(root, `events-${n + 1}.jsonl`);
    const record = [process.execPath, "-e", `require("fs").appendFileSync(${JSON.stringify(events)}, process.env.FTPS_SYNC_EVENT + " " + process.env.FTPS_SYNC_STATUS + "\\n")`];
    const { ws, name, local } = fresh({ notify: { command: record, on: ["success", "failure"] } });
    writeFileSync(join(local, "a.txt"), "alpha");
    const planFile = join(ws.dir, "reviewed.json");
    await json(ws, ["plan", name, "--out", planFile, "--json"], runSummaryShape("plan", true), 0);
    await json(ws, ["apply", planFile, "--json"], applyShape(true), 0);
    writeFileSync(join(local, "a.txt"), "alpha, edited");
    await json(ws, ["plan", name, "--out", planFile, "--json"], runSummaryShape("plan", true), 0);
    writeFileSync(join(local, "a.txt"), "alpha, edited again after the review");
    await json(ws, ["apply", planFile, "--json"], applyFailedShape, 9);
    expect(readFileSync(events, "utf8").trim().split("\n")).toEqual(["success ok", "failure aborted"]);
  });

  it("apply --json of a plan that no longer holds: exit 9, code plan-changed, the changed paths; an unreadable plan file: exit 2", async () => {
    const { ws, name, local, remoteDir } = fresh();
    writeFileSync(join(local, "a.txt"), "alpha");
    const planFile = join(ws.dir, "reviewed.json");
    await json(ws, ["plan", name, "--out", planFile, "--json"], runSummaryShape("plan", true), 0);
    writeFileSync(join(local, "a.txt"), "alpha, then edited");
    const f = await json(ws, ["apply", planFile, "--json"], applyFailedShape, 9);
    expect(f).toMatchObject({ status: "aborted", uploaded: 0, error: { code: "plan-changed", exitCode: 9 } });
    expect(f.changed).toEqual([expect.objectContaining({ path: "a.txt", side: "local" })]);
    expect(readdirSync(remoteDir)).toEqual([]);
    const missing = await json(ws, ["apply", join(ws.dir, "no-such-plan.json"), "--json"], failureOf("apply", "config", 2), 2);
    expect(missing.error.message).toContain("cannot read the plan file: ENOENT");
  });

  it("history --json on an unknown job: exit 2, the failure object with code config", async () => {
    const { ws } = fresh();
    const f = await json(ws, ["history", "nope", "--json"], failureOf("history", "config", 2), 2);
    expect(f.error.message).toContain('unknown job "nope"');
  });

  it("status --json of a job that never ran: exit 0, lastRun null (not left out), ISO times", async () => {
    const { ws, name } = fresh({ schedule: "0 2 * * *" });
    const s = await json(ws, ["status", "--json"], statusShape(true), 0);
    expect(s.jobs).toHaveLength(1);
    expect(s.jobs[0]).toMatchObject({ job: name, healthy: true, lastRun: null, lastSuccessAt: null, running: null, problem: null, problemKind: null });
    expect(Date.parse(s.jobs[0].nextRunAt!)).toBeGreaterThan(Date.now());
  });

  it("status exits 6 (job-failing) when a job's last run failed, in JSON and in text", async () => {
    const closed = await freePort();
    const { ws, name } = fresh({}, { port: closed, timeoutSeconds: 2 });
    await json(ws, ["sync", name, "--json"], runFailedShape("sync"), 4);
    const s = await json(ws, ["status", "--json"], statusShape(false), 6);
    expect(s.error).toMatchObject({ code: "job-failing", exitCode: 6 });
    expect(s.error!.message).toContain(name);
    expect(s.jobs[0]).toMatchObject({ healthy: false, problemKind: "failing", lastRun: { status: "failed", kind: "sync" } });
    const text = await ws.cli(["status"]);
    expect(text.code).toBe(6);
    expect(text.stdout).toContain("health: UNHEALTHY");
  });

  it("status exits 7 (job-stale) when a job had no successful run within its maxAge", async () => {
    const { ws, name } = fresh({ maxAge: "1s" });
    await json(ws, ["sync", name, "--json"], runSummaryShape("sync", true), 0);
    await new Promise((r) => setTimeout(r, 1_500));
    const s = await json(ws, ["status", "--json"], statusShape(false), 7);
    expect(s.error).toMatchObject({ code: "job-stale", exitCode: 7 });
    expect(s.jobs[0]).toMatchObject({ healthy: false, problemKind: "stale", lastRun: { status: "ok" } });
    expect(typeof s.jobs[0].lastSuccessAt).toBe("string");
  });

  it("sync --json on a job that is already running: exit 5 (not 1), code already-running, and the holder's lock is left alone", async () => {
    const { ws, name } = fresh();
    await json(ws, ["sync", name, "--json"], runSummaryShape("sync", true), 0); // creates the state store
    const db = new Database(join(ws.dir, "state", "ftps-sync.db"));
    try {
      // Held as a live process would hold it: this test process.
      db.prepare("INSERT INTO job_locks (job, pid, acquired_at) VALUES (?, ?, ?)").run(name, process.pid, Date.now());
      const f = await json(ws, ["sync", name, "--json"], runFailedShape("sync"), 5);
      expect(f.error).toMatchObject({ code: "already-running", exitCode: 5 });
      expect(f.error.message).toContain(`job ${name} is already running (pid ${process.pid})`);
      expect(f).toMatchObject({ job: name, status: "failed", uploaded: 0 });
      const text = await ws.cli(["sync", name]);
      expect(text.code).toBe(5);
      expect(text.stdout).toBe("");
      expect(text.stderr).toContain("already running");
      expect(db.prepare("SELECT pid FROM job_locks WHERE job = ?").get(name)).toEqual({ pid: process.pid });
    } finally {
      db.close();
    }
  });

  it("sync and plan --json on a connection failure: exit 4, the failure object with code connect", async () => {
    const closed = await freePort();
    const { ws, name } = fresh({}, { port: closed, timeoutSeconds: 2 });
    for (const command of ["sync", "plan"] as const) {
      const f = await json(ws, [command, name, "--json"], runFailedShape(command), 4);
      expect(f.error.code).toBe("connect");
      expect(f).toMatchObject({ job: name, status: "failed" });
    }
  });

  it("sync --json stopped by a safety guard: exit 3, code safety-guard, status aborted", async () => {
    const { ws, name, local } = fresh({ delete: "mirror" });
    for (const f of ["a.txt", "b.txt", "c.txt"]) writeFileSync(join(local, f), f);
    await json(ws, ["sync", name, "--json"], runSummaryShape("sync", true), 0);
    for (const f of ["a.txt", "b.txt", "c.txt"]) rmSync(join(local, f));
    const r = await ws.cli(["sync", name, "--json"]);
    const obj = theOneObject(r.stdout, r.stderr);
    expect(r.code, r.stderr).toBe(3);
    expect(failureOf("sync", "safety-guard", 3).safeParse(obj).success, JSON.stringify(obj)).toBe(true);
    expect(obj).toMatchObject({ status: "aborted", deletedRemote: 0 });
    expect(epochMillisIn(obj)).toEqual([]);
  });

  it("sync --json with a configuration error: exit 2, the failure object with code config", async () => {
    const { ws } = fresh();
    const f = await json(ws, ["sync", "no-such-job", "--json"], failureOf("sync", "config", 2), 2);
    expect(f.error.message).toMatch(/no-such-job/);

    const dir = testTempDir("json-badcfg");
    writeFileSync(join(dir, "agent.config.json"), "{ not json");
    const r = await runCli(["--config", join(dir, "agent.config.json"), "status", "--json"]);
    expect(r.code).toBe(2);
    expect(failureOf("status", "config", 2).safeParse(theOneObject(r.stdout, r.stderr)).success, r.stdout).toBe(true);
  });

  it("a usage error with --json: exit 2, the failure object with code usage", async () => {
    const { ws, name } = fresh();
    const f = await json(ws, ["sync", name, "--json", "--no-such-flag"], failureOf("sync", "usage", 2), 2);
    expect(f.error.message).toContain("--no-such-flag");
  });

  it("check --json: one object with a result per remote, the certificate's expiry as ISO text", async () => {
    const { ws } = fresh();
    const c = await json(ws, ["check", "--json"], checkShape(true), 0);
    expect(c.remotes).toHaveLength(1);
    expect(c.remotes[0]).toMatchObject({ remote: "srv", ok: true, trustedBy: "pinned-fingerprint", certificate: { fingerprint: cert.fingerprint } });
  });

  it("check --json on a server that does not answer: exit 4, the remote's error and the command's", async () => {
    const closed = await freePort();
    const { ws } = fresh({}, { port: closed, timeoutSeconds: 2 });
    const c = await json(ws, ["check", "--json"], checkShape(false), 4);
    expect(c.error).toMatchObject({ code: "connect", exitCode: 4 });
    expect(c.remotes[0]).toMatchObject({ ok: false, error: { code: "connect", exitCode: 4 } });
  });
});
