// The benchmark's WAN rows: the same tools, with the same flags as on loopback, through the delay
// proxy (bench/delay-proxy.ts) at a given round trip. Small files (first upload, re-run with
// nothing changed, download) and one large file (upload, download); the proxy counts the round
// trips each tool waited for, and bash's `times` its CPU seconds.
import { mkdirSync, readdirSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { roundTrips, type DelayProxy } from "./delay-proxy.js";
import { makeBigFile, makeTree } from "./files.js";
import { medianOf, ratio, secs, type Sample } from "./stats.js";

export type WanPeer = "lftp" | "rclone" | "curl";
const WAN_PEERS: WanPeer[] = ["lftp", "rclone", "curl"];

export interface WanAgent {
  writeJob(name: string, job: Record<string, unknown>): void;
  resetState(): void;
  sync(job: string): Promise<Sample>;
}

export interface WanTools {
  lftp?: { do(command: string): Promise<Sample> };
  rclone?: { do(argv: string[]): Promise<Sample> };
  curl?: { upload(file: string, remoteDir: string): Promise<Sample>; download(remotePath: string, file: string): Promise<Sample> };
}

export interface WanEnv {
  /** local folder for the sources and downloads */
  work: string;
  proxy: DelayProxy;
  tools: WanTools;
  /** a new agent (config in its own folder) whose remote is the server behind the proxy */
  newAgent(name: string): WanAgent;
  rmRemote(rel: string): Promise<void>;
  /** `sync`: no dirty pages left from the previous tool's large file */
  flushDisk(): Promise<void>;
  runs: number;
  quick: boolean;
  log(msg: string): void;
  notes: string[];
  rows: WanRow[];
}

export interface WanRow {
  id: string;
  label: string;
  rttMs: number;
  /** small files per run: the per-file table's denominator */
  files?: number;
  agent: Sample[];
  peers: Partial<Record<WanPeer, Sample[]>>;
  target: { text: string; peer: WanPeer; factor: number };
}

export function wanSizes(quick: boolean) {
  return {
    small: quick ? { files: 100, dirs: 4, bytes: 4096 } : { files: 400, dirs: 4, bytes: 4096 },
    bigBytes: quick ? 16 * 2 ** 20 : 100 * 2 ** 20,
  };
}

/** Runs one timed command with the proxy's counts reset first; the sample gets its round trips. */
async function counted(env: WanEnv, fn: () => Promise<Sample>): Promise<Sample> {
  env.proxy.takeCounts();
  const s = await fn();
  const counts = env.proxy.takeCounts();
  return { ...s, roundTrips: roundTrips(counts), firstDataRoundTrips: counts.firstDataRoundTrips };
}

/**
 * A peer's run: a failure becomes a note (once per row and peer) and the row goes on without that
 * sample, so one peer's trouble does not lose the others' results.
 */
async function peerRun(env: WanEnv, row: WanRow, peer: WanPeer, fn: () => Promise<Sample>): Promise<void> {
  try {
    (row.peers[peer] ??= []).push(await counted(env, fn));
  } catch (err) {
    const first = String((err as Error).message).split("\n").filter(Boolean).slice(0, 4).join(" / ");
    const note = `${row.label} at ${row.rttMs} ms: ${peer} failed: ${first}`;
    if (!env.notes.some((n) => n.startsWith(`${row.label} at ${row.rttMs} ms: ${peer} failed`))) env.notes.push(note);
    env.log(note);
  }
}

function countFiles(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) n++;
  return n;
}

/** Fails a run whose download did not bring every file (a tool that exits 0 anyway). */
function expectFiles(dir: string, files: number, who: string): void {
  const got = countFiles(dir);
  if (got !== files) throw new Error(`${who}: ${got} files downloaded, ${files} expected`);
}

const rcloneFlags = ["--transfers", "4", "--checkers", "4"];

