import type { Db } from "./db.js";

/**
 * Remembers, per job, the fingerprint of the last local scan that matched the state row for row
 * in a trusted run, with the state's generation then (migrations/003). A run whose scan has the
 * same fingerprint while the generation has not moved has nothing to do, and need not read the
 * state at all.
 */
export class UnchangedScanStore {
  private readonly selectGeneration;
  private readonly selectMemo;
  private readonly upsert;
  private readonly remove;

  constructor(db: Db) {
    this.selectGeneration = db.prepare("SELECT generation FROM entry_generations WHERE job = ?").pluck();
    this.selectMemo = db.prepare("SELECT generation, fingerprint FROM unchanged_scans WHERE job = ?");
    this.upsert = db.prepare("INSERT OR REPLACE INTO unchanged_scans (job, generation, fingerprint) VALUES (?, ?, ?)");
    this.remove = db.prepare("DELETE FROM unchanged_scans WHERE job = ?");
  }

  /** How many writes the job's state rows have seen (0: none yet). */
  generation(job: string): number {
    return (this.selectGeneration.get(job) as number | undefined) ?? 0;
  }

  /** The remembered fingerprint, if it was taken at the state's current generation. */
  current(job: string): string | undefined {
    const memo = this.selectMemo.get(job) as { generation: number; fingerprint: string } | undefined;
    return memo && memo.generation === this.generation(job) ? memo.fingerprint : undefined;
  }

  remember(job: string, generation: number, fingerprint: string): void {
    this.upsert.run(job, generation, fingerprint);
  }

  forget(job: string): void {
    this.remove.run(job);
  }
}
