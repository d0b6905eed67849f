import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { JobConfig } from "../../src/config/types.js";
import { loadConfig } from "../../src/config/load.js";
import { silentLogger } from "../../src/log.js";
import type { LocalScan } from "../../src/local/scan.js";
import type { LocalEntry, RemoteEntry, RemoteListing, StateEntry } from "../../src/plan/types.js";
import { MemoryFolder } from "../../src/remote/memory-folder.js";
import { openState, type StateStore } from "../../src/state/index.js";
import { planRun, type PlanInput } from "../../src/sync/plan-run.js";
import { runJob } from "../../src/sync/run-job.js";
import { testTempDir } from "../helpers/temp-dir.js";

const T = Date.UTC(2026, 10, 24, 2, 0, 41, 500);
const NOW = new Date(Date.UTC(2026, 11, 5, 12, 0, 0));

const job = (over: Partial<JobConfig> = {}): JobConfig => ({
  name: "job", file: "/jobs/job.json", remote: "srv", remotePath: "/job", local: "/data/job", direction: "two-way",
  watch: false, watchDebounceMs: 1000, delete: "mirror", onConflict: "keep-both", include: [], exclude: [],
  maxDelete: { kind: "percent", value: 100 }, verify: "size", followSymlinks: false, trustRemote: false,
  retries: { attempts: 1, initialDelayMs: 1, maxDelayMs: 1 }, ...over,
});
const file = (path: string, size: number, mtimeMs = T): LocalEntry => ({ path, type: "file", size, mtimeMs });
const rfile = (path: string, size: number, modifyMs = T): RemoteEntry => ({ path, type: "file", size, modifyMs, precision: "second" });
const row = (path: string, size: number): StateEntry => ({
  path, type: "file", localSize: size, localMtimeMs: T, remoteSize: size, remoteModifyMs: T, remotePrecision: "second", placedRemote: true, placedLocal: true,
});

/** Both sides and the state of a two-way job with a new file on each side, an edit on each side of one file, a local delete and a new folder. */
function input(over: Partial<PlanInput> = {}): PlanInput {
  const local = new Map<string, LocalEntry>([
    ["both.txt", file("both.txt", 5, T + 60_000)],
    ["kept.txt", file("kept.txt", 3)],
    ["new-local.txt", file("new-local.txt", 7)],
    ["sub", { path: "sub", type: "dir", size: 0, mtimeMs: T }],
    ["sub/deep.txt", file("sub/deep.txt", 4)],
  ]);
  const remote = new Map<string, RemoteEntry>([
    ["both.txt", rfile("both.txt", 6, T + 120_000)],
    ["kept.txt", rfile("kept.txt", 3)],
    ["gone-local.txt", rfile("gone-local.txt", 2)],
    ["new-remote.txt", rfile("new-remote.txt", 9)],
  ]);
  const state = new Map<string, StateEntry>([["both.txt", row("both.txt", 4)], ["kept.txt", row("kept.txt", 3)], ["gone-local.txt", row("gone-local.txt", 2)]]);
  const localScan: LocalScan = { entries: local, failedDirs: [] };
  const listed: RemoteListing = { entries: remote, complete: true, failedDirs: [] };
  return { job: job(), localScan, listed, stateEntries: state, unchanged: false, remoteRootMissing: false, force: false, now: NOW, ...over };
}

describe("the plan of a run: a plain value", () => {
  it("is the same for the same inputs, and survives JSON as it is (no Map, function or class in it)", () => {
    const first = planRun(input());
    const second = planRun(input());
    expect(second).toEqual(first);
    expect(JSON.parse(JSON.stringify(first))).toEqual(first);
    // Not an empty plan that would trivially compare equal: every kind of step is in it.
    expect(first.actions.map((a) => `${a.kind} ${a.path}`).sort()).toEqual([
      "conflict both.txt",
      "delete-remote gone-local.txt",
      "download new-remote.txt",
      "mkdir-remote sub",
      "upload new-local.txt",
      "upload sub/deep.txt",
    ]);
    expect(first).toMatchObject({ skippedDeletes: 0, warnings: [], errors: [] });
  });

  it("puts the creation of a missing remote folder first, as a plain action (the listing creates nothing)", () => {
    const plan = planRun(input({ job: job({ direction: "upload" }), listed: { entries: new Map(), complete: true, failedDirs: [] }, stateEntries: new Map(), remoteRootMissing: true }));
    expect(plan.actions[0]).toEqual({ kind: "mkdir-remote", path: "", reason: "the remote folder /job does not exist yet: created first" });
    expect(plan.actions.slice(1).map((a) => `${a.kind} ${a.path}`)).toEqual(["mkdir-remote sub", "upload both.txt", "upload kept.txt", "upload new-local.txt", "upload sub/deep.txt"]);
    expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
  });

  it("names the folders it could not read or list as the run's errors, and holds back the deletions an unread local folder would cause", () => {
    const i = input();
    const plan = planRun({ ...i, localScan: { ...i.localScan, failedDirs: ["sub"] } });
    expect(plan.errors).toEqual([`cannot read local folder ${join("/data/job", "sub")}: nothing below it was synced or deleted`]);
    expect(plan.actions.some((a) => a.kind === "delete-remote")).toBe(false);
    expect(plan.skippedDeletes).toBe(1);
  });
});

