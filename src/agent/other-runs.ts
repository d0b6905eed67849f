import type { FedRun } from "../state/run-feed.js";
import type { StateStore } from "../state/index.js";
import { pidAlive } from "./pid.js";

/**
 * Runs that other processes record in the state while the agent runs (`ftps-sync sync` from a
 * shell or cron), so that /metrics counts them as `status` and /readyz already do. An agent counts
 * its own runs as they end; these are read from the runs table at each scrape, by id (the primary
 * key): the rows after the newest one seen, and the few that were still running then.
 */
export class OtherProcessRuns {
  private newestSeen: number;
  /** Runs of other live processes still in progress at the last look: counted once they end. */
  private readonly inProgress: Set<number>;

  constructor(
    private readonly state: StateStore,
    private readonly ownPid = process.pid,
    private readonly isAlive: (pid: number) => boolean = pidAlive,
  ) {
    // History before the agent started is not counted (counters start at zero with the process),
    // but a CLI run already under way is, once it ends. Rows left "running" by a process that
    // died are not: the agent's start-up marks them interrupted.
    this.inProgress = new Set(state.runFeed.running().filter((r) => r.pid !== null && isAlive(r.pid)).map((r) => r.id));
    this.newestSeen = state.runFeed.newestId();
  }

  /** The runs of other processes that ended since the last call (not those of any agent). */
  ended(): FedRun[] {
    const agents = new Set(this.state.agents.all().map((a) => a.pid));
    agents.add(this.ownPid);
    const rows = this.state.runFeed.runsAfter(this.newestSeen, [...this.inProgress]);
    const ended: FedRun[] = [];
    for (const r of rows) {
      this.newestSeen = Math.max(this.newestSeen, r.id);
      this.inProgress.delete(r.id);
      if (r.pid !== null && agents.has(r.pid)) continue;
      if (r.status === "running") {
        // A process that died mid-run leaves its row "running" until an agent starts and marks
        // it interrupted: it is not waited for.
        if (r.pid !== null && this.isAlive(r.pid)) this.inProgress.add(r.id);
        continue;
      }
      ended.push(r);
    }
    return ended;
  }
}
