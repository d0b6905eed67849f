import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { debounce } from "../../src/agent/debounce.js";
import { RunQueue } from "../../src/agent/queue.js";
import { Runner } from "../../src/agent/runner.js";
import { nextCronTime, scheduleJob } from "../../src/agent/scheduler.js";
import { jobHealth } from "../../src/agent/status.js";
import type { AgentConfig, JobConfig } from "../../src/config/types.js";
import { silentLogger } from "../../src/log.js";
import { openState, type StateStore } from "../../src/state/index.js";
import type { RunOptions, RunSummary } from "../../src/sync/run-job.js";
import { jobConfig } from "../helpers/job-config.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const job = jobConfig;

function config(jobs: JobConfig[], maxConcurrentJobs = 2): AgentConfig {
  return {
    configPath: "/a.json", baseDir: "/", stateDir: "/s", jobsDir: "/jobs", log: { level: "info" }, maxConcurrentJobs,
    shutdownGraceSeconds: 1, remotes: {}, jobs: Object.fromEntries(jobs.map((j) => [j.name, j])),
  };
}

const summary = (job: string, status: RunSummary["status"] = "ok"): RunSummary => ({
  job, status, durationMs: 1, dryRun: false, plan: [], deferred: 0, skippedDeletes: 0, errors: [], warnings: [],
  uploaded: 0, downloaded: 0, deletedLocal: 0, deletedRemote: 0, conflicts: 0, failed: 0, bytes: 0,
});

describe("runner", () => {
  let dir: string;
  let state: StateStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftps-sync-r-"));
    state = openState(dir);
  });
  afterEach(() => {
    state.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("never overlaps runs of one job, honours maxConcurrentJobs, and folds triggers", async () => {
    const active = new Map<string, number>();
    let maxTotal = 0;
    let maxSame = 0;
    const started: string[] = [];
    const run = async (_c: AgentConfig, _s: StateStore, name: string, _o: RunOptions) => {
      started.push(name);
      active.set(name, (active.get(name) ?? 0) + 1);
      maxSame = Math.max(maxSame, active.get(name)!);
      maxTotal = Math.max(maxTotal, [...active.values()].reduce((a, b) => a + b, 0));
      await sleep(80);
      active.set(name, active.get(name)! - 1);
      return summary(name);
    };
    const cfg = config([job("a"), job("b"), job("c")], 2);
    const runner = new Runner({ state, logger: silentLogger(), config: () => cfg, run, tickMs: 20 });
    for (let i = 0; i < 50; i++) for (const j of ["a", "b", "c"]) runner.request(j, "watch");
    await sleep(60);
    for (let i = 0; i < 50; i++) runner.request("a", "watch"); // while a runs: one more pending run
    await sleep(600);
    await runner.stop(1000);
    expect(maxSame).toBe(1);
    expect(maxTotal).toBe(2);
    expect(started.filter((j) => j === "a")).toHaveLength(2);
    expect(started.filter((j) => j === "b")).toHaveLength(1);
    expect(new RunQueue(state.runQueue).depth()).toBe(0);
  });

  it("runs a job again once the files minAge held back are due, with no other trigger", async () => {
    const triggers: string[] = [];
    const run = async (_c: AgentConfig, _s: StateStore, name: string, o: RunOptions) => {
      triggers.push(o.trigger ?? "");
      if (triggers.length === 1) o.onHeldBack?.(100);
      return summary(name);
    };
    const cfg = config([job("a", { watch: true })]);
    const runner = new Runner({ state, logger: silentLogger(), config: () => cfg, run, tickMs: 20 });
    runner.request("a", "watch");
    await sleep(1600);
    await runner.stop(1000);
    expect(triggers).toEqual(["watch", "minAge"]);
  });

  it("on stop starts nothing new, gives runs the grace period, then cuts them and queues them again", async () => {
    let hardStopped = false;
    const run = (_c: AgentConfig, s: StateStore, name: string, o: RunOptions) =>
      new Promise<RunSummary>((resolve) => {
        const id = s.runs.start(name, o.trigger ?? "", false);
        // Ignores the soft signal, as a transfer in flight does; ends when its connections are cut.
        o.hardStop!.addEventListener("abort", () => {
          hardStopped = true;
          s.runs.finish(id, "failed", summary(name));
          resolve(summary(name, "failed"));
        });
      });
    const cfg = config([job("a"), job("b")], 1);
    const runner = new Runner({ state, logger: silentLogger(), config: () => cfg, run, tickMs: 20 });
    runner.request("a", "schedule");
    runner.request("b", "schedule");
    await sleep(50);
    const t0 = Date.now();
    await runner.stop(300);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(290);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(hardStopped).toBe(true);
    expect(state.runs.last("a")?.status).toBe("interrupted");
    expect(state.runs.last("b")).toBeUndefined();
    expect(new RunQueue(state.runQueue).pending().map((p) => p.job).sort()).toEqual(["a", "b"]);
  });
});

describe("triggers", () => {
  it("debounces a burst into one call", async () => {
    let calls = 0;
    const d = debounce(() => calls++, 100);
    for (let i = 0; i < 200; i++) {
      d.call();
      if (i % 50 === 0) await sleep(5);
    }
    await sleep(250);
    expect(calls).toBe(1);
  });

  it("fires within maxWait when changes never stop", async () => {
    let calls = 0;
    const d = debounce(() => calls++, 100, 300);
    const end = Date.now() + 700;
    while (Date.now() < end) {
      d.call();
      await sleep(20);
    }
    d.cancel();
    expect(calls).toBeGreaterThanOrEqual(2);
  });

  it("a per-second cron expression requests a run every second", async () => {
    const seen: number[] = [];
    const task = scheduleJob(job("c", { schedule: "* * * * * *" }), () => seen.push(Date.now()))!;
    await sleep(2600);
    await task.destroy();
    expect(seen.length).toBeGreaterThanOrEqual(2);
    expect(seen.length).toBeLessThanOrEqual(4);
  });

  it("computes the next time of a schedule in its timezone", () => {
    const next = nextCronTime("30 2 * * *", "UTC")!;
    expect(next.getUTCHours()).toBe(2);
    expect(next.getUTCMinutes()).toBe(30);
    expect(next.getTime()).toBeGreaterThan(Date.now());
  });
});

describe("health", () => {
  const now = 10_000_000;
  it("is unhealthy after a failed last run, or without a success within maxAge", () => {
    const j = job("h", { maxAgeMs: 60_000 });
    const run = (status: "ok" | "failed") => ({ ...summary("h"), id: 1, trigger: "t", startedAt: now - 1000, status, dryRun: false });
    expect(jobHealth(j, run("ok"), now - 1000, now, now - 5000)).toBeUndefined();
    expect(jobHealth(j, run("failed"), now - 1000, now, now - 5000)).toMatch(/last run failed/);
    expect(jobHealth(j, run("ok"), now - 120_000, now, now - 200_000)).toMatch(/no successful run for 120 s/);
    expect(jobHealth(j, undefined, undefined, now, now - 5000)).toBeUndefined();
    expect(jobHealth(j, undefined, undefined, now, now - 61_000)).toMatch(/no successful run yet/);
  });
});
