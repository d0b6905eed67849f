// The long mode of the fault suite, run by `npm run test:faults -- --iterations 100` (scripts/
// test-faults.mjs). Skipped unless FTPS_SYNC_FAULTS_LONG is set. Writes its results as JSON to
// FTPS_SYNC_FAULTS_REPORT for the runner's table.
import { writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireServers } from "../servers/real-servers.js";
import { startRig, type Rig } from "./harness.js";
import { cutsBigFile, cutsManyFiles, sigkill, type ScenarioResult } from "./scenarios.js";

const LONG = !!process.env.FTPS_SYNC_FAULTS_LONG;
requireServers("vsftpd");
const N = Number(process.env.FTPS_SYNC_FAULTS_ITERATIONS ?? 100);
const KILL_N = Number(process.env.FTPS_SYNC_FAULTS_KILL_ITERATIONS ?? Math.min(N, 20));
const FILES = Number(process.env.FTPS_SYNC_FAULTS_FILES ?? 2000);
const BIG = Number(process.env.FTPS_SYNC_FAULTS_BIG_MB ?? 200) * 1024 * 1024;
const SEED = Number(process.env.FTPS_SYNC_FAULTS_SEED ?? 1);
const ONLY = process.env.FTPS_SYNC_FAULTS_ONLY ?? "";
const DAY = 24 * 3600_000;

describe.skipIf(!LONG)("fault suite, long mode", () => {
  let rig: Rig;
  const results: ScenarioResult[] = [];
  const log = (line: string) => process.stderr.write(`[faults] ${line}\n`);
  beforeAll(async () => {
    rig = await startRig({ timeoutSeconds: 3 });
  });
  afterAll(async () => {
    if (process.env.FTPS_SYNC_FAULTS_REPORT) writeFileSync(process.env.FTPS_SYNC_FAULTS_REPORT, JSON.stringify(results, null, 2));
    await rig?.stop();
  });

  // The SIGKILL scenarios' big file (80 MiB) is above the size from which downloads are segmented.
  const scenarios: [string, () => Promise<ScenarioResult>][] = [
    ["cuts-files-upload", () => cutsManyFiles(rig, "upload", { iterations: N, seed: SEED, files: FILES, log })],
    ["cuts-files-download", () => cutsManyFiles(rig, "download", { iterations: N, seed: SEED + 1, files: FILES, log })],
    ["cuts-big-upload", () => cutsBigFile(rig, "upload", { iterations: N, seed: SEED + 2, bigBytes: BIG, log })],
    ["cuts-big-download", () => cutsBigFile(rig, "download", { iterations: N, seed: SEED + 3, bigBytes: BIG, log })],
    ["sigkill-upload", () => sigkill(rig, "upload", { iterations: KILL_N, seed: SEED + 4, files: 500, bigBytes: 80 * 1024 * 1024, log })],
    ["sigkill-download", () => sigkill(rig, "download", { iterations: KILL_N, seed: SEED + 5, files: 500, bigBytes: 80 * 1024 * 1024, log })],
    ["sigkill-two-way", () => sigkill(rig, "two-way", { iterations: KILL_N, seed: SEED + 6, files: 500, bigBytes: 80 * 1024 * 1024, log })],
  ];
  for (const [id, run] of scenarios) {
    it.skipIf(ONLY !== "" && !ONLY.split(",").some((o) => id.includes(o)))(id, async () => {
      const r = await run();
      results.push(r);
      log(`${r.scenario}: ${JSON.stringify({ ...r, notes: r.notes.length })}`);
      for (const n of r.notes) log(`  ${n}`);
      expect({ lost: r.lost, half: r.half }).toEqual({ lost: 0, half: 0 });
    }, DAY);
  }
});
