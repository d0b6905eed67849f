#!/usr/bin/env node
// Long mode of the fault suite: `npm run test:faults -- --iterations 100 [--seed 1] [--files 2000]
// [--big-mb 200] [--kill-iterations 20] [--only cuts-big,sigkill]`. Builds a private copy of the agent
// (so that a rebuild of dist/ by someone else cannot change it mid-run), runs test/faults/long.test.ts
// against a real vsftpd behind the fault proxy, and prints one line per scenario. Exit 1 when a
// file was lost, a half file was seen, or an iteration failed its checks. Needs root (servers).
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1] : def;
};
const iterations = opt("iterations", "100");
const build = join(repo, ".cache", "faults-build");
rmSync(build, { recursive: true, force: true });
execFileSync(process.execPath, [join(repo, "scripts", "build.mjs"), "--out", build], { cwd: repo, stdio: "inherit" });
cpSync(join(repo, "migrations"), join(build, "migrations"), { recursive: true });
cpSync(join(repo, "package.json"), join(build, "package.json"));

const reportDir = mkdtempSync(join(tmpdir(), "ftps-sync-faults-"));
const report = join(reportDir, "report.json");
const env = {
  ...process.env,
  FTPS_SYNC_FAULTS_LONG: "1",
  FTPS_SYNC_FAULTS_CLI: join(build, "dist", "bin", "ftps-sync.js"),
  FTPS_SYNC_FAULTS_REPORT: report,
  FTPS_SYNC_FAULTS_ITERATIONS: iterations,
  FTPS_SYNC_FAULTS_KILL_ITERATIONS: opt("kill-iterations", String(Math.min(Number(iterations), 20))),
  FTPS_SYNC_FAULTS_FILES: opt("files", "2000"),
  FTPS_SYNC_FAULTS_BIG_MB: opt("big-mb", "200"),
  FTPS_SYNC_FAULTS_SEED: opt("seed", "1"),
  FTPS_SYNC_FAULTS_ONLY: opt("only", ""),
};
const started = Date.now();
const run = spawnSync(process.execPath, [join(repo, "node_modules/vitest/vitest.mjs"), "run", "test/faults/long.test.ts"], { cwd: repo, env, stdio: "inherit" });

let results = [];
try {
  results = JSON.parse(readFileSync(report, "utf8"));
} catch {
  console.error("no report was written (see the output above)");
  process.exit(1);
}
rmSync(reportDir, { recursive: true, force: true });
const cols = ["scenario", "iterations", "faults hit", "failed runs", "failures", "files lost", "half files seen", "time"];
const rows = results.map((r) => [r.scenario, r.iterations, r.faultsHit, r.failedRuns, r.failures, r.lost, r.half, `${Math.round(r.ms / 1000)} s`].map(String));
const width = cols.map((c, i) => Math.max(c.length, ...rows.map((r) => r[i].length)));
const line = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(width[i]) : c.padStart(width[i]))).join("  ");
console.log("\n" + line(cols));
console.log(width.map((w) => "-".repeat(w)).join("  "));
for (const r of rows) console.log(line(r));
console.log(`\nseed ${env.FTPS_SYNC_FAULTS_SEED}, total ${Math.round((Date.now() - started) / 1000)} s. "failed runs": faulted runs that reported failure (allowed); "failures": iterations that did not converge afterwards.`);
for (const r of results) for (const n of r.notes) console.log(`${r.scenario}: ${n}`);
const bad = results.some((r) => r.lost > 0 || r.half > 0 || r.failures > 0);
process.exit(bad || run.status !== 0 ? 1 : 0);
