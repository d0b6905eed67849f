// Notifications ("notify"): a webhook receiver and a command, both on this machine. A receiver
// that is down or hangs is retried with backoff and never holds up its caller (nor the agent's
// next run); the payload carries the run and is redacted; HTTPS certificates are verified; the
// command gets the event in FTPS_SYNC_* variables and as JSON on stdin, without the agent's env.
import { existsSync, readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { Writable } from "node:stream";
import winston from "winston";
import { afterEach, describe, expect, it } from "vitest";
import { afterRun } from "../../src/agent/after-run.js";
import { Notifier, type NotifyOutcome } from "../../src/agent/notify/notifier.js";
import { notificationEnv, runNotification } from "../../src/agent/notify/payload.js";
import { Runner } from "../../src/agent/runner.js";
import type { AgentConfig, JobConfig, NotifyConfig } from "../../src/config/types.js";
import { makeSelfSignedCertificate } from "../../src/demo/cert.js";
import { registerSecret } from "../../src/redact.js";
import { openState, type StateStore } from "../../src/state/index.js";
import type { RunSummary } from "../../src/sync/run-job.js";
import { testTempDir } from "../helpers/temp-dir.js";
import { jobConfig } from "../helpers/job-config.js";

const SECRET = "Notify-Secret-Pw-5521";
registerSecret(SECRET);

function job(name: string, notify: Partial<NotifyConfig>): JobConfig {
  return jobConfig(name, { notify: { on: ["failure", "success", "late", "recovered"], timeoutMs: 2000, attempts: 3, ...notify } });
}

/** A logger whose lines the test reads. */
function capturingLogger() {
  const lines: string[] = [];
  const stream = new Writable({ write: (c: Buffer, _e, done) => (lines.push(c.toString()), done()) });
  const logger = winston.createLogger({ level: "debug", transports: [new winston.transports.Stream({ stream, format: winston.format.simple() })] });
  return { logger, text: () => lines.join("") };
}

/** A webhook receiver on loopback: `answer` decides each request's fate (the bodies are kept). */
async function receiver(answer: (n: number, req: IncomingMessage, res: ServerResponse) => void, make: () => Server = () => createServer()) {
  const bodies: unknown[] = [];
  const server = make();
  let n = 0;
  server.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      bodies.push(JSON.parse(Buffer.concat(chunks).toString()));
      answer(++n, req, res);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  servers.push(server);
  return { port, bodies, requests: () => n };
}
const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    s.close();
  }
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

function recordedRun(state: StateStore, jobName: string, error?: string): ReturnType<StateStore["runs"]["last"]> {
  const id = state.runs.start(jobName, "cli", false);
  state.runs.finish(id, error ? "failed" : "ok", { uploaded: 3, downloaded: 1, deletedLocal: 0, deletedRemote: 2, conflicts: 0, failed: error ? 1 : 0, bytes: 4096 }, error);
  return state.runs.last(jobName);
}

const summary = (j: string, status: RunSummary["status"] = "ok", errors: string[] = []): RunSummary => ({
  job: j, status, durationMs: 1, dryRun: false, plan: [], deferred: 0, skippedDeletes: 0, errors, warnings: [],
  uploaded: 0, downloaded: 0, deletedLocal: 0, deletedRemote: 0, conflicts: 0, failed: 0, bytes: 0,
});

