// The --json outcomes that no other test reads through the committed schemas (README "JSON output",
// "Exit codes"), one row each, on the built CLI against the embedded FTPS server: each prints its
// one object, valid against schemas/output/<command>.schema.json (theOneObject checks it), with
// the exit code and error.code the README gives. The other outcomes are read the same way by
// json-contract, json-every-command, validate, versions, sync, deletion-guards, missing-remote-folder.
import Database from "better-sqlite3";
import { mkdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeSelfSignedCertificate } from "../../src/demo/cert.js";
import { startDemoServer, type DemoServer } from "../../src/demo/ftps-server.js";
import { theOneObject } from "../helpers/json-shapes.js";
import { testTempDir } from "../helpers/temp-dir.js";
import { makeWorkspace, type Workspace } from "../helpers/workspace.js";

const PASSWORD = "json-outcomes-Pw-3k";
const cert = makeSelfSignedCertificate();
/** The embedded FTPS server on `root`, the user demo's. */
const demoServer = (root: string) => startDemoServer({ root, user: "demo", password: PASSWORD, cert: cert.certPem, key: cert.keyPem });

interface Case {
  what: string;
  /** Sets the case up; returns the command line (after --config). */
  setup: (t: Tools) => Promise<string[]>;
  exitCode: number;
  /** error.code, or undefined for a success. */
  code?: string;
  /** More of the object, when the row says something of its own. */
  more?: Record<string, unknown>;
  /** The job's settings beyond an upload of a fresh folder. */
  job?: Record<string, unknown>;
  /** The job's remote folder is not created. */
  remoteMissing?: boolean;
}

interface Tools {
  ws: Workspace;
  name: string;
  local: string;
  sync(args?: string[]): Promise<void>;
  /** Holds the job's lock as a live process (this one) would. */
  holdLock(): void;
  /** Points the remote at a server of the job's own (the same files), which the returned function stops. */
  serverOfItsOwn(): Promise<() => Promise<void>>;
}

/** A local file with a time of its own, a minute apart per call, so that each edit is seen. */
let minute = 0;
function write(path: string, text: string): void {
  writeFileSync(path, text);
  const t = new Date(Date.UTC(2026, 10, 1, 12, minute++));
  utimesSync(path, t, t);
}

/** A job with versions kept on the server, whose a.txt was overwritten once (one version of it kept). */
async function withVersion(t: Tools): Promise<void> {
  write(join(t.local, "a.txt"), "version one");
  await t.sync();
  write(join(t.local, "a.txt"), "version two, longer");
  await t.sync();
}

/** A plan of the job's upload of a new a.txt, saved for review; returns its file. */
async function reviewedPlan(t: Tools): Promise<string> {
  write(join(t.local, "a.txt"), "alpha");
  const planFile = join(t.ws.dir, "reviewed.json");
  await t.sync(["plan", t.name, "--out", planFile]);
  return planFile;
}

const BACKUP = { backup: { dir: ".versions", keep: 3 } };

