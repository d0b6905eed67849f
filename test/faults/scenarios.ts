// Fault scenarios against a real server behind the fault proxy. Each iteration changes the
// source, runs a sync under a fault (cut connections, or a SIGKILL of the agent), checks that no
// half file ever sits under a final name, then runs again without faults and checks that both
// sides converged: nothing lost, nothing duplicated, no temporary file left.
import { closeSync, createReadStream, openSync, statSync, writeSync } from "node:fs";
import { createHash, randomBytes } from "node:crypto";
import { join } from "node:path";
import type { Fault } from "./proxy.js";
import { compareTrees, hashTree, int, prng, put, randomBytesFrom, tempFiles, Versions, type Rig, type SyncResult } from "./harness.js";

export interface ScenarioResult {
  scenario: string;
  iterations: number;
  /** runs in which the fault actually hit (a connection was cut / the agent was killed mid-run) */
  faultsHit: number;
  /** faulted runs that reported failure (allowed: "completes or reports failure") */
  failedRuns: number;
  /** iterations whose checks failed: hang, no convergence, temp files left, wrong content */
  failures: number;
  lost: number;
  half: number;
  ms: number;
  notes: string[];
}

export interface ScenarioParams {
  iterations: number;
  seed: number;
  /** number of small files (many-files scenarios) */
  files?: number;
  /** size of the big file in bytes */
  bigBytes?: number;
  log?: (line: string) => void;
}

type Direction = "upload" | "download" | "two-way";

function newResult(scenario: string): ScenarioResult {
  return { scenario, iterations: 0, faultsHit: 0, failedRuns: 0, failures: 0, lost: 0, half: 0, ms: 0, notes: [] };
}

