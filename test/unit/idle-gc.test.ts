import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { fullCollection, IdleCollector } from "../../src/agent/idle-gc.js";
import { Runner } from "../../src/agent/runner.js";
import type { AgentConfig, JobConfig } from "../../src/config/types.js";
import { silentLogger } from "../../src/log.js";
import { openState } from "../../src/state/index.js";
import type { RunSummary } from "../../src/sync/run-job.js";

describe("the agent's collection of its runs' garbage once idle", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("collects once the last of its runs has ended and none started for the quiet time, and once more later, then not again", () => {
    vi.useFakeTimers();
    const collect = vi.fn();
    const c = new IdleCollector({ collect, quietMs: 2000, shrinkMs: 6000 });
    c.runStarted();
    c.runStarted();
    c.runEnded();
    vi.advanceTimersByTime(10_000);
    expect(collect).not.toHaveBeenCalled(); // one run still going
    c.runEnded();
    vi.advanceTimersByTime(1999);
    expect(collect).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(collect).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(6000);
    expect(collect).toHaveBeenCalledTimes(2);
    vi.advanceTimersByTime(60_000);
    expect(collect).toHaveBeenCalledTimes(2); // idle: nothing more without a run
  });

  it("waits again when a run starts within the quiet time, and never collects while a run goes on", () => {
    vi.useFakeTimers();
    const collect = vi.fn();
    const c = new IdleCollector({ collect, quietMs: 2000, shrinkMs: 6000 });
    c.runStarted();
    c.runEnded();
    vi.advanceTimersByTime(1500);
    c.runStarted(); // the next watch event's run
    vi.advanceTimersByTime(30_000);
    expect(collect).not.toHaveBeenCalled();
    c.runEnded();
    vi.advanceTimersByTime(2000);
    expect(collect).toHaveBeenCalledTimes(1);
    c.runStarted(); // before the second collection
    vi.advanceTimersByTime(30_000);
    expect(collect).toHaveBeenCalledTimes(1);
    c.stop();
  });

  it("reports each collection's time and heap sizes", () => {
    vi.useFakeTimers();
    const onCollected = vi.fn();
    const c = new IdleCollector({ collect: () => undefined, quietMs: 10, shrinkMs: 10, onCollected });
    c.runStarted();
    c.runEnded();
    vi.advanceTimersByTime(20);
    expect(onCollected).toHaveBeenCalledTimes(2);
    const r = onCollected.mock.calls[0][0];
    expect(r.heapBefore).toBeGreaterThan(0);
    expect(r.heapAfter).toBeGreaterThan(0);
    expect(r.ms).toBeGreaterThanOrEqual(0);
  });

  it("gets V8's full collection without the process being started with --expose-gc, and leaves no gc in the global scope", async () => {
    const gc = fullCollection();
    expect(gc).toBeTypeOf("function");
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
    let garbage: object | undefined = { big: new Array(10_000).fill("x") };
    const ref = new WeakRef(garbage);
    garbage = undefined;
    // A WeakRef's target is kept to the end of the current job: collected in a later one.
    await new Promise((r) => setImmediate(r));
    gc!();
    expect(ref.deref()).toBeUndefined();
  });

  it("is told by the runner of each run's start and end", async () => {
    const dir = mkdtempSync(join(tmpdir(), "ftps-sync-gc-"));
    const state = openState(dir);
    try {
      const events: string[] = [];
      const collector = { runStarted: () => events.push("start"), runEnded: () => events.push("end"), stop: () => events.push("stop") } as unknown as IdleCollector;
      const job = {
        name: "a", file: "/jobs/a.json", remote: "srv", remotePath: "/x", local: "/tmp/x", direction: "upload", watch: false, watchDebounceMs: 1000,
        delete: "never", onConflict: "keep-both", include: [], exclude: [], maxDelete: { kind: "percent", value: 50 }, verify: "size",
        followSymlinks: false, followRootSymlink: false, trustRemote: false, retries: { attempts: 1, initialDelayMs: 1, maxDelayMs: 1 },
      } as JobConfig;
      const cfg = { configPath: "/a.json", baseDir: "/", stateDir: "/s", jobsDir: "/jobs", log: { level: "info" }, maxConcurrentJobs: 2, shutdownGraceSeconds: 1, remotes: {}, jobs: { a: job } } as AgentConfig;
      let ended!: () => void;
      const done = new Promise<void>((r) => (ended = r));
      const run = async (): Promise<RunSummary> => {
        events.push("running");
        setTimeout(ended, 20);
        return { job: "a", status: "ok", durationMs: 1, dryRun: false, plan: [], deferred: 0, skippedDeletes: 0, errors: [], warnings: [], uploaded: 0, downloaded: 0, deletedLocal: 0, deletedRemote: 0, conflicts: 0, failed: 0, bytes: 0 };
      };
      const runner = new Runner({ state, logger: silentLogger(), config: () => cfg, run, tickMs: 20, collector });
      runner.request("a", "watch");
      await done;
      await runner.stop(1000);
      expect(events).toEqual(["start", "running", "end", "stop"]);
    } finally {
      state.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
