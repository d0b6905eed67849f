// The watch-100k row: the agent daemon watching a tree of 100 000 files in 1 000 folders (the
// remote a copy already, so that the first run compares rather than uploads). It measures what a
// watched large tree costs: the start-up (to the end of the first run), the RSS at the first run's
// peak, idle after it and after a series of events, the watches the kernel holds for it, and the
// time from a new file written deep in the tree to the file on the server.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { median } from "./stats.js";

export interface WatchTreeEnv {
  cli: string;
  configPath: string;
  env: Record<string, string>;
  /** The watched tree; `remoteRoot`: the server's copy of it, as a local path. */
  local: string;
  remoteRoot: string;
  folders: number;
  events: number;
  log: (msg: string) => void;
}

export interface WatchTreeFigures {
  startupMs: number;
  /** A second start, with the state of the first: to the end of its first run, and that run's peak RSS. */
  restartMs: number;
  restartPeakRss: number;
  peakRss: number;
  idleRss: number;
  afterEventsRss: number;
  watches: number;
  latenciesMs: number[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** VmRSS and VmHWM of a process, in bytes. */
function memoryOf(pid: number): { rss: number; hwm: number } {
  const text = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0) * 1024;
  return { rss: kb("VmRSS"), hwm: kb("VmHWM") };
}

/** The inotify watches a process holds, as the kernel counts them. */
function inotifyWatchesOf(pid: number): number {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`) !== "anon_inode:inotify") continue;
      n += readFileSync(`/proc/${pid}/fdinfo/${fd}`, "utf8").split("\n").filter((l) => l.startsWith("inotify wd:")).length;
    } catch {
      // closed meanwhile
    }
  }
  return n;
}

async function until(what: string, fn: () => boolean, timeoutMs: number, everyMs = 5): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export async function watchTree(e: WatchTreeEnv): Promise<WatchTreeFigures> {
  const first = await watchedDaemon(e);
  // A restart: the state holds the tree now, as after a reboot or an upgrade.
  const t0 = performance.now();
  const again = spawn(process.execPath, [e.cli, "--config", e.configPath, "run"], { env: { ...process.env, ...e.env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  again.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  again.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  try {
    await until(`the first run after a restart\n${out}`, () => /run ok/.test(out) || /run (failed|aborted)|did not complete/.test(out), 10 * 60_000, 20);
    if (!/run ok/.test(out)) throw new Error(`the first run after a restart did not end ok:\n${out}`);
    return { ...first, restartMs: performance.now() - t0, restartPeakRss: memoryOf(again.pid!).hwm };
  } finally {
    again.kill("SIGTERM");
    await new Promise((r) => again.once("exit", r));
  }
}

async function watchedDaemon(e: WatchTreeEnv): Promise<Omit<WatchTreeFigures, "restartMs" | "restartPeakRss">> {
  const t0 = performance.now();
  const child = spawn(process.execPath, [e.cli, "--config", e.configPath, "run"], { env: { ...process.env, ...e.env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const runsOk = () => (out.match(/run ok/g) ?? []).length;
  try {
    await until(`the first run\n${out}`, () => runsOk() >= 1 || /run (failed|aborted)|did not complete/.test(out), 10 * 60_000, 20);
    if (runsOk() < 1) throw new Error(`the first run did not end ok:\n${out}`);
    const startupMs = performance.now() - t0;
    const peakRss = memoryOf(child.pid!).hwm;
    e.log(`watch-100k: first run ended ${Math.round(startupMs)} ms after the start; waiting for the watches`);
    await until("the watches", () => inotifyWatchesOf(child.pid!) >= e.folders, 120_000, 100);
    // Idle: what the agent holds between runs, once the first run's garbage is collected.
    await sleep(15_000);
    const idleRss = memoryOf(child.pid!).rss;
    const watches = inotifyWatchesOf(child.pid!);
    const latenciesMs: number[] = [];
    for (let i = 0; i < e.events; i++) {
      const folder = `d${String((i * 397) % e.folders).padStart(4, "0")}`;
      const name = `new-${i}.txt`;
      const before = runsOk();
      const t = performance.now();
      writeFileSync(join(e.local, folder, name), `event ${i}\n`);
      await until(`${folder}/${name} on the server`, () => existsSync(join(e.remoteRoot, folder, name)), 60_000);
      latenciesMs.push(performance.now() - t);
      // The run ends (it records the upload) before the next event.
      await until("the run's end", () => runsOk() > before, 60_000, 20);
      await sleep(1500);
    }
    await sleep(5000);
    const afterEventsRss = memoryOf(child.pid!).rss;
    return { startupMs, peakRss, idleRss, afterEventsRss, watches, latenciesMs };
  } finally {
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
  }
}

export interface WatchSoakFigures {
  events: number;
  runs: number;
  minutes: number;
  /** RSS samples (bytes), every `everyMs`, from the end of the first run to the end. */
  samples: number[];
  everyMs: number;
  /** Idle after the first run, and idle after the last event's run: both once the agent's collection after its runs had its time. */
  startRss: number;
  endRss: number;
  maxRss: number;
  /** Files the events wrote that did not reach the server. */
  missing: number;
}

/**
 * A day of events, scaled down: `events` changes (a new file, every tenth an existing file
 * rewritten), spread evenly over `minutes`, each in another folder, the agent's RSS sampled
 * every 5 s throughout. The agent runs on the tree and state the watch-100k row left.
 */
export async function watchSoak(e: WatchTreeEnv & { minutes: number }): Promise<WatchSoakFigures> {
  const everyMs = 5000;
  const child = spawn(process.execPath, [e.cli, "--config", e.configPath, "run"], { env: { ...process.env, ...e.env }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-200_000));
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  let runs = 0;
  const count = (d: Buffer) => (runs += (d.toString().match(/run ok/g) ?? []).length);
  child.stdout!.on("data", count);
  child.stderr!.on("data", count);
  const samples: number[] = [];
  let sampler: NodeJS.Timeout | undefined;
  try {
    await until(`the first run\n${out}`, () => runs >= 1 || /run (failed|aborted)|did not complete/.test(out), 10 * 60_000, 20);
    if (runs < 1) throw new Error(`the first run did not end ok:\n${out}`);
    sampler = setInterval(() => samples.push(memoryOf(child.pid!).rss), everyMs);
    await sleep(15_000);
    const startRss = memoryOf(child.pid!).rss;
    const written: string[] = [];
    const t0 = performance.now();
    const stepMs = (e.minutes * 60_000) / e.events;
    for (let i = 0; i < e.events; i++) {
      const folder = `d${String((i * 397) % e.folders).padStart(4, "0")}`;
      const name = i % 10 === 9 ? "f00000.bin" : `soak-${i}.txt`;
      writeFileSync(join(e.local, folder, name), `soak event ${i} ${Date.now()}\n`);
      if (name !== "f00000.bin") written.push(join(folder, name));
      if ((i + 1) % Math.max(1, Math.round(e.events / 10)) === 0) e.log(`watch-soak: ${i + 1}/${e.events} events, RSS ${Math.round(memoryOf(child.pid!).rss / 2 ** 20)} MiB`);
      const next = t0 + (i + 1) * stepMs;
      await sleep(Math.max(0, next - performance.now()));
    }
    const minutes = (performance.now() - t0) / 60_000;
    // The last event's run, then the agent idle again.
    await until("the events' files on the server", () => written.every((f) => existsSync(join(e.remoteRoot, f))), 120_000, 200);
    await sleep(15_000);
    const endRss = memoryOf(child.pid!).rss;
    const missing = written.filter((f) => !existsSync(join(e.remoteRoot, f))).length;
    return { events: e.events, runs, minutes, samples, everyMs, startRss, endRss, maxRss: Math.max(...samples, endRss), missing };
  } finally {
    clearInterval(sampler);
    child.kill("SIGTERM");
    await new Promise((r) => child.once("exit", r));
  }
}

export function describeWatchSoak(f: WatchSoakFigures, files: number): string[] {
  const mib = (b: number) => `${Math.round(b / 2 ** 20)} MiB`;
  const perDay = 1440;
  return [
    `watch-soak: the same watch job on ${files.toLocaleString("en")} files, ${f.events.toLocaleString("en")} events (a new file, every tenth a file rewritten) ` +
      `in ${f.minutes.toFixed(1)} min (${f.events === perDay ? "a day of one change a minute" : `${(f.events / perDay).toFixed(2)} days of one change a minute`}, ` +
      `${Math.round(f.events / f.minutes)}x faster), ${f.runs} runs: RSS idle before ${mib(f.startRss)}, idle after ${mib(f.endRss)}, ` +
      `at most ${mib(f.maxRss)} (sampled every ${f.everyMs / 1000} s)` + (f.missing ? `; ${f.missing} files did not reach the server` : ""),
  ];
}

export function describeWatchTree(f: WatchTreeFigures, files: number, folders: number): string[] {
  const mib = (b: number) => `${Math.round(b / 2 ** 20)} MiB`;
  const ms = f.latenciesMs.map((x) => Math.round(x));
  return [
    `watch-100k: a watch job on ${files.toLocaleString("en")} files in ${folders.toLocaleString("en")} folders (watchDebounce 200ms; the remote a copy already): ` +
      `start-up to the end of the first run ${(f.startupMs / 1000).toFixed(1)} s; RSS peak ${mib(f.peakRss)} (first run), idle ${mib(f.idleRss)}, ` +
      `after a restart (the state full) ${(f.restartMs / 1000).toFixed(1)} s to the end of the first run, peak ${mib(f.restartPeakRss)}; ` +
      `after ${ms.length} events ${mib(f.afterEventsRss)}; inotify watches held ${f.watches.toLocaleString("en")}; ` +
      `one new file to the server ${Math.round(median(f.latenciesMs))} ms median (${ms.join(", ")} ms)`,
  ];
}
