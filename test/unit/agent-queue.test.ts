import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
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
    const q = new RunQueue(a.db);
    expect(q.request("j", "watch", 1)).toBe(true);
    for (let i = 0; i < 200; i++) q.request("j", i % 2 ? "watch" : "schedule", 2 + i);
    expect(q.pending()).toEqual([{ job: "j", triggers: ["watch", "schedule"], requestedAt: 1 }]);
    expect(q.depth()).toBe(1);
  });

  it("lets only one process claim a job; a new request while it runs stays pending", () => {
    const alive = () => true;
    const qa = new RunQueue(a.db);
    const qb = new RunQueue(b.db);
    const la = new JobLocks(a.db, alive, 1001);
    const lb = new JobLocks(b.db, alive, 1002);
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
    new JobLocks(a.db, isAlive, 4242).tryAcquire("j");
    const mine = new JobLocks(b.db, isAlive, 5000);
    expect(mine.holder("j")).toBeUndefined();
    expect(mine.clearStale()).toEqual(["j"]);
    expect(mine.tryAcquire("j")).toEqual({ ok: true });
    // Releasing someone else's lock does nothing.
    new JobLocks(a.db, isAlive, 4242).release("j");
    expect(mine.holder("j")?.pid).toBe(5000);
  });

  it("refuses a live holder", () => {
    new JobLocks(a.db, () => true, 1).tryAcquire("j");
    const r = new JobLocks(b.db, () => true, 2).tryAcquire("j");
    expect(r).toMatchObject({ ok: false, holder: { pid: 1 } });
  });
});