describe("a dry run stops after the plan", () => {
  let state: StateStore | undefined;
  afterEach(() => state?.close());

  it("returns the plan with the missing remote folder's creation first, and writes nothing on the server nor in the state; the real run then does it", async () => {
    const dir = testTempDir("plan-run-dry");
    mkdirSync(join(dir, "jobs"));
    mkdirSync(join(dir, "local", "sub"), { recursive: true });
    writeFileSync(join(dir, "local", "a.txt"), "alpha");
    writeFileSync(join(dir, "local", "sub", "b.txt"), "bravo");
    const remotes = { srv: { host: "127.0.0.1", port: 21, tls: "explicit", user: "u", password: { env: "PLAN_RUN_PW" } } };
    writeFileSync(join(dir, "agent.config.json"), JSON.stringify({ stateDir: "./state", jobsDir: "./jobs", remotes }));
    writeFileSync(join(dir, "jobs", "job.json"), JSON.stringify({ remote: "srv", local: "./local", remotePath: "/job/inner", direction: "upload" }));
    const { config } = loadConfig(join(dir, "agent.config.json"), { env: { PLAN_RUN_PW: "x" } });
    state = openState(config.stateDir);
    const remote = new MemoryFolder();

    const dry = await runJob(config, state, "job", { logger: silentLogger(), remote, dryRun: true });
    expect(dry).toMatchObject({ status: "ok", dryRun: true, uploaded: 0 });
    expect(dry.plan.map((a) => `${a.kind} ${a.path}`)).toEqual(["mkdir-remote ", "mkdir-remote sub", "upload a.txt", "upload sub/b.txt"]);
    expect(remote.calls.filter((c) => c.method !== "open" && c.method !== "listTree").map((c) => c.method)).toEqual([]);
    expect(remote.info("/job")).toBeUndefined();
    expect(state.entries.load("job").size).toBe(0);

    const real = await runJob(config, state, "job", { logger: silentLogger(), remote });
    expect(real).toMatchObject({ status: "ok", uploaded: 2, failed: 0 });
    expect(remote.read("/job/inner/sub/b.txt")?.toString()).toBe("bravo");
    expect([...state.entries.load("job").keys()].sort()).toEqual(["a.txt", "sub", "sub/b.txt"]);
  });
});

describe("a settled memo and a remote folder gone since", () => {
  let state: StateStore | undefined;
  afterEach(() => state?.close());

  it("creates the job's remote folder again, even where both sides (empty) look as the memo says", async () => {
    const dir = testTempDir("plan-run-settled-root");
    mkdirSync(join(dir, "jobs"));
    mkdirSync(join(dir, "local"));
    const remotes = { srv: { host: "127.0.0.1", port: 21, tls: "explicit", user: "u", password: { env: "PLAN_RUN_PW" } } };
    writeFileSync(join(dir, "agent.config.json"), JSON.stringify({ stateDir: "./state", jobsDir: "./jobs", remotes }));
    writeFileSync(join(dir, "jobs", "job.json"), JSON.stringify({ remote: "srv", local: "./local", remotePath: "/job", direction: "upload" }));
    const { config } = loadConfig(join(dir, "agent.config.json"), { env: { PLAN_RUN_PW: "x" } });
    state = openState(config.stateDir);
    const remote = new MemoryFolder();
    remote.putDir("/job");

    expect(await runJob(config, state, "job", { logger: silentLogger(), remote })).toMatchObject({ status: "ok", plan: [] });
    expect(state.unchangedScans.current("job")).toBeDefined(); // the memo the next run could shortcut on
    await remote.removeDir("/job");

    const again = await runJob(config, state, "job", { logger: silentLogger(), remote });
    expect(again).toMatchObject({ status: "ok", failed: 0 });
    expect(remote.info("/job")?.type).toBe("dir");
  });
});