/** 400 files of 4 KiB in 4 folders: first upload, re-run with nothing changed, download. */
export async function wanSmall(env: WanEnv, rttMs: number): Promise<void> {
  const spec = wanSizes(env.quick).small;
  const what = `${spec.files} files of ${spec.bytes / 1024} KiB in ${spec.dirs} folders`;
  const local = join(env.work, "wan-small-src");
  rmSync(local, { recursive: true, force: true });
  makeTree(local, spec);
  const tag = `wan${rttMs}`;
  const remote = (tool: string) => `${tag}-${tool}-small`;
  const { lftp, rclone } = env.tools;
  const lftpUp = `mirror -R -P4 ${local} /${remote("lftp")}`;
  const rcloneUp = ["sync", local, `bench:/${remote("rclone")}`, ...rcloneFlags];

  const agent = env.newAgent(`${tag}-small`);
  agent.writeJob("up", { remotePath: `/${remote("agent")}`, local, direction: "upload" });
  const first: WanRow = { id: `${tag}-small-first`, label: `first upload, ${what}`, rttMs, files: spec.files, agent: [], peers: {}, target: { text: "≥ 1.5x lftp", peer: "lftp", factor: 1.5 } };
  env.rows.push(first);
  for (let i = 1; i <= env.runs; i++) {
    env.log(`${first.id}: run ${i}/${env.runs}`);
    await env.rmRemote(remote("agent"));
    agent.resetState();
    first.agent.push(await counted(env, () => agent.sync("up")));
    if (lftp) {
      await env.rmRemote(remote("lftp"));
      await peerRun(env, first, "lftp", () => lftp.do(lftpUp));
    }
    if (rclone) {
      await env.rmRemote(remote("rclone"));
      await peerRun(env, first, "rclone", () => rclone.do(rcloneUp));
    }
  }

  const again: WanRow = { id: `${tag}-small-rerun`, label: `re-run, nothing changed, ${spec.files} files`, rttMs, files: spec.files, agent: [], peers: {}, target: { text: "≥ 1.3x rclone", peer: "rclone", factor: 1.3 } };
  env.rows.push(again);
  // As on loopback: the job's first re-run learns the times the server gave the uploaded files
  // (vsftpd has no MFMT) and is not timed.
  await agent.sync("up");
  for (let i = 1; i <= env.runs; i++) {
    env.log(`${again.id}: run ${i}/${env.runs}`);
    const s = await counted(env, () => agent.sync("up"));
    if (!/^up 0 /.test(s.note ?? "")) env.notes.push(`${again.label} at ${rttMs} ms: the agent transferred something (${s.note})`);
    again.agent.push(s);
    if (lftp) await peerRun(env, again, "lftp", () => lftp.do(lftpUp));
    if (rclone) await peerRun(env, again, "rclone", () => rclone.do(rcloneUp));
  }

  // Download: the agent's uploaded copy is everyone's source, into an empty folder each run.
  const down: WanRow = { id: `${tag}-small-down`, label: `download of the ${spec.files} files`, rttMs, files: spec.files, agent: [], peers: {}, target: { text: "≥ 1.5x lftp", peer: "lftp", factor: 1.5 } };
  env.rows.push(down);
  const dl = join(env.work, "wan-small-down");
  const downAgent = env.newAgent(`${tag}-small-down`);
  downAgent.writeJob("down", { remotePath: `/${remote("agent")}`, local: join(dl, "agent"), direction: "download" });
  const fresh = (tool: string) => {
    rmSync(join(dl, tool), { recursive: true, force: true });
    mkdirSync(join(dl, tool), { recursive: true });
    return join(dl, tool);
  };
  for (let i = 1; i <= env.runs; i++) {
    env.log(`${down.id}: run ${i}/${env.runs}`);
    fresh("agent");
    downAgent.resetState();
    down.agent.push(await counted(env, () => downAgent.sync("down")));
    expectFiles(join(dl, "agent"), spec.files, "ftps-sync");
    if (lftp) {
      const to = fresh("lftp");
      await peerRun(env, down, "lftp", async () => {
        const s = await lftp.do(`mirror -P4 /${remote("agent")} ${to}`);
        expectFiles(to, spec.files, "lftp");
        return s;
      });
    }
    if (rclone) {
      const to = fresh("rclone");
      await peerRun(env, down, "rclone", async () => {
        const s = await rclone.do(["sync", `bench:/${remote("agent")}`, to, ...rcloneFlags]);
        expectFiles(to, spec.files, "rclone");
        return s;
      });
    }
  }
  rmSync(dl, { recursive: true, force: true });
  for (const t of ["agent", "lftp", "rclone"]) await env.rmRemote(remote(t));
}

