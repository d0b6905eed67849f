import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import winston from "winston";
import TransportStream from "winston-transport";
import { formatSummary } from "../../src/cli/commands/sync.js";
import { countsSentence } from "../../src/cli/format.js";
import { loadConfig } from "../../src/config/load.js";
import { createLogger } from "../../src/log.js";
import { injectedError, MemoryFolder } from "../../src/remote/memory-folder.js";
import { openState, type StateStore } from "../../src/state/index.js";
import { runJob } from "../../src/sync/run-job.js";
import { testTempDir } from "../helpers/temp-dir.js";

type Entry = Record<string, unknown> & { level: string; message: string };

/** A logger that keeps every entry as its transports get it. */
function keptLogger(): { logger: winston.Logger; entries: Entry[] } {
  const entries: Entry[] = [];
  class Keep extends TransportStream {
    override log(info: unknown, next: () => void): void {
      entries.push({ ...(info as Entry) });
      next();
    }
  }
  return { logger: winston.createLogger({ level: "debug", transports: [new Keep()] }), entries };
}

function setup(files: Record<string, string>) {
  const dir = testTempDir("run-log");
  mkdirSync(join(dir, "jobs"));
  mkdirSync(join(dir, "local"));
  writeFileSync(join(dir, "agent.config.json"), JSON.stringify({
    stateDir: "./state", jobsDir: "./jobs",
    remotes: { srv: { host: "127.0.0.1", port: 21, tls: "explicit", user: "u", password: { env: "RUN_LOG_PW" } } },
  }));
  writeFileSync(join(dir, "jobs", "job.json"), JSON.stringify({ remote: "srv", local: "./local", remotePath: "/job", direction: "upload", retries: { attempts: 1, initialDelay: "1ms", maxDelay: "1ms" } }));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, "local", name), text);
  const { config } = loadConfig(join(dir, "agent.config.json"), { env: { RUN_LOG_PW: "x" } });
  return { config, state: openState(config.stateDir) };
}

describe("a run's log lines", () => {
  let state: StateStore | undefined;
  afterEach(() => state?.close());

  it("say at info what was sent, file by file, and end with a summary carrying the run id, the job, the counts and the duration", async () => {
    const s = setup({ "a.txt": "x".repeat(4096), "b.txt": "bravo" });
    state = s.state;
    const { logger, entries } = keptLogger();
    const summary = await runJob(s.config, s.state, "job", { logger, remote: new MemoryFolder() });
    expect(summary.status).toBe("ok");
    const runId = s.state.runs.last("job")!.id;
    const files = entries.filter((e) => e.event === "file" && e.action === "upload");
    expect(files.map((e) => e.path).sort()).toEqual(["a.txt", "b.txt"]);
    const a = files.find((e) => e.path === "a.txt")!;
    expect(a).toMatchObject({ level: "info", job: "job", runId, bytes: 4096 });
    expect(a.message).toMatch(/^uploaded a\.txt \(4\.0 KiB, \d+ ms\)$/);
    expect(typeof a.durationMs).toBe("number");
    const end = entries.filter((e) => e.event === "run");
    expect(end).toHaveLength(1);
    expect(end[0]).toMatchObject({ level: "info", job: "job", runId, status: "ok", uploaded: 2, failed: 0, bytes: 4101, durationMs: summary.durationMs });
    // The daemon and the CLI word the counts alike: the CLI's summary says what the log line says.
    expect(end[0].message).toBe(`run ok: ${countsSentence(summary)} in ${end[0].message.split(" in ").at(-1)}`);
    expect(formatSummary(summary).split("\n")[1]).toBe(`  ${countsSentence(summary)}`);
  });

  it("log a failed run's summary as an error, not at info", async () => {
    const s = setup({ "a.txt": "alpha" });
    state = s.state;
    const remote = new MemoryFolder();
    remote.fail({ method: "upload", error: injectedError("path") });
    const { logger, entries } = keptLogger();
    const summary = await runJob(s.config, s.state, "job", { logger, remote });
    expect(summary.status).toBe("failed");
    expect(entries.find((e) => e.event === "run")).toMatchObject({ level: "error", status: "failed", failed: 1 });
    expect(entries.some((e) => e.event === "file" && e.action === "upload")).toBe(false);
  });

  it("do not call a deliberate shutdown an error", async () => {
    const s = setup({ "a.txt": "x".repeat(512 * 1024) });
    state = s.state;
    const { logger, entries } = keptLogger();
    // The agent's second signal: connections cut mid-transfer, on purpose.
    const hardStop = new AbortController();
    const remote = new MemoryFolder();
    remote.onChunk((ev) => void (ev.method === "upload" && hardStop.abort()));
    const summary = await runJob(s.config, s.state, "job", { logger, remote, hardStop: hardStop.signal });
    expect(summary.status).toBe("failed");
    expect(entries.filter((e) => e.level === "error")).toEqual([]);
    expect(entries.find((e) => e.event === "run")).toMatchObject({ level: "warn" });
    expect(entries.find((e) => e.event === "run")!.message).toMatch(/^run stopped: /);
  });
});

