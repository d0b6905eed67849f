import type { Db } from "./db.js";

export interface RememberedRun {
  fingerprint: string;
  /** A listing run's estimated STAT reply length per folder (estimateStatReplies), from its listing. */
  statEstimates?: Map<string, number>;
}

/**
 * Remembers, per job, the fingerprint of the last local scan that matched the state row for row
 * in a trusted run, with the state's generation then (migrations/003). A run whose scan has the
 * same fingerprint while the generation has not moved has nothing to do, and need not read the
 * state at all. A listing run that found nothing to do keeps its memo here too: both sides'
 * fingerprints (src/plan/settled-run.ts) and its STAT reply estimates (migrations/005).
 */
export class UnchangedScanStore {
  private readonly selectGeneration;
  private readonly selectMemo;
  private readonly upsert;
  private readonly remove;

  constructor(db: Db) {
    this.selectGeneration = db.prepare("SELECT generation FROM entry_generations WHERE job = ?").pluck();
    this.selectMemo = db.prepare("SELECT generation, fingerprint, stat_estimates FROM unchanged_scans WHERE job = ?");
    this.upsert = db.prepare("INSERT OR REPLACE INTO unchanged_scans (job, generation, fingerprint, stat_estimates) VALUES (?, ?, ?, ?)");
    this.remove = db.prepare("DELETE FROM unchanged_scans WHERE job = ?");
  }

  /** How many writes the job's state rows have seen (0: none yet). */
  generation(job: string): number {
    return (this.selectGeneration.get(job) as number | undefined) ?? 0;
  }

  /** The remembered fingerprint (and STAT reply estimates), if taken at the state's current generation. */
  current(job: string): RememberedRun | undefined {
    const memo = this.selectMemo.get(job) as { generation: number; fingerprint: string; stat_estimates: string | null } | undefined;
    if (!memo || memo.generation !== this.generation(job)) return undefined;
    const statEstimates = memo.stat_estimates === null ? undefined : new Map(JSON.parse(memo.stat_estimates) as [string, number][]);
    return { fingerprint: memo.fingerprint, statEstimates };
  }

  remember(job: string, generation: number, fingerprint: string, statEstimates?: Map<string, number>): void {
    this.upsert.run(job, generation, fingerprint, statEstimates ? JSON.stringify([...statEstimates]) : null);
  }

  forget(job: string): void {
    this.remove.run(job);
  }
}
