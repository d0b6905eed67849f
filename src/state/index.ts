import { openStateDb } from "./db.js";
import { SqliteAgentStore, type AgentStore } from "./agents.js";
import { ArrivalStore } from "./arrivals.js";
import { CapabilityStore } from "./capabilities.js";
import { EntryStore } from "./entries.js";
import { SqliteJobLockStore, type JobLockStore } from "./job-locks.js";
import { PartialStore } from "./partials.js";
import { SqliteRunQueueStore, type RunQueueStore } from "./run-queue.js";
import { RunStore } from "./runs.js";
import { RunFeedStore } from "./run-feed.js";
import { UnchangedScanStore } from "./unchanged-scans.js";
import { WatchStateStore } from "./watch-states.js";

/**
 * Everything the agent keeps between runs, behind one handle. The database itself stays
 * inside src/state/: the rest of the code uses these stores (test/unit/state-sql-boundary.test.ts).
 */
export interface StateStore {
  entries: EntryStore;
  runs: RunStore;
  capabilities: CapabilityStore;
  partials: PartialStore;
  unchangedScans: UnchangedScanStore;
  runQueue: RunQueueStore;
  jobLocks: JobLockStore;
  agents: AgentStore;
  arrivals: ArrivalStore;
  watchStates: WatchStateStore;
  /** The runs table as /metrics reads it at each scrape. */
  runFeed: RunFeedStore;
  close(): void;
}

export function openState(stateDir: string): StateStore {
  const db = openStateDb(stateDir);
  return {
    entries: new EntryStore(db),
    runs: new RunStore(db),
    capabilities: new CapabilityStore(db),
    partials: new PartialStore(db),
    unchangedScans: new UnchangedScanStore(db),
    runQueue: new SqliteRunQueueStore(db),
    jobLocks: new SqliteJobLockStore(db),
    agents: new SqliteAgentStore(db),
    arrivals: new ArrivalStore(db),
    watchStates: new WatchStateStore(db),
    runFeed: new RunFeedStore(db),
    close: () => db.close(),
  };
}
