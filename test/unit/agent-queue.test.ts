import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { hostname } from "node:os";
import { AgentRegistry, STALE_AFTER_MS } from "../../src/agent/agents.js";
import { JobLocks } from "../../src/agent/job-lock.js";
import { RunQueue } from "../../src/agent/queue.js";
import { openState, type StateStore } from "../../src/state/index.js";

describe("run queue and job locks", () => {
  let dir: string;
  let a: StateStore;
  let b: StateStore;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftps-sync-q-"));
    // Two handles on one database: what two processes sharing a stateDir see.
    a = openState(dir);
    b = openState(dir);
  });
  afterEach(() => {
    a.close();
    b.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("folds further requests into the one pending run", () => {
    const q = new RunQueue(a.runQueue);
    expect(q.request("j", "watch", 1)).toBe(true);
    for (let i = 0; i < 200; i++) q.request("j", i % 2 ? "watch" : "schedule", 2 + i);
    expect(q.pending()).toEqual([{ job: "j", triggers: ["watch", "schedule"], requestedAt: 1 }]);
    expect(q.depth()).toBe(1);
  });

  it("lets only one process claim a job; a new request while it runs stays pending", () => {
    const alive = () => true;
    const qa = new RunQueue(a.runQueue);
    const qb = new RunQueue(b.runQueue);
    const la = new JobLocks(a.jobLocks, alive, 1001);
    const lb = new JobLocks(b.jobLocks, alive, 1002);
    qa.request("j", "watch");
    expect(qa.claim("j", la)).toEqual({ ok: true, triggers: ["watch"] });
    qb.request("j", "schedule");
    const second = qb.claim("j", lb);
    expect(second.ok).toBe(false);
    expect(second.ok === false && second.holder?.pid).toBe(1001);
    expect(qb.isPending("j")).toBe(true);
    la.release("j");
    expect(qb.claim("j", lb)).toEqual({ ok: true, triggers: ["schedule"] });
    expect(lb.holder("j")?.pid).toBe(1002);
  });

  it("takes over a lock whose process is dead, and reports it as stale", () => {
    const dead = new Set([4242]);
    const isAlive = (pid: number) => !dead.has(pid);
    new JobLocks(a.jobLocks, isAlive, 4242).tryAcquire("j");
    const mine = new JobLocks(b.jobLocks, isAlive, 5000);
    expect(mine.holder("j")).toBeUndefined();
    expect(mine.clearStale()).toEqual(["j"]);
    expect(mine.tryAcquire("j")).toEqual({ ok: true });
    // Releasing someone else's lock does nothing.
    new JobLocks(a.jobLocks, isAlive, 4242).release("j");
    expect(mine.holder("j")?.pid).toBe(5000);
  });

  it("refuses a live holder", () => {
    new JobLocks(a.jobLocks, () => true, 1).tryAcquire("j");
    const r = new JobLocks(b.jobLocks, () => true, 2).tryAcquire("j");
    expect(r).toMatchObject({ ok: false, holder: { pid: 1 } });
  });

  it("lists as live the agents whose process is alive and whose heartbeat is recent, to any process", () => {
    const mine = new AgentRegistry(a.agents);
    mine.register(11, 1000);
    mine.register(12, 1000);
    mine.heartbeat(12, 1000 + STALE_AFTER_MS);
    const seen = new AgentRegistry(b.agents);
    expect(seen.live(1000 + STALE_AFTER_MS, () => true)).toEqual([{ pid: 12, host: hostname(), startedAt: 1000, heartbeatAt: 1000 + STALE_AFTER_MS }]);
    expect(seen.live(1000 + STALE_AFTER_MS - 1, () => true).map((r) => r.pid)).toEqual([11, 12]);
    expect(seen.live(1000, (pid) => pid !== 12).map((r) => r.pid)).toEqual([11]);
    mine.register(11, 5000); // a pid used again: a new agent, not the old one
    expect(seen.live(5000, () => true)).toContainEqual({ pid: 11, host: hostname(), startedAt: 5000, heartbeatAt: 5000 });
    mine.unregister(11);
    mine.unregister(12);
    expect(seen.live(5000, () => true)).toEqual([]);
  });
});
