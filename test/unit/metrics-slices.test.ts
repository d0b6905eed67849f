import { describe, expect, it } from "vitest";
import { AgentMetrics } from "../../src/agent/metrics.js";
import { openState } from "../../src/state/index.js";
import { testTempDir } from "../helpers/temp-dir.js";

/** The agent's own lines: the process and Node.js metrics change from one reading to the next. */
const agentsOwn = (text: string) => text.split("\n").filter((l) => !/^(# (HELP|TYPE) )?(process_|nodejs_)/.test(l));

describe("the agent's /metrics written a metric at a time", () => {
  it("is the text prom-client writes in one go, and lets the event loop run between metrics", async () => {
    const state = openState(testTempDir("metrics-slices"));
    try {
      const jobs = Array.from({ length: 40 }, (_, i) => `partner-${i}`);
      const metrics = new AgentMetrics(state, () => jobs);
      const counts = { uploaded: 2, downloaded: 0, deletedLocal: 0, deletedRemote: 0, conflicts: 0, failed: 0, bytes: 4096 };
      metrics.runFinished({ job: "partner-3", status: "ok", durationMs: 1500, dryRun: false, plan: [], deferred: 0, skippedDeletes: 0, errors: [], warnings: [], ...counts });
      metrics.scheduleDelay(0.7);
      let turns = 0;
      let going = true;
      const tick = () => {
        if (!going) return;
        turns++;
        setImmediate(tick);
      };
      setImmediate(tick);
      const sliced = await metrics.scrape();
      going = false;
      const inOneGo = await metrics.registry.metrics();
      expect(agentsOwn(sliced)).toEqual(agentsOwn(inOneGo));
      expect(sliced).toContain('ftps_sync_files_total{job="partner-3",kind="uploaded"} 2');
      expect(sliced.endsWith("\n")).toBe(true);
      // The other work of the event loop went on between metrics, not only once.
      expect(turns).toBeGreaterThanOrEqual(metrics.registry.getMetricsAsArray().length - 2);
    } finally {
      state.close();
    }
  });
});