/** One 100 MiB file: upload and download. */
export async function wanBig(env: WanEnv, rttMs: number): Promise<void> {
  const bytes = wanSizes(env.quick).bigBytes;
  const label = `${bytes / 2 ** 20} MiB`;
  const srcDir = join(env.work, "wan-big-src");
  const src = join(srcDir, "big.bin");
  rmSync(srcDir, { recursive: true, force: true });
  makeBigFile(src, bytes);
  const tag = `wan${rttMs}`;
  const remote = (tool: string) => `${tag}-${tool}-big`;
  const { lftp, rclone, curl } = env.tools;

  const agent = env.newAgent(`${tag}-big`);
  agent.writeJob("up", { remotePath: `/${remote("agent")}`, local: srcDir, direction: "upload" });
  const up: WanRow = { id: `${tag}-big-up`, label: `one ${label} file, upload`, rttMs, agent: [], peers: {}, target: { text: "≥ 0.95x curl", peer: "curl", factor: 0.95 } };
  env.rows.push(up);
  for (let i = 1; i <= env.runs; i++) {
    env.log(`${up.id}: run ${i}/${env.runs}`);
    await env.rmRemote(remote("agent"));
    agent.resetState();
    await env.flushDisk();
    up.agent.push(await counted(env, () => agent.sync("up")));
    if (curl) {
      await env.rmRemote(remote("curl"));
      await env.flushDisk();
      await peerRun(env, up, "curl", () => curl.upload(src, `/${remote("curl")}`));
    }
    if (lftp) {
      await env.rmRemote(remote("lftp"));
      await env.flushDisk();
      await peerRun(env, up, "lftp", () => lftp.do(`mirror -R -P4 ${srcDir} /${remote("lftp")}`));
    }
    if (rclone) {
      await env.rmRemote(remote("rclone"));
      await env.flushDisk();
      await peerRun(env, up, "rclone", () => rclone.do(["sync", srcDir, `bench:/${remote("rclone")}`, ...rcloneFlags]));
    }
  }
  for (const t of ["lftp", "rclone", "curl"]) await env.rmRemote(remote(t));

  // Download: the agent's uploaded copy is everyone's source.
  const down: WanRow = { id: `${tag}-big-down`, label: `one ${label} file, download`, rttMs, agent: [], peers: {}, target: { text: "≥ 0.95x curl", peer: "curl", factor: 0.95 } };
  env.rows.push(down);
  const dl = join(env.work, "wan-big-down");
  agent.writeJob("down", { remotePath: `/${remote("agent")}`, local: join(dl, "agent"), direction: "download" });
  const from = `/${remote("agent")}/big.bin`;
  const fresh = async (tool: string) => {
    rmSync(join(dl, tool), { recursive: true, force: true });
    mkdirSync(join(dl, tool), { recursive: true });
    await env.flushDisk();
    return join(dl, tool);
  };
  const expectSize = (path: string, who: string) => {
    const got = statSync(path).size;
    if (got !== bytes) throw new Error(`${who}: downloaded ${got} bytes, ${bytes} expected`);
  };
  for (let i = 1; i <= env.runs; i++) {
    env.log(`${down.id}: run ${i}/${env.runs}`);
    await fresh("agent");
    agent.resetState();
    down.agent.push(await counted(env, () => agent.sync("down")));
    expectSize(join(dl, "agent", "big.bin"), "ftps-sync");
    if (curl) {
      const to = await fresh("curl");
      await peerRun(env, down, "curl", async () => {
        const s = await curl.download(from, join(to, "big.bin"));
        expectSize(join(to, "big.bin"), "curl");
        return s;
      });
    }
    if (lftp) {
      const to = await fresh("lftp");
      await peerRun(env, down, "lftp", async () => {
        const s = await lftp.do(`get ${from} -o ${join(to, "big.bin")}`);
        expectSize(join(to, "big.bin"), "lftp");
        return s;
      });
    }
    if (rclone) {
      const to = await fresh("rclone");
      await peerRun(env, down, "rclone", async () => {
        const s = await rclone.do(["copy", `bench:${from}`, to, ...rcloneFlags]);
        expectSize(join(to, "big.bin"), "rclone");
        return s;
      });
    }
    rmSync(dl, { recursive: true, force: true });
  }
  rmSync(srcDir, { recursive: true, force: true });
  await env.rmRemote(remote("agent"));
}

