import { openStateDb, type Db } from "./db.js";
import { CapabilityStore } from "./capabilities.js";
import { EntryStore } from "./entries.js";
import { PartialStore } from "./partials.js";
import { RunStore } from "./runs.js";
import { UnchangedScanStore } from "./unchanged-scans.js";

/** Everything the agent keeps between runs, behind one handle. */
export interface StateStore {
  db: Db;
  entries: EntryStore;
  runs: RunStore;
  capabilities: CapabilityStore;
  partials: PartialStore;
  unchangedScans: UnchangedScanStore;
  close(): void;
}

export function openState(stateDir: string): StateStore {
  const db = openStateDb(stateDir);
  return {
    db,
    entries: new EntryStore(db),
    runs: new RunStore(db),
    capabilities: new CapabilityStore(db),
    partials: new PartialStore(db),
    unchangedScans: new UnchangedScanStore(db),
    close: () => db.close(),
  };
}
