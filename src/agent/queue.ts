import type { QueuedRun, RunQueueStore } from "../state/run-queue.js";
import type { JobLocks, LockResult } from "./job-lock.js";

export type PendingRun = QueuedRun;

/**
 * The durable run queue: per job at most one pending run (further requests fold into it) and,
 * through JobLocks, at most one in progress. Triggers only call request(); the runner claims.
 * Kept in the state store so queued work survives a restart or a crash.
 */
export class RunQueue {
  constructor(private readonly store: RunQueueStore) {}

  /** Asks for a run of `job`. Returns false when it folded into a run already pending. */
  request(job: string, trigger: string, now = Date.now()): boolean {
    const existing = this.store.get(job);
    if (existing) {
      const triggers = new Set(existing.triggers);
      triggers.add(trigger);
      this.store.setTriggers(job, [...triggers], now);
      return false;
    }
    this.store.add(job, [trigger], now);
    return true;
  }

  /** Oldest request first. */
  pending(): PendingRun[] {
    return this.store.list();
  }

  isPending(job: string): boolean {
    return this.store.has(job);
  }

  depth(): number {
    return this.store.count();
  }

  remove(job: string): void {
    this.store.remove(job);
  }

  /**
   * Atomically takes the job's lock and its pending request, so that two daemons sharing a
   * state directory can never both start it. Returns the folded triggers, or why not.
   */
  claim(job: string, locks: JobLocks): { ok: true; triggers: string[] } | Extract<LockResult, { ok: false }> | { ok: false; holder?: undefined } {
    return this.store.atomically(() => {
      const queued = this.store.get(job);
      if (!queued) return { ok: false as const };
      const lock = locks.acquireInTx(job, queued.triggers.join(","));
      if (!lock.ok) return lock;
      this.store.remove(job);
      return { ok: true as const, triggers: queued.triggers };
    });
  }
}
