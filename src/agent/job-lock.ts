import type { JobLockStore, StoredLock } from "../state/job-locks.js";
import { pidAlive } from "./pid.js";

export interface LockHolder {
  pid: number;
  acquiredAt: number;
  trigger?: string;
}

export type LockResult = { ok: true } | { ok: false; holder: LockHolder };

const holderOf = (l: StoredLock): LockHolder => ({ pid: l.pid, acquiredAt: l.acquiredAt, trigger: l.trigger });

/**
 * One run of a job at a time, across processes (daemon, `ftps-sync sync`, a second daemon).
 * The lock is a row in the state store taken inside an IMMEDIATE transaction, so two processes
 * cannot both see it free. A lock whose pid is dead (kill -9, power loss) is taken over.
 */
export class JobLocks {
  constructor(
    private readonly store: JobLockStore,
    private readonly isAlive: (pid: number) => boolean = pidAlive,
    private readonly pid = process.pid,
  ) {}

  /** For use inside a transaction that is already IMMEDIATE (see RunQueue.claim). */
  acquireInTx(job: string, trigger?: string): LockResult {
    const held = this.store.get(job);
    if (held && held.pid !== this.pid && this.isAlive(held.pid)) return { ok: false, holder: holderOf(held) };
    this.store.put({ job, pid: this.pid, acquiredAt: Date.now(), trigger });
    return { ok: true };
  }

  tryAcquire(job: string, trigger?: string): LockResult {
    return this.store.atomically(() => this.acquireInTx(job, trigger));
  }

  /** Releases only our own lock: a lock taken over by another process stays theirs. */
  release(job: string): void {
    this.store.remove(job, this.pid);
  }

  /** The live holder of a job's lock, if any. */
  holder(job: string): LockHolder | undefined {
    const held = this.store.get(job);
    if (!held || !this.isAlive(held.pid)) return undefined;
    return holderOf(held);
  }

  /** The live holders of every job's lock, in one read (status for hundreds of jobs). */
  holders(): Map<string, LockHolder> {
    return new Map(this.store.all().filter((l) => this.isAlive(l.pid)).map((l) => [l.job, holderOf(l)]));
  }

  /** Removes locks left by dead processes; returns their jobs (their runs were cut short). */
  clearStale(): string[] {
    return this.store.atomically(() => {
      const stale = this.store.all().filter((l) => l.pid !== this.pid && !this.isAlive(l.pid));
      for (const l of stale) this.store.remove(l.job, l.pid);
      return stale.map((l) => l.job);
    });
  }
}
