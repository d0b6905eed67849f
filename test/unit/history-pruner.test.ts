import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { HistoryPruner, pruneJobHistory } from "../../src/agent/history-pruner.js";
import { collectStatus } from "../../src/agent/status.js";
import { silentLogger } from "../../src/log.js";
import type { Db } from "../../src/state/db.js";
import type { StateStore } from "../../src/state/index.js";
import { addRuns, config, DAY, idsOf, NOW, openHistoryState } from "../helpers/run-history.js";

const count = (db: Db, name?: string) =>
  (name === undefined ? db.prepare("SELECT COUNT(*) FROM runs").pluck().get() : db.prepare("SELECT COUNT(*) FROM runs WHERE job = ?").pluck().get(name)) as number;

describe("history pruning", () => {
  let dir: string, state: StateStore, db: Db, close: () => void;
  beforeEach(() => void ({ dir, state, db, close } = openHistoryState("history")));
  afterEach(() => close());

  it("prunes runs past maxRunsPerJob, oldest first, in slices of at most the batch size with a yield after each", async () => {
    addRuns(db, "busy", 95, { startAt: NOW - 95_000, stepMs: 1000 });
    addRuns(db, "quiet", 5, { startAt: NOW - 5000, stepMs: 1000 });
    const newest = idsOf(db, "busy").slice(-10);
    const sizes: number[] = [];
    let before = count(db);
    const pruner = new HistoryPruner({
      runs: state.runs, logger: silentLogger(), limits: () => ({ maxAgeMs: 90 * DAY, maxRunsPerJob: 10 }),
      jobs: () => ["busy", "quiet"], now: () => NOW, batch: 7,
      yieldFn: async () => {
        const after = count(db);
        sizes.push(before - after);
        before = after;
      },
    });
    const result = await pruner.prune();
    expect(idsOf(db, "busy")).toEqual(newest);
    expect(count(db, "quiet")).toBe(5);
    expect(result.deleted).toBe(85);
    expect(sizes.length).toBe(result.slices);
    expect(Math.max(...sizes)).toBe(7);
    // 85 rows at 7 a slice: 13 slices for "busy", at least one more for "quiet" and for the age pass.
    expect(sizes.filter((n) => n > 0)).toHaveLength(13);
  });

  it("leaves the event loop free after each slice for at least as long as the slice held it", async () => {
    for (let j = 0; j < 4; j++) addRuns(db, `big${j}`, 3000, { startAt: NOW - 3_000_000, stepMs: 1000 });
    // Each statement the pruner runs is timed from outside: when it started and when it ended.
    const spans: { start: number; end: number }[] = [];
    const timed = new Proxy(state.runs, {
      get(target, key) {
        const v = Reflect.get(target, key) as unknown;
        if (typeof v !== "function" || !String(key).startsWith("prune")) return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        return (...args: unknown[]) => {
          const start = performance.now();
          const out = (v as (...a: unknown[]) => unknown).apply(target, args);
          spans.push({ start, end: performance.now() });
          return out;
        };
      },
    });
    const pruner = new HistoryPruner({ runs: timed, logger: silentLogger(), limits: () => ({ maxAgeMs: 90 * DAY, maxRunsPerJob: 100 }), jobs: () => [], now: () => NOW, batch: 1000 });
    expect((await pruner.prune()).deleted).toBe(4 * 2900);
    expect(spans.length).toBeGreaterThan(10);
    for (let i = 1; i < spans.length; i++) {
      const held = spans[i - 1].end - spans[i - 1].start;
      expect(spans[i].start - spans[i - 1].end + 1, `after slice ${i - 1}`).toBeGreaterThanOrEqual(held);
    }
  });

  it("prunes runs older than maxAge but keeps each configured job's last run and last success, and runs still going", async () => {
    addRuns(db, "old-ok", 1, { startAt: NOW - 200 * DAY, stepMs: 1 });
    addRuns(db, "old-ok", 30, { startAt: NOW - 150 * DAY, stepMs: DAY, status: "failed" });
    addRuns(db, "old-ok", 10, { startAt: NOW - 10 * DAY, stepMs: DAY, status: "failed" });
    addRuns(db, "stuck", 1, { startAt: NOW - 100 * DAY, stepMs: 1, status: "running" });
    addRuns(db, "stuck", 1, { startAt: NOW - 99 * DAY, stepMs: 1 });
    addRuns(db, "gone", 20, { startAt: NOW - 100 * DAY - 1000, stepMs: DAY });
    const [oldSuccess] = idsOf(db, "old-ok");
    const recent = idsOf(db, "old-ok").slice(-10);
    const stuck = idsOf(db, "stuck");
    const pruner = new HistoryPruner({
      runs: state.runs, logger: silentLogger(), limits: () => ({ maxAgeMs: 90 * DAY, maxRunsPerJob: 10_000 }),
      jobs: () => ["old-ok", "stuck"], now: () => NOW, batch: 4,
    });
    const result = await pruner.prune();
    expect(idsOf(db, "old-ok")).toEqual([oldSuccess, ...recent]);
    // "stuck": its run marked running is kept, and so is its last run, a success 99 days ago.
    expect(idsOf(db, "stuck")).toEqual(stuck);
    // A job no longer configured keeps nothing older than 90 days (11 of its 20 runs were).
    expect(idsOf(db, "gone")).toHaveLength(20 - 11);
    expect(result.deleted).toBe(30 + 11);
    const status = collectStatus(config(["old-ok"], dir), state, { now: NOW, since: NOW - DAY });
    expect(status.jobs[0].lastSuccessAt).toBe(NOW - 200 * DAY + 500);
  });

  it("brings one job's history within both limits at once after a one-off sync, leaving other jobs alone", () => {
    addRuns(db, "cron-job", 1, { startAt: NOW - 300 * DAY, stepMs: 1 }); // its last success, long ago
    addRuns(db, "cron-job", 700, { startAt: NOW - 100 * DAY, stepMs: 3_600_000, status: "failed" });
    addRuns(db, "cron-job", 1, { startAt: NOW - 1000, stepMs: 1, status: "running" });
    addRuns(db, "other", 50, { startAt: NOW - 200 * DAY, stepMs: 1000 });
    const ids = idsOf(db, "cron-job");
    const deleted = pruneJobHistory(state.runs, "cron-job", { maxAgeMs: 90 * DAY, maxRunsPerJob: 200 }, NOW, 64);
    // The newest 200 (the run still going among them) plus its last success.
    expect(idsOf(db, "cron-job")).toEqual([ids[0], ...ids.slice(-200)]);
    expect(deleted).toBe(ids.length - 201);
    // Then by age: of those, the ones started more than 75 days ago go too (not its last success).
    const started = (id: number) => db.prepare("SELECT started_at FROM runs WHERE id = ?").pluck().get(id) as number;
    const young = ids.slice(-200).filter((id) => started(id) >= NOW - 75 * DAY);
    expect(young.length).toBeGreaterThan(0);
    expect(young.length).toBeLessThan(200);
    pruneJobHistory(state.runs, "cron-job", { maxAgeMs: 75 * DAY, maxRunsPerJob: 10_000 }, NOW, 64);
    expect(idsOf(db, "cron-job")).toEqual([ids[0], ...young]);
    expect(count(db, "other")).toBe(50);
  });

  it("stops pruning at the next slice when asked to stop", async () => {
    addRuns(db, "busy", 100, { startAt: NOW - 100_000, stepMs: 1000 });
    let pruner: HistoryPruner | undefined = undefined;
    let slices = 0;
    let stopping: Promise<void> | undefined;
    pruner = new HistoryPruner({
      runs: state.runs, logger: silentLogger(), limits: () => ({ maxAgeMs: 90 * DAY, maxRunsPerJob: 10 }),
      jobs: () => ["busy"], now: () => NOW, batch: 10,
      yieldFn: async () => {
        if (++slices === 3) stopping = pruner!.stop();
      },
    });
    const result = await pruner.prune();
    await stopping;
    expect(result.slices).toBe(3);
    expect(count(db, "busy")).toBe(70);
  });
});