async function hashFile(p: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(p, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest("hex");
}

/** Checks after the converging run; returns the number of problems and records them. */
function checkConverged(res: ScenarioResult, it: number, run: SyncResult, expected: Map<string, string>, sides: { name: string; root: string }[], strict: boolean): void {
  const problems: string[] = [];
  if (run.code !== 0) problems.push(`converging run exit ${run.code ?? run.signal}: ${run.summary?.errors?.slice(0, 3).join("; ") ?? run.stderr.slice(-400)}`);
  for (const side of sides) {
    const actual = hashTree(side.root);
    const d = compareTrees(expected, actual);
    res.lost += d.missing.length;
    if (d.missing.length) problems.push(`${side.name}: missing ${d.missing.slice(0, 5).join(", ")}`);
    if (d.differ.length) problems.push(`${side.name}: content differs ${d.differ.slice(0, 5).join(", ")}`);
    if (strict && d.extra.length) problems.push(`${side.name}: unexpected ${d.extra.slice(0, 5).join(", ")}`);
    const temps = tempFiles(side.root);
    if (temps.length) problems.push(`${side.name}: temporary files left ${temps.slice(0, 3).join(", ")}`);
  }
  if (problems.length) {
    res.failures++;
    res.notes.push(`iteration ${it}: ${problems.join(" | ")}`);
  }
}

function countHalf(res: ScenarioResult, it: number, versions: Versions, roots: { name: string; root: string }[]): void {
  for (const r of roots) {
    const bad = versions.halfFiles(r.root);
    if (bad.length) {
      res.half += bad.length;
      res.notes.push(`iteration ${it}: half or foreign file under its final name on ${r.name}: ${bad.slice(0, 5).join(", ")}`);
    }
  }
}

/**
 * Many small files (and a few larger ones), connections cut at random points: per-connection
 * faults (reset or FIN after a random number of bytes) and/or one cut of every connection once a
 * random number of bytes has crossed the proxy.
 */
export async function cutsManyFiles(rig: Rig, direction: "upload" | "download", p: ScenarioParams): Promise<ScenarioResult> {
  const res = newResult(`cuts: ${p.files ?? 300} files, ${direction}`);
  const started = Date.now();
  const rnd = prng(p.seed);
  const name = `cuts-${direction}-${p.seed}`;
  const j = rig.job(name, { direction, delete: "never" });
  const source = direction === "upload" ? j.local : j.remoteDir;
  const dest = direction === "upload" ? j.remoteDir : j.local;
  const owner = direction === "download" ? rig.owner : undefined;
  const versions = new Versions();
  const expected = new Map<string, string>();
  const sizeOf = new Map<string, number>();
  const write = (rel: string, content: Buffer, mtimeMs?: number) => {
    put(source, rel, content, owner, mtimeMs);
    sizeOf.set(rel, content.length);
    versions.add(rel, content);
    expected.set(rel, createHash("sha256").update(content).digest("hex"));
  };
  const n = p.files ?? 300;
  const paths: string[] = [];
  for (let i = 0; i < n; i++) {
    const rel = `d${i % 17}/s${i % 5}/f${i}.dat`;
    paths.push(rel);
    const size = rnd() < 0.05 ? int(rnd, 50_000, 300_000) : int(rnd, 0, 6000);
    write(rel, randomBytesFrom(rnd, size), Date.now() - 86_400_000);
  }
  const first = await rig.sync(name);
  if (first.code !== 0) throw new Error(`initial sync failed: ${first.stderr.slice(-800)}`);

  for (let it = 0; it < p.iterations; it++) {
    // change about 10% of the files (size changes too, so every listing format sees it) and add some
    const k = Math.max(3, Math.floor(n / 10));
    let bytes = 0;
    for (let c = 0; c < k; c++) {
      const rel = paths[int(rnd, 0, paths.length - 1)];
      // Never the size the file has now: a LIST-only server (vsftpd) shows future-dated files to
      // the day, so a same-size rewrite is invisible to any client (README: LIST-only servers).
      let size = int(rnd, 1, 20_000);
      if (size === sizeOf.get(rel)) size++;
      const content = randomBytesFrom(rnd, size);
      bytes += content.length;
      write(rel, content, Date.now() + (it + 1) * 120_000);
    }
    for (let c = 0; c < 3; c++) {
      const rel = `new/it${it}-${c}.dat`;
      paths.push(rel);
      write(rel, randomBytesFrom(rnd, int(rnd, 0, 10_000)));
    }
    // choose the fault
    const mode = rnd();
    const before = rig.proxy.stats.faults;
    if (mode < 0.5) {
      const prob = 0.1 + rnd() * 0.2;
      const seedF = prng(p.seed * 7919 + it);
      rig.proxy.faultFor = () => (seedF() < prob ? ({ kind: seedF() < 0.5 ? "reset" : "cut", afterBytes: Math.floor(seedF() * 30_000) } as Fault) : undefined);
    }
    if (mode >= 0.3) rig.proxy.armTotalCut(Math.floor(rnd() * (bytes + k * 6000)), rnd() < 0.5 ? "reset" : "cut");
    const faulted = await rig.sync(name, { timeoutMs: 120_000 });
    const hit = rig.proxy.stats.faults > before || rig.proxy.totalCutFired;
    rig.proxy.disarm();
    res.iterations++;
    if (hit) res.faultsHit++;
    if (faulted.signal) {
      res.failures++;
      res.notes.push(`iteration ${it}: faulted run did not end by itself (killed after 120 s)`);
    } else if (faulted.code !== 0) res.failedRuns++;
    countHalf(res, it, versions, [{ name: "destination", root: dest }]);
    const again = await rig.sync(name);
    checkConverged(res, it, again, expected, [{ name: "destination", root: dest }], true);
    p.log?.(`${res.scenario} #${it}: faulted exit ${faulted.code} (${faulted.ms} ms, hit ${hit}), converge exit ${again.code} (${again.ms} ms)`);
  }
  res.ms = Date.now() - started;
  return res;
}

/** One big file, rewritten in place each iteration, every connection cut at a random byte. */
export async function cutsBigFile(rig: Rig, direction: "upload" | "download", p: ScenarioParams): Promise<ScenarioResult> {
  const size = p.bigBytes ?? 16 * 1024 * 1024;
  const res = newResult(`cuts: ${Math.round(size / 1024 / 1024)} MB file, ${direction}`);
  const started = Date.now();
  const rnd = prng(p.seed);
  const name = `big-${direction}-${p.seed}`;
  const j = rig.job(name, { direction, delete: "never" });
  const source = direction === "upload" ? j.local : j.remoteDir;
  const dest = direction === "upload" ? j.remoteDir : j.local;
  const file = join(source, "big.bin");
  const versions = new Versions();
  // the initial content: fast random bytes, written in chunks
  put(source, "big.bin", Buffer.alloc(0), direction === "download" ? rig.owner : undefined);
  {
    const fd = openSync(file, "w");
    for (let off = 0; off < size; off += 1 << 22) writeSync(fd, randomBytes(Math.min(1 << 22, size - off)));
    closeSync(fd);
  }
  let hash = await hashFile(file);
  versions.addHash("big.bin", hash);
  const first = await rig.sync(name, { timeoutMs: 600_000 });
  if (first.code !== 0) throw new Error(`initial sync failed: ${first.stderr.slice(-800)}`);

  for (let it = 0; it < p.iterations; it++) {
    // a new version: a random region rewritten and a few bytes more, a later mtime
    const fd = openSync(file, "r+");
    writeSync(fd, randomBytesFrom(rnd, 65_536), 0, 65_536, int(rnd, 0, size - 65_536));
    writeSync(fd, randomBytesFrom(rnd, int(rnd, 1, 100)), 0, undefined, statSync(file).size);
    closeSync(fd);
    const { utimesSync } = await import("node:fs");
    const t = new Date(Date.now() + (it + 1) * 120_000);
    utimesSync(file, t, t);
    hash = await hashFile(file);
    versions.addHash("big.bin", hash);
    const expected = new Map([["big.bin", hash]]);

    rig.proxy.armTotalCut(Math.floor(rnd() * statSync(file).size * 1.05), rnd() < 0.5 ? "reset" : "cut");
    const faulted = await rig.sync(name, { timeoutMs: 600_000 });
    const hit = rig.proxy.totalCutFired;
    rig.proxy.disarm();
    res.iterations++;
    if (hit) res.faultsHit++;
    if (faulted.signal) {
      res.failures++;
      res.notes.push(`iteration ${it}: faulted run did not end by itself`);
    } else if (faulted.code !== 0) res.failedRuns++;
    countHalf(res, it, versions, [{ name: "destination", root: dest }]);
    const again = await rig.sync(name, { timeoutMs: 600_000 });
    checkConverged(res, it, again, expected, [{ name: "destination", root: dest }], true);
    p.log?.(`${res.scenario} #${it}: faulted exit ${faulted.code} (${faulted.ms} ms, hit ${hit}), converge exit ${again.code} (${again.ms} ms)`);
  }
  res.ms = Date.now() - started;
  return res;
}

/**
 * The agent SIGKILLed at a random moment of an upload, download or two-way run (many small
 * files and one larger one), then run again: it must converge with nothing lost, nothing
 * duplicated (no conflict copies: only one side changed each file) and no temporary file left.
 */
export async function sigkill(rig: Rig, direction: Direction, p: ScenarioParams): Promise<ScenarioResult> {
  const res = newResult(`SIGKILL: ${direction}`);
  const started = Date.now();
  const rnd = prng(p.seed);
  const name = `kill-${direction}-${p.seed}`;
  const j = rig.job(name, { direction, delete: direction === "two-way" ? "tracked" : "never" });
  const versions = new Versions();
  const expected = new Map<string, string>();
  const sideOf = (rel: string): "local" | "remote" =>
    direction === "upload" ? "local" : direction === "download" ? "remote" : rnd() < 0.5 ? "local" : "remote";
  const write = (rel: string, content: Buffer, side: "local" | "remote", mtimeMs?: number) => {
    if (side === "local") put(j.local, rel, content, undefined, mtimeMs);
    else put(j.remoteDir, rel, content, rig.owner, mtimeMs);
    versions.add(rel, content);
    expected.set(rel, createHash("sha256").update(content).digest("hex"));
  };
  const n = p.files ?? 200;
  const paths: string[] = [];
  for (let i = 0; i < n; i++) {
    const rel = `k${i % 7}/f${i}.dat`;
    paths.push(rel);
    write(rel, randomBytesFrom(rnd, int(rnd, 0, 8000)), sideOf(rel), Date.now() - 86_400_000);
  }
  const bigSize = p.bigBytes ?? 4 * 1024 * 1024;
  write("big.bin", randomBytes(bigSize), sideOf("big.bin"), Date.now() - 86_400_000);
  const first = await rig.sync(name, { timeoutMs: 600_000 });
  if (first.code !== 0) throw new Error(`initial sync failed: ${first.stderr.slice(-800)}`);
  let typical = Math.max(300, first.ms);

  for (let it = 0; it < p.iterations; it++) {
    // distinct files, each changed on one side only (a file changed on both would rightly be a conflict)
    const k = Math.max(3, Math.floor(n / 5));
    const picked = new Set<string>();
    while (picked.size < k) picked.add(paths[int(rnd, 0, paths.length - 1)]);
    for (const rel of picked) write(rel, randomBytesFrom(rnd, int(rnd, 1, 12_000)), sideOf(rel), Date.now() + (it + 1) * 120_000);
    if (rnd() < 0.5) write("big.bin", randomBytes(bigSize + int(rnd, 1, 1000)), sideOf("big.bin"), Date.now() + (it + 1) * 120_000);
    for (let c = 0; c < 3; c++) {
      const rel = `new/it${it}-${c}.dat`;
      paths.push(rel);
      write(rel, randomBytesFrom(rnd, int(rnd, 0, 10_000)), sideOf(rel));
    }
    const killAfterMs = int(rnd, 200, Math.floor(typical * 1.1));
    const killed = await rig.sync(name, { killAfterMs, timeoutMs: 600_000 });
    res.iterations++;
    const hit = killed.signal === "SIGKILL";
    if (hit) res.faultsHit++;
    else {
      typical = Math.max(300, killed.ms);
      if (killed.code !== 0) res.failedRuns++;
    }
    countHalf(res, it, versions, [
      { name: "local", root: j.local },
      { name: "remote", root: j.remoteDir },
    ]);
    const again = await rig.sync(name, { timeoutMs: 600_000 });
    const sides = direction === "upload" ? [{ name: "remote", root: j.remoteDir }] : direction === "download" ? [{ name: "local", root: j.local }] : [
      { name: "local", root: j.local },
      { name: "remote", root: j.remoteDir },
    ];
    // the source side too: a kill must never damage it (temporaries there are checked as well)
    const all = direction === "two-way" ? sides : [...sides, { name: "source", root: direction === "upload" ? j.local : j.remoteDir }];
    checkConverged(res, it, again, expected, all, true);
    p.log?.(`${res.scenario} #${it}: killed at ${killAfterMs} ms (${hit ? "mid-run" : `finished first, exit ${killed.code}`}), converge exit ${again.code} (${again.ms} ms)`);
  }
  res.ms = Date.now() - started;
  return res;
}
