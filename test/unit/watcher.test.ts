import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { watchJob, type JobWatcher } from "../../src/agent/watcher.js";
import { sleep, waitFor } from "../helpers/wait.js";
import type { AgentConfig, JobConfig } from "../../src/config/types.js";
import { silentLogger } from "../../src/log.js";

const work = mkdtempSync(join(tmpdir(), "ftps-sync-watch-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
function jobOn(local: string): JobConfig {
  return {
    name: "w", file: join(local, "..", "w.json"), remote: "srv", remotePath: "/w", local, direction: "upload",
    watch: true, watchDebounceMs: 50, delete: "never", onConflict: "keep-both", include: [], exclude: [],
    maxDelete: { kind: "percent", value: 50 }, verify: "size", followSymlinks: false, trustRemote: false,
    retries: { attempts: 1, initialDelayMs: 10, maxDelayMs: 10 },
  };
}

const open: JobWatcher[] = [];
afterEach(async () => {
  for (const w of open.splice(0)) await w.close();
});

/** Starts a watcher and records its run requests. */
async function watched(local: string, agent?: AgentConfig) {
  const requests: string[] = [];
  const w = watchJob(jobOn(local), (_job, trigger) => requests.push(trigger), silentLogger(), { agent, rootCheckMs: 100 })!;
  open.push(w);
  await sleep(300); // the watches are set up in the background
  return requests;
}

describe("the watch trigger", () => {
  it("watches a folder that was deleted and made again, and requests a run for what it holds", async () => {
    const local = join(work, "replaced");
    mkdirSync(local);
    const requests = await watched(local);
    writeFileSync(join(local, "before.txt"), "1");
    await waitFor("a run for before.txt", () => requests.length >= 1, 8000, 25);

    rmSync(local, { recursive: true });
    await sleep(400);
    mkdirSync(local);
    await sleep(400);
    const settled = requests.length;
    writeFileSync(join(local, "after.txt"), "2");
    await waitFor("a run for after.txt, in the new folder", () => requests.length > settled, 8000, 25);
    expect(requests.every((t) => t === "watch")).toBe(true);
  });

  it("watches a folder that was missing when the agent started, once it appears", async () => {
    const local = join(work, "late");
    const requests = await watched(local);
    mkdirSync(local);
    await waitFor("a run when the folder appears", () => requests.length >= 1, 8000, 25);
    await sleep(400);
    const settled = requests.length;
    writeFileSync(join(local, "new.txt"), "1");
    await waitFor("a run for new.txt", () => requests.length > settled, 8000, 25);
  });

  it("ignores the agent's own files in the job's folder (writing the state would trigger runs without end)", async () => {
    const local = join(work, "own");
    mkdirSync(join(local, "state"), { recursive: true });
    mkdirSync(join(local, "jobs"));
    const agent = {
      configPath: join(local, "agent.config.json"), baseDir: local, stateDir: join(local, "state"), jobsDir: join(local, "jobs"),
      log: { level: "info", file: join(local, "agent.log") }, maxConcurrentJobs: 1, shutdownGraceSeconds: 1, remotes: {}, jobs: {},
    } as AgentConfig;
    const requests = await watched(local, agent);
    writeFileSync(join(local, "state", "ftps-sync.db-wal"), "state");
    writeFileSync(join(local, "agent-2026-12-05.log"), "a log line\n");
    writeFileSync(join(local, "agent.config.json"), "{}");
    await sleep(1200);
    expect(requests).toEqual([]);
    writeFileSync(join(local, "data.txt"), "the job's data");
    await waitFor("a run for data.txt", () => requests.length >= 1, 8000, 25);
  });
});