const CASES: Case[] = [
  ...(["plan", "sync"] as const).map(
    (command): Case => ({
      what: `${command} of a download job whose remote folder does not exist: exit 1, error`,
      job: { direction: "download" },
      remoteMissing: true,
      setup: async (t) => [command, t.name, "--json"],
      exitCode: 1,
      code: "error",
      more: { kind: command, status: "failed" },
    }),
  ),
  {
    what: "apply while the job is running: exit 5, already-running",
    setup: async (t) => {
      const planFile = await reviewedPlan(t);
      t.holdLock();
      return ["apply", planFile, "--json"];
    },
    exitCode: 5,
    code: "already-running",
  },
  {
    what: "apply when the server cannot be reached: exit 4, connect",
    setup: async (t) => {
      const stop = await t.serverOfItsOwn();
      const planFile = await reviewedPlan(t);
      await stop();
      return ["apply", planFile, "--json"];
    },
    exitCode: 4,
    code: "connect",
  },
  {
    what: "plan that a safety guard stops (every file gone from the source): exit 3, safety-guard",
    job: { delete: "mirror" },
    setup: async (t) => {
      for (const f of ["a.txt", "b.txt", "c.txt"]) write(join(t.local, f), f);
      await t.sync();
      for (const f of ["a.txt", "b.txt", "c.txt"]) rmSync(join(t.local, f));
      return ["plan", t.name, "--json"];
    },
    exitCode: 3,
    code: "safety-guard",
  },
  {
    what: "versions of a job that keeps some: exit 0",
    job: BACKUP,
    setup: async (t) => {
      await withVersion(t);
      return ["versions", t.name, "--json"];
    },
    exitCode: 0,
    more: { versions: [expect.objectContaining({ path: "a.txt", side: "remote" })] },
  },
  {
    what: "versions of a job without backup: exit 2, config",
    setup: async (t) => ["versions", t.name, "--json"],
    exitCode: 2,
    code: "config",
  },
  {
    what: "restore of a kept version: exit 0, where it came from and where the current file is kept",
    job: BACKUP,
    setup: async (t) => {
      await withVersion(t);
      return ["restore", t.name, "a.txt", "--json"];
    },
    exitCode: 0,
    more: { path: "a.txt", from: expect.objectContaining({ side: "remote", size: 11 }), currentKeptAs: expect.any(String) },
  },
  {
    what: "restore of a file no version of which is kept: exit 1, error",
    job: BACKUP,
    setup: async (t) => ["restore", t.name, "a.txt", "--json"],
    exitCode: 1,
    code: "error",
  },
  {
    what: "restore of a path outside the job's folder: exit 2",
    job: BACKUP,
    setup: async (t) => ["restore", t.name, "../../etc/passwd", "--json"],
    exitCode: 2,
  },
  {
    what: "restore while the job is running: exit 5, already-running",
    job: BACKUP,
    setup: async (t) => {
      await withVersion(t);
      t.holdLock();
      return ["restore", t.name, "a.txt", "--json"];
    },
    exitCode: 5,
    code: "already-running",
  },
  ...(["versions", "restore"] as const).map(
    (command): Case => ({
      what: `${command} when the server cannot be reached: exit 4, connect`,
      job: BACKUP,
      setup: async (t) => {
        const stop = await t.serverOfItsOwn();
        await stop();
        return command === "versions" ? ["versions", t.name, "--json"] : ["restore", t.name, "a.txt", "--json"];
      },
      exitCode: 4,
      code: "connect",
    }),
  ),
  {
    what: "status of a job whose expected file has not arrived by its time: exit 10, job-late",
    // Due at 00:00 UTC every day: whenever the test runs, today's deadline has passed.
    job: { direction: "download", expect: { by: "00:00", timezone: "UTC", match: "orders-*.csv", days: "daily" } },
    setup: async (t) => {
      await t.sync();
      return ["status", "--json"];
    },
    exitCode: 10,
    code: "job-late",
    more: { jobs: [expect.objectContaining({ problemKind: "late", expect: expect.objectContaining({ late: true }) })] },
  },
];

describe("the --json outcomes no other test reads through the schemas", () => {
  let root: string;
  let server: DemoServer;
  let n = 0;
  const workspaces: Workspace[] = [];
  const held: Database.Database[] = [];
  const ownServers: DemoServer[] = [];

  beforeAll(async () => {
    root = testTempDir("json-outcomes-root");
    server = await demoServer(root);
  });
  afterAll(async () => {
    for (const db of held) db.close();
    for (const own of ownServers) await own.stop().catch(() => undefined);
    for (const ws of workspaces) ws.cleanup();
    await server?.stop();
  });

  it.each(CASES)("$what", async (c) => {
    const name = `job${++n}`;
    if (!c.remoteMissing) mkdirSync(join(root, name));
    const ws = makeWorkspace({ host: server.host, port: server.port, user: "demo", password: PASSWORD }, { fingerprint: cert.fingerprint });
    workspaces.push(ws);
    const local = ws.folder("local");
    ws.writeJob(name, { remote: "srv", remotePath: `/${name}`, local, direction: "upload", retries: { attempts: 1 }, ...c.job });
    const tools: Tools = {
      ws, name, local,
      async sync(args = ["sync", name]) {
        const r = await ws.cli(args);
        expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(0);
      },
      holdLock() {
        const db = new Database(join(ws.dir, "state", "ftps-sync.db"));
        held.push(db);
        db.prepare("INSERT INTO job_locks (job, pid, acquired_at) VALUES (?, ?, ?)").run(name, process.pid, Date.now());
      },
      async serverOfItsOwn() {
        const own = await demoServer(root);
        ownServers.push(own);
        const config = JSON.parse(readFileSync(ws.configPath, "utf8")) as { remotes: { srv: Record<string, unknown> } };
        config.remotes.srv = { ...config.remotes.srv, port: own.port, timeoutSeconds: 2 };
        writeFileSync(ws.configPath, JSON.stringify(config));
        return () => own.stop();
      },
    };
    const args = await c.setup(tools);
    const r = await ws.cli(args);
    const context = `${args.join(" ")}: exit ${r.code}\n${r.stdout}\n${r.stderr}`;
    const obj = theOneObject(r.stdout, context);
    expect(r.code, context).toBe(c.exitCode);
    expect(obj.ok).toBe(c.exitCode === 0);
    if (c.exitCode === 0) expect(obj.error ?? null).toBeNull();
    else expect(obj.error, context).toMatchObject({ exitCode: c.exitCode, ...(c.code && { code: c.code }) });
    if (c.more) expect(obj).toMatchObject(c.more);
  });
});