describe("the console", () => {
  /** What a logger writes to stdout and stderr. */
  async function written(log: (logger: winston.Logger) => void, opts: Parameters<typeof createLogger>[0]) {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const logger = createLogger({ ...opts, streams: { stdout, stderr } });
    const seen = { out: "", err: "" };
    stdout.on("data", (d: Buffer) => (seen.out += d.toString()));
    stderr.on("data", (d: Buffer) => (seen.err += d.toString()));
    // Closed, the logger has handed every line to its transports (winston writes through streams,
    // which Node 26 passes on a turn later than Node 20).
    const finished = new Promise((r) => logger.once("finish", r));
    log(logger);
    logger.end();
    await finished;
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    return seen;
  }

  it("drops a line below the level (-q: info) before winston reads or formats it, in a child logger too, and still writes the lines at the level", async () => {
    let read = 0;
    const below = { get message() { read++; return "uploaded a.txt (4.0 KiB, 12 ms)"; } };
    const { err } = await written((l) => {
      const run = l.child({ job: "j" });
      l.info(below);
      run.info(below);
      run.debug(below);
      run.warn("kept at warn");
    }, { level: "warn" });
    expect(read).toBe(0);
    expect(err).toMatch(/warn  kept at warn job=j\n$/);
    expect(err).not.toMatch(/uploaded/);
  });

  it("keeps a server's multi-line reply on one log line", async () => {
    const { err } = await written((l) => l.warn("550-No such file\r\n550 End\r\n", { job: "j" }), {});
    expect(err.trimEnd().split("\n")).toHaveLength(1);
    expect(err).toMatch(/warn  550-No such file \| 550 End job=j\n$/);
  });

  it("with format json writes one parseable JSON object a line on stdout, fields and run id included", async () => {
    const { out, err } = await written((l) => {
      const run = l.child({ job: "j", runId: 7 });
      run.info("uploaded a.txt (4.0 KiB, 12 ms)", { event: "file", path: "a.txt", bytes: 4096, durationMs: 12 });
      run.warn("two\nlines");
    }, { format: "json" });
    expect(err).toBe("");
    const lines = out.trimEnd().split("\n").map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: "info", job: "j", runId: 7, event: "file", path: "a.txt", bytes: 4096, durationMs: 12 });
    expect(typeof lines[0].timestamp).toBe("string");
    expect(lines[1]).toMatchObject({ level: "warn", message: "two | lines" });
  });

  it("in the human format shows a run line's message without its fields, and the CLI leaves those lines to the log file", async () => {
    const line = (l: winston.Logger) => l.child({ job: "j", runId: 7 }).info("uploaded a.txt (5 B, 1 ms)", { event: "file", path: "a.txt", bytes: 5 });
    expect((await written(line, {})).err).toMatch(/info  uploaded a\.txt \(5 B, 1 ms\) job=j\n$/);
    expect((await written(line, { consoleRunLines: false })).err).toBe("");
  });
});
