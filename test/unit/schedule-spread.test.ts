import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AgentMetrics } from "../../src/agent/metrics.js";
import { LATE_START_MS, Runner } from "../../src/agent/runner.js";
import { nextCronTime, scheduleJob, spreadOffsetMs } from "../../src/agent/scheduler.js";
import type { AgentConfig, JobConfig } from "../../src/config/types.js";
import { silentLogger } from "../../src/log.js";
import { openState, type StateStore } from "../../src/state/index.js";
import type { RunSummary } from "../../src/sync/run-job.js";
import { testTempDir } from "../helpers/temp-dir.js";
import { jobConfig } from "../helpers/job-config.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const job = jobConfig;

const summary = (name: string): RunSummary => ({
  job: name, status: "ok", durationMs: 1, dryRun: false, plan: [], deferred: 0, skippedDeletes: 0, errors: [], warnings: [],
  uploaded: 0, downloaded: 0, deletedLocal: 0, deletedRemote: 0, conflicts: 0, failed: 0, bytes: 0,
});

describe("schedule spread", () => {
  it("gives each job a fixed offset within its spread, the same in every process and release", () => {
    expect(spreadOffsetMs("partner-0042", 30_000)).toBe(spreadOffsetMs("partner-0042", 30_000));
    // Pinned: a job keeps its slot across upgrades as long as this does not change.
    expect(spreadOffsetMs("partner-0042", 30_000)).toBe(PINNED_OFFSET);
    expect(spreadOffsetMs("partner-0042", undefined)).toBe(0);
    expect(spreadOffsetMs("partner-0042", 0)).toBe(0);
  });

  it("spreads 500 jobs over the whole spread, each offset within it", () => {
    const offsets = Array.from({ length: 500 }, (_, i) => spreadOffsetMs(`partner-${i}`, 30_000));
    for (const o of offsets) {
      expect(o).toBeGreaterThanOrEqual(0);
      expect(o).toBeLessThan(30_000);
    }
    expect(Math.min(...offsets)).toBeLessThan(1000);
    expect(Math.max(...offsets)).toBeGreaterThan(29_000);
    // No more than a fifth of them in any 3-second tenth of the spread.
    const tenths = new Array(10).fill(0);
    for (const o of offsets) tenths[Math.floor(o / 3000)]++;
    expect(Math.max(...tenths)).toBeLessThan(100);
  });

  it("requests a scheduled run at its cron time plus the job's offset, and says when the next one is due", async () => {
    const j = job("spread-me", { schedule: "* * * * * *", scheduleSpreadMs: 1000 });
    const offset = spreadOffsetMs(j.name, 1000);
    const seen: { at: number; dueAt?: number; trigger: string }[] = [];
    const task = scheduleJob(j, (_name, trigger, dueAt) => seen.push({ at: Date.now(), dueAt, trigger }))!;
    const next = task.nextRun()!.getTime();
    expect(next % 1000).toBe(offset);
    await sleep(3200);
    await task.destroy();
    expect(seen.length).toBeGreaterThanOrEqual(2);
    for (const s of seen) {
      expect(s.trigger).toBe("schedule");
      expect(s.dueAt! % 1000).toBe(offset);
      // Not before its time (a timer may round down by a millisecond).
      expect(s.at).toBeGreaterThanOrEqual(s.dueAt! - 1);
    }
  });

  it("adds the job's offset to the next time status shows", () => {
    const offset = spreadOffsetMs("yearly", 86_400_000);
    const plain = nextCronTime("0 0 1 1 *", "UTC")!.getTime();
    expect(nextCronTime("0 0 1 1 *", "UTC", offset)!.getTime()).toBe(plain + offset);
  });

  it("requests a run for every scheduled time even when the event loop was held past node-cron's tolerance", async () => {
    const dues: number[] = [];
    const task = scheduleJob(job("held", { schedule: "* * * * * *" }), (_n, _t, dueAt) => dues.push(dueAt!));
    while (dues.length === 0) await sleep(20);
    // Hold the thread for 2.5 s: node-cron sees the seconds in between as missed.
    const end = Date.now() + 2500;
    while (Date.now() < end);
    await sleep(1300);
    await task!.destroy();
    expect(dues.length).toBeGreaterThanOrEqual(4);
    for (let i = 1; i < dues.length; i++) expect(dues[i] - dues[i - 1]).toBe(1000);
  });
});