describe("the webhook", () => {
  it("is retried with backoff when the receiver is down, then given up, logged and counted, without ever throwing", async () => {
    const port = await freePort();
    const outcomes: NotifyOutcome[] = [];
    const { logger, text } = capturingLogger();
    const notifier = new Notifier({ logger, onOutcome: (o) => outcomes.push(o.outcome), backoffMs: () => 20 });
    const state = openState(testTempDir("notify-state"));
    const j = job("nightly", { webhook: `http://127.0.0.1:${port}/hook?token=abc` });
    notifier.send(j, runNotification(recordedRun(state, "nightly")!, [], "host-1", Date.now()));
    expect(notifier.inFlight, "send returned before any delivery").toBe(1);
    expect(await notifier.settle(10_000)).toBe(0);
    expect(outcomes).toEqual(["retried", "retried", "failed"]);
    expect(text()).toMatch(/notification "success" not delivered to webhook http:\/\/127\.0\.0\.1:\d+ after 3 attempt\(s\): .*ECONNREFUSED/);
    // The path and query may hold a token: the logs show the origin only.
    expect(text()).not.toContain("token=abc");
  });

  it("gives up on a receiver that hangs after its timeout, and delivers on the next attempt", async () => {
    const hook = await receiver((n, _req, res) => {
      if (n === 1) return; // never answers
      res.writeHead(204).end();
    });
    const outcomes: NotifyOutcome[] = [];
    const notifier = new Notifier({ logger: capturingLogger().logger, onOutcome: (o) => outcomes.push(o.outcome), backoffMs: () => 20 });
    const state = openState(testTempDir("notify-state"));
    const j = job("nightly", { webhook: `http://127.0.0.1:${hook.port}/`, timeoutMs: 300 });
    const started = Date.now();
    notifier.send(j, runNotification(recordedRun(state, "nightly")!, [], "host-1", Date.now()));
    expect(Date.now() - started).toBeLessThan(200);
    await notifier.settle(10_000);
    expect(outcomes).toEqual(["retried", "delivered"]);
    expect(hook.requests()).toBe(2);
    // The same event both times.
    expect(hook.bodies[0]).toEqual(hook.bodies[1]);
  });

  it("posts the run as JSON: event, job, run id, status, counts, bytes, errors, duration, host and time, secrets redacted", async () => {
    const hook = await receiver((_n, req, res) => {
      expect(req.method).toBe("POST");
      expect(req.headers["content-type"]).toBe("application/json");
      res.writeHead(200).end("ok");
    });
    const notifier = new Notifier({ logger: capturingLogger().logger });
    const state = openState(testTempDir("notify-state"));
    const j = job("nightly", { webhook: `http://localhost:${hook.port}/` });
    const record = recordedRun(state, "nightly", `530 login failed for password ${SECRET}`)!;
    afterRun({ state, logger: capturingLogger().logger, notifier }, j, record.startedAt, summary("nightly", "failed", [`530 login failed for password ${SECRET}`, "a.txt: 550"]));
    await notifier.settle(10_000);
    expect(hook.bodies).toHaveLength(1);
    const body = hook.bodies[0] as Record<string, unknown>;
    expect(body).toMatchObject({
      event: "failure", job: "nightly", runId: record.id, status: "failed", host: expect.any(String),
      counts: { uploaded: 3, downloaded: 1, deletedLocal: 0, deletedRemote: 2, conflicts: 0, failed: 1 }, bytes: 4096,
      errors: ["530 login failed for password [redacted]", "a.txt: 550"], durationMs: expect.any(Number),
    });
    expect(body.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(JSON.stringify(body)).not.toContain(SECRET);
  });

  it("sends only the events the job listens to", async () => {
    const hook = await receiver((_n, _req, res) => res.writeHead(204).end());
    const notifier = new Notifier({ logger: capturingLogger().logger });
    const state = openState(testTempDir("notify-state"));
    const j = job("nightly", { webhook: `http://127.0.0.1:${hook.port}/`, on: ["failure"] });
    const record = recordedRun(state, "nightly")!;
    afterRun({ state, logger: capturingLogger().logger, notifier }, j, record.startedAt, summary("nightly"));
    expect(notifier.inFlight).toBe(0);
    await notifier.settle(1000);
    expect(hook.requests()).toBe(0);
  });

  it("verifies the HTTPS certificate: a self-signed receiver is refused, and accepted with its certificate as the \"ca\"", async () => {
    const cert = makeSelfSignedCertificate(["127.0.0.1"]);
    const hook = await receiver((_n, _req, res) => res.writeHead(204).end(), () => createHttpsServer({ cert: cert.certPem, key: cert.keyPem }));
    const state = openState(testTempDir("notify-state"));
    const run = runNotification(recordedRun(state, "nightly")!, [], "host-1", Date.now());

    const refused: NotifyOutcome[] = [];
    const { logger, text } = capturingLogger();
    const strict = new Notifier({ logger, onOutcome: (o) => refused.push(o.outcome) });
    strict.send(job("nightly", { webhook: `https://127.0.0.1:${hook.port}/`, attempts: 1 }), run);
    await strict.settle(10_000);
    expect(refused).toEqual(["failed"]);
    expect(text()).toMatch(/self[- ]signed certificate/i);
    expect(hook.requests()).toBe(0);

    const accepted: NotifyOutcome[] = [];
    const trusting = new Notifier({ logger: capturingLogger().logger, onOutcome: (o) => accepted.push(o.outcome) });
    trusting.send(job("nightly", { webhook: `https://127.0.0.1:${hook.port}/`, attempts: 1, ca: cert.certPem }), run);
    await trusting.settle(10_000);
    expect(accepted).toEqual(["delivered"]);
    expect(hook.requests()).toBe(1);
  });
});

describe("the command", () => {
  /** A node script as the command: it writes what it was given next to `dir`, and fails while `failFirst` has not been seen. */
  const script = (dir: string, behaviour = "") => [
    process.execPath,
    "-e",
    `const fs = require("fs"); let input = ""; process.stdin.on("data", (c) => (input += c)); process.stdin.on("end", () => {
      ${behaviour}
      fs.writeFileSync(${JSON.stringify(join(dir, "seen.json"))}, JSON.stringify({ stdin: JSON.parse(input), env: process.env }));
    });`,
  ];

  it("gets the event as FTPS_SYNC_* variables and as JSON on stdin, redacted, and none of the agent's own environment", async () => {
    const dir = testTempDir("notify-cmd");
    process.env.FTPS_SYNC_NOTIFY_TEST_PASSWORD = SECRET;
    try {
      const outcomes: NotifyOutcome[] = [];
      const notifier = new Notifier({ logger: capturingLogger().logger, onOutcome: (o) => outcomes.push(o.outcome) });
      const state = openState(testTempDir("notify-state"));
      const record = recordedRun(state, "nightly", `refused: ${SECRET}`)!;
      notifier.send(job("nightly", { command: script(dir) }), runNotification(record, undefined, "host-1", Date.now()));
      await notifier.settle(10_000);
      expect(outcomes).toEqual(["delivered"]);
      const seen = JSON.parse(readFileSync(join(dir, "seen.json"), "utf8")) as { stdin: Record<string, unknown>; env: Record<string, string> };
      expect(seen.stdin).toMatchObject({ event: "failure", job: "nightly", runId: record.id, errors: ["refused: [redacted]"] });
      expect(seen.env).toMatchObject({
        FTPS_SYNC_EVENT: "failure", FTPS_SYNC_JOB: "nightly", FTPS_SYNC_RUN_ID: String(record.id), FTPS_SYNC_STATUS: "failed",
        FTPS_SYNC_COUNTS_UPLOADED: "3", FTPS_SYNC_COUNTS_DELETED_REMOTE: "2", FTPS_SYNC_BYTES: "4096", FTPS_SYNC_HOST: "host-1",
        FTPS_SYNC_ERRORS: "refused: [redacted]",
      });
      expect(seen.env.FTPS_SYNC_NOTIFY_TEST_PASSWORD).toBeUndefined();
      expect(JSON.stringify(seen)).not.toContain(SECRET);
    } finally {
      delete process.env.FTPS_SYNC_NOTIFY_TEST_PASSWORD;
    }
  });

  it("is retried when it exits with an error, and killed when it hangs past its timeout", async () => {
    const dir = testTempDir("notify-cmd");
    const marker = join(dir, "tried");
    const failOnce = `if (!fs.existsSync(${JSON.stringify(marker)})) { fs.writeFileSync(${JSON.stringify(marker)}, ""); console.error("busy"); process.exit(3); }`;
    const outcomes: NotifyOutcome[] = [];
    const { logger, text } = capturingLogger();
    const notifier = new Notifier({ logger, onOutcome: (o) => outcomes.push(o.outcome), backoffMs: () => 20 });
    const state = openState(testTempDir("notify-state"));
    const run = runNotification(recordedRun(state, "nightly")!, [], "host-1", Date.now());
    notifier.send(job("nightly", { command: script(dir, failOnce) }), run);
    await notifier.settle(10_000);
    expect(outcomes).toEqual(["retried", "delivered"]);
    expect(text()).toMatch(/exited with 3: busy/);
    expect(existsSync(join(dir, "seen.json"))).toBe(true);

    const hung: NotifyOutcome[] = [];
    const slow = new Notifier({ logger, onOutcome: (o) => hung.push(o.outcome), backoffMs: () => 20 });
    slow.send(job("nightly", { command: [process.execPath, "-e", "setTimeout(() => {}, 60000)"], timeoutMs: 300, attempts: 2 }), run);
    expect(await slow.settle(10_000)).toBe(0);
    expect(hung).toEqual(["retried", "failed"]);
    expect(text()).toMatch(/did not end within 300 ms; killed/);
  });
});

describe("notifications in the agent", () => {
  it("never hold up the next run: a run's notification to a hanging receiver is still in flight when the next run of the job ends", async () => {
    const hook = await receiver(() => {}); // accepts, never answers
    const state = openState(testTempDir("notify-state"));
    const j = job("nightly", { webhook: `http://127.0.0.1:${hook.port}/`, timeoutMs: 5000, attempts: 1 });
    const config: AgentConfig = {
      configPath: "/a.json", baseDir: "/", stateDir: "/s", jobsDir: "/jobs", log: { level: "info" }, maxConcurrentJobs: 1,
      shutdownGraceSeconds: 1, remotes: {}, jobs: { nightly: j },
    };
    const notifier = new Notifier({ logger: capturingLogger().logger });
    const ended: number[] = [];
    const runner = new Runner({
      state, logger: capturingLogger().logger, config: () => config, tickMs: 20,
      run: async (_c, st, name) => {
        const id = st.runs.start(name, "test", false);
        st.runs.finish(id, "ok", { uploaded: 0, downloaded: 0, deletedLocal: 0, deletedRemote: 0, conflicts: 0, failed: 0, bytes: 0 });
        ended.push(id);
        return summary(name);
      },
      afterRun: (name, started, s) => afterRun({ state, logger: capturingLogger().logger, notifier }, config.jobs[name], started, s),
    });
    try {
      runner.request("nightly", "test");
      await waitFor(() => ended.length === 1 && hook.requests() === 1);
      runner.request("nightly", "test");
      await waitFor(() => ended.length === 2);
      expect(notifier.inFlight, "the first run's notification still waits for its receiver").toBeGreaterThanOrEqual(1);
    } finally {
      await runner.stop(1000);
    }
  });
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error("timed out waiting");
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe("the environment of a notification", () => {
  it("flattens nested fields and lists into FTPS_SYNC_* variables", () => {
    const env = notificationEnv({ event: "late", time: "t", host: "h", job: "j", expected: { by: "07:00", deadline: "d" }, errors: ["a\nb", "c"] });
    expect(env).toEqual({ FTPS_SYNC_EVENT: "late", FTPS_SYNC_TIME: "t", FTPS_SYNC_HOST: "h", FTPS_SYNC_JOB: "j", FTPS_SYNC_EXPECTED_BY: "07:00", FTPS_SYNC_EXPECTED_DEADLINE: "d", FTPS_SYNC_ERRORS: "a b\nc" });
  });
});
