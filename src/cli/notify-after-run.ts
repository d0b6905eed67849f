/**
 * `sync`'s side of notifications and expected arrivals: once its run is recorded, the same steps
 * as the agent's (src/agent/after-run.ts); then, before the command exits, a bounded wait for the
 * deliveries (a command-line run has no later moment to send them in).
 */
import { afterRun } from "../agent/after-run.js";
import { Notifier } from "../agent/notify/notifier.js";
import type { RunSummary } from "../sync/run-job.js";
import type { AppContext } from "./context.js";

/** The longest `sync` waits for its notifications after its output; those still going on are abandoned (and logged). */
export const CLI_NOTIFY_WAIT_MS = 30_000;

export function notifyAfterCliRun(app: AppContext, jobName: string, startedAt: number) {
  const job = app.config.jobs[jobName];
  const notifier = new Notifier({ logger: app.logger });
  return {
    runEnded(summary?: RunSummary): void {
      if (job && !summary?.dryRun) afterRun({ state: app.state(), logger: app.logger, notifier }, job, startedAt, summary);
    },
    async delivered(): Promise<void> {
      const left = await notifier.settle(CLI_NOTIFY_WAIT_MS);
      if (left > 0) app.logger.warn(`${left} notification(s) not delivered within ${CLI_NOTIFY_WAIT_MS / 1000} s; given up`, { job: jobName });
    },
  };
}