// ------------------------------------------------------------------------------------ tables

/** Whether a row meets its target: undefined when the peer it is measured against has no time. */
export function wanMet(r: WanRow): boolean | undefined {
  const x = ratio(medianOf(r.agent, "ms"), medianOf(r.peers[r.target.peer], "ms"));
  return x === undefined ? undefined : x >= r.target.factor;
}

function timeCell(r: WanRow, peer: WanPeer, installed: Record<WanPeer, boolean>): string {
  const p = medianOf(r.peers[peer], "ms");
  if (p === undefined) return installed[peer] ? "-" : "not installed";
  return `${secs(p)} (${ratio(medianOf(r.agent, "ms"), p)!.toFixed(2)}x)`;
}

/** Times: one line per workload and round trip, with each peer's ratio to the agent. */
export function wanTable(rows: WanRow[], installed: Record<WanPeer, boolean>): string {
  const lines = [
    "| workload | round trip | ftps-sync | lftp `mirror -P4` | rclone `--transfers 4` | curl | target | met |",
    "|---|---:|---:|---:|---:|---:|---|:-:|",
  ];
  for (const r of rows) {
    const met = wanMet(r);
    lines.push(
      `| ${r.label} | ${r.rttMs} ms | ${secs(medianOf(r.agent, "ms"))} | ${WAN_PEERS.map((p) => timeCell(r, p, installed)).join(" | ")} | ${r.target.text} | ${met === undefined ? "" : met ? "yes" : "**no**"} |`,
    );
  }
  return lines.join("\n");
}

/**
 * Round trips from the first connect to the first byte of data (the first listing's, for every
 * tool here), on the first control connection and the first data connection (ProxyCounts), for
 * the small-file rows: issue 22's "login to the first byte of data" target.
 */
export function wanFirstByteTable(rows: WanRow[]): string {
  const tools: [string, (r: WanRow) => Sample[] | undefined][] = [
    ["ftps-sync", (r) => r.agent],
    ["lftp", (r) => r.peers.lftp],
    ["rclone", (r) => r.peers.rclone],
  ];
  const lines = [
    `| login to the first data byte, round trips | round trip | ${tools.map(([t]) => t).join(" | ")} | target |`,
    `|---|---:|${tools.map(() => "---:").join("|")}|---|`,
  ];
  for (const r of rows) {
    if (!r.files) continue;
    const cell = (s: Sample[] | undefined) => {
      const m = medianOf(s, "firstDataRoundTrips");
      return m === undefined ? "-" : String(m);
    };
    lines.push(`| ${r.label} | ${r.rttMs} ms | ${tools.map(([, s]) => cell(s(r))).join(" | ")} | ≤ 5 (ftps-sync) |`);
  }
  return lines.join("\n");
}

/** Round trips per file and CPU seconds per 1000 files, for the small-file rows. */
export function wanPerFileTable(rows: WanRow[]): string {
  const tools: [string, (r: WanRow) => Sample[] | undefined][] = [
    ["ftps-sync", (r) => r.agent],
    ["lftp", (r) => r.peers.lftp],
    ["rclone", (r) => r.peers.rclone],
  ];
  const fmt = (x: number | undefined, digits: number) => (x === undefined ? "-" : x.toFixed(digits));
  const lines = [
    `| small files | round trip | ${tools.map(([t]) => `${t}: round trips per file`).join(" | ")} | ${tools.map(([t]) => `${t}: CPU s per 1000 files`).join(" | ")} |`,
    `|---|---:|${tools.map(() => "---:").join("|")}|${tools.map(() => "---:").join("|")}|`,
  ];
  for (const r of rows) {
    if (!r.files) continue;
    const per = (s: Sample[] | undefined, field: "roundTrips" | "cpuS", scale: number) => {
      const m = medianOf(s, field);
      return m === undefined ? undefined : (m / r.files!) * scale;
    };
    lines.push(
      `| ${r.label} | ${r.rttMs} ms | ${tools.map(([, s]) => fmt(per(s(r), "roundTrips", 1), 1)).join(" | ")} | ${tools.map(([, s]) => fmt(per(s(r), "cpuS", 1000), 2)).join(" | ")} |`,
    );
  }
  return lines.join("\n");
}
