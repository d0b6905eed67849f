// The watch trigger and the versions folder (backup.dir): a run moving old copies into it must
// not request another run (a watched two-way or download job would trigger itself).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect, it } from "vitest";
import { watchJob } from "../../src/agent/watcher.js";
import type { JobConfig } from "../../src/config/types.js";
import { silentLogger } from "../../src/log.js";

const work = mkdtempSync(join(tmpdir(), "ftps-sync-watch-versions-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it("a change in the versions folder requests no run; one elsewhere does", async () => {
  const local = join(work, "job");
  mkdirSync(join(local, ".versions"), { recursive: true });
  const job: JobConfig = {
    name: "w", file: join(work, "w.json"), remote: "srv", remotePath: "/w", local, direction: "two-way",
    watch: true, watchDebounceMs: 50, delete: "never", onConflict: "keep-both", include: [], exclude: [],
    maxDelete: { kind: "percent", value: 50 }, verify: "size", followSymlinks: false, trustRemote: false,
    retries: { attempts: 1, initialDelayMs: 10, maxDelayMs: 10 }, backup: { dir: ".versions", keep: { kind: "runs", count: 3 } },
  };
  const requests: string[] = [];
  const w = watchJob(job, (_job, trigger) => requests.push(trigger), silentLogger(), { rootCheckMs: 100 })!;
  try {
    await sleep(300); // the watches are set up in the background
    mkdirSync(join(local, ".versions", "2026-12-05T030000Z", "docs"), { recursive: true });
    writeFileSync(join(local, ".versions", "2026-12-05T030000Z", "docs", "a.txt"), "an old copy");
    await sleep(1200);
    expect(requests).toEqual([]);
    writeFileSync(join(local, "b.txt"), "the job's data");
    for (const end = Date.now() + 8000; requests.length === 0 && Date.now() < end; ) await sleep(25);
    expect(requests.length).toBeGreaterThanOrEqual(1);
  } finally {
    await w.close();
  }
});