describe("late scheduled runs", () => {
  let state: StateStore;
  beforeEach(() => {
    state = openState(testTempDir("late"));
  });
  afterEach(() => state.close());

  function setup(clock: { now: number }, run: (name: string) => Promise<RunSummary>) {
    const cfg: AgentConfig = {
      configPath: "/a.json", baseDir: "/", stateDir: "/s", jobsDir: "/jobs", log: { level: "info" }, maxConcurrentJobs: 2,
      shutdownGraceSeconds: 1, remotes: {}, jobs: { a: job("a", { schedule: "* * * * *" }) },
    };
    const logger = silentLogger();
    const warn = vi.spyOn(logger, "warn");
    const metrics = new AgentMetrics(state, () => ["a"]);
    const runner = new Runner({ state, logger, metrics, config: () => cfg, run: (_c, _s, name) => run(name), tickMs: 20, now: () => clock.now });
    return { runner, warn, metrics };
  }

  const delayLines = async (m: AgentMetrics) => (await m.registry.getSingleMetricAsString("ftps_sync_schedule_delay_seconds")).split("\n");
  const warnings = (warn: { mock: { calls: unknown[][] } }): string[] => warn.mock.calls.map((c) => String(c[0]));

  it("logs and counts a run that starts after its scheduled time, measured with the injected clock", async () => {
    const due = 1_000_000;
    const clock = { now: due + 30_000 };
    const { runner, warn, metrics } = setup(clock, async (name) => summary(name));
    runner.request("a", "schedule", due);
    await sleep(100);
    await runner.stop(1000);
    const lines = await delayLines(metrics);
    expect(lines).toContain("ftps_sync_schedule_delay_seconds_count 1");
    expect(lines).toContain("ftps_sync_schedule_delay_seconds_sum 30");
    expect(lines).toContain('ftps_sync_schedule_delay_seconds_bucket{le="10"} 0');
    expect(lines).toContain('ftps_sync_schedule_delay_seconds_bucket{le="30"} 1');
    expect(warnings(warn).filter((w) => /scheduled run started 30\.0 s after its time .*: late/.test(w))).toHaveLength(1);
  });

  it("measures a run that starts on time without a warning", async () => {
    const due = 1_000_000;
    const clock = { now: due + LATE_START_MS - 1000 };
    const { runner, warn, metrics } = setup(clock, async (name) => summary(name));
    runner.request("a", "schedule", due);
    await sleep(100);
    await runner.stop(1000);
    expect(await delayLines(metrics)).toContain("ftps_sync_schedule_delay_seconds_count 1");
    expect(warnings(warn)).toEqual([]);
  });

  it("counts and logs a scheduled time whose previous run has not started yet, instead of folding it silently", async () => {
    const clock = { now: 0 };
    let release!: () => void;
    let runs = 0;
    const { runner, warn, metrics } = setup(clock, async (name) => {
      if (++runs === 1) await new Promise<void>((r) => (release = r));
      return summary(name);
    });
    runner.request("a", "schedule", 0); // starts at once, then hangs
    await sleep(60);
    clock.now = 60_000;
    runner.request("a", "schedule", 60_000); // pending behind the run in progress
    clock.now = 120_000;
    runner.request("a", "schedule", 120_000); // the 60 s one has not started: no run of its own
    expect(await metrics.registry.getSingleMetricAsString("ftps_sync_schedule_skipped_total")).toContain('ftps_sync_schedule_skipped_total{job="a"} 1');
    expect(warnings(warn).some((w) => w.includes(`scheduled run of ${new Date(120_000).toISOString()} skipped`) && w.includes("previous run is still going"))).toBe(true);
    clock.now = 125_000;
    release();
    await sleep(150);
    await runner.stop(1000);
    expect(runs).toBe(2);
    const lines = await delayLines(metrics);
    expect(lines).toContain("ftps_sync_schedule_delay_seconds_count 2");
    // The second run started 65 s after the time it was for (60 s), and is said to be late.
    expect(lines).toContain("ftps_sync_schedule_delay_seconds_sum 65");
  });
});

// floor(first 6 bytes of sha256("partner-0042") / 2^48 * 30 000)
const PINNED_OFFSET = 25_644;
