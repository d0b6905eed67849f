// ftps-sync benchmark: the agent side by side with lftp, rclone and curl against one real
// vsftpd 3.0.3 (explicit TLS, require_ssl_reuse=YES) on 127.0.0.1, in one run.
//
//   npm run bench                      # full sizes, 3 runs each, rewrites README's table
//   npm run bench -- --quick           # small sizes, 1 run, README untouched
//   npm run bench -- --runs 5 --only small-2k,big --no-readme
//   npm run bench -- --only wan-small,wan-big --wan 20,50   # the WAN rows only (rewrites their table)
//
// Needs (installs nothing by itself):
//   - root, and vsftpd unpacked by `bash scripts/fetch-servers.sh` (the test harness starts it);
//   - the peers from Debian's packages: `bash scripts/fetch-bench-tools.sh`
//     (= apt-get install -y lftp rclone curl). A missing peer's column is skipped with a note;
//     `--require-peers` makes that an error (exit 2) instead.
//   - the agent built (`npm run bench` runs tsc first).
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, utimesSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { makeBigFile, makeSparseFile, makeTree } from "./files.js";
import { median, medianOf, ratio, secs, type Sample } from "./stats.js";
import { measureTlsFloor, type TlsFloor } from "./tls-floor.js";
import { DelayProxy } from "./delay-proxy.js";
import { wanBig, wanFirstByteTable, wanMet, wanPerFileTable, wanSmall, wanTable, type WanEnv, type WanRow } from "./wan.js";
import { scaleHistory, scaleSchedule, type ScaleEnv } from "./scale.js";
import { describeWatchSoak, describeWatchTree, watchSoak, watchTree } from "./watch-tree.js";

// ------------------------------------------------------------------------------------ setup

function findRepo(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, "package.json");
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, "utf8")).name === "ftps-sync") return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error("cannot find the ftps-sync repository above " + fileURLToPath(import.meta.url));
    dir = up;
  }
}
const REPO = findRepo();
// The harness finds the servers relative to its own file, which is compiled elsewhere.
process.env.FTPS_SYNC_SERVERS_DIR ??= join(REPO, ".cache", "servers");
const { startServer, serversAvailable, ensureTestUser } = await import("../test/servers/real-servers.js");
type RunningServer = Awaited<ReturnType<typeof startServer>>;
const CLI = join(REPO, "dist", "bin", "ftps-sync.js");
const PASSWORD_ENV = "FTPS_SYNC_BENCH_PASSWORD";

interface Args {
  runs: number;
  quick: boolean;
  only?: Set<string>;
  readme: boolean;
  requirePeers: boolean;
  keep: boolean;
  json?: string;
  bigMemGiB: number;
  /** round trips (ms) of the WAN rows; empty: none */
  wan: number[];
  /** the scale rows (bench/scale.ts): jobs, days of history, minutes of the schedule row */
  scale: { jobs: number; days: number; minutes: number };
  /** files of the watch rows' tree (100 000; its folders a hundredth of that) */
  watchFiles?: number;
  /** the watch-soak row: events over minutes (a day of one change a minute, 120x faster) */
  soak: { events: number; minutes: number };
}

function parseArgs(argv: string[]): Args {
  const a: Args = { runs: 3, quick: false, readme: true, requirePeers: false, keep: false, bigMemGiB: 4, wan: [20, 50], scale: { jobs: 500, days: 30, minutes: 3 }, soak: { events: 1440, minutes: 12 } };
  let runsGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const v = argv[i];
    const next = () => {
      const x = argv[++i];
      if (x === undefined) usage(`${v} needs a value`);
      return x;
    };
    if (v === "--runs") (a.runs = Number(next())), (runsGiven = true);
    else if (v === "--quick") a.quick = true;
    else if (v === "--only") a.only = new Set(next().split(","));
    else if (v === "--no-readme") a.readme = false;
    else if (v === "--require-peers") a.requirePeers = true;
    else if (v === "--keep") a.keep = true;
    else if (v === "--json") a.json = next();
    else if (v === "--big-mem-gib") a.bigMemGiB = Number(next());
    else if (v === "--wan") a.wan = next().split(",").map(Number);
    else if (v === "--no-wan") a.wan = [];
    else if (v === "--scale-jobs") a.scale.jobs = Number(next());
    else if (v === "--scale-days") a.scale.days = Number(next());
    else if (v === "--scale-minutes") a.scale.minutes = Number(next());
    else if (v === "--watch-files") a.watchFiles = Number(next());
    else if (v === "--soak-events") a.soak.events = Number(next());
    else if (v === "--soak-minutes") a.soak.minutes = Number(next());
    else if (v === "--help" || v === "-h") usage();
    else usage(`unknown option ${v}`);
  }
  if (!Number.isInteger(a.runs) || a.runs < 1) usage("--runs must be a whole number >= 1");
  if (a.wan.some((ms) => !Number.isInteger(ms) || ms < 2 || ms > 1000)) usage("--wan takes round trips in whole ms (2 to 1000), comma-separated");
  if (!Number.isInteger(a.soak.events) || a.soak.events < 1 || !(a.soak.minutes > 0)) usage("--soak-events takes a whole number >= 1, --soak-minutes a number > 0");
  if (a.watchFiles !== undefined && (!Number.isInteger(a.watchFiles) || a.watchFiles < 100)) usage("--watch-files takes a whole number >= 100");
  if (a.quick) {
    if (!runsGiven) a.runs = 1;
    a.readme = false;
  }
  return a;
}

function usage(err?: string): never {
  if (err) process.stderr.write(`bench: ${err}\n`);
  process.stderr.write(
    [
      "usage: npm run bench -- [--runs N] [--quick] [--only W1,W2] [--no-readme] [--require-peers] [--keep] [--json FILE] [--big-mem-gib N] [--wan MS,MS | --no-wan]",
      "  workloads: small-2k, small-20k, tree-100k, big (loopback); wan-small, wan-big (through the delay proxy; `wan`: both)",
      "  --quick      small sizes, 1 run, README untouched",
      "  --wan 20,50  the WAN rows' round trips in ms (default 20,50); --no-wan skips them",
      "  --no-readme  do not rewrite README.md's tables (a run rewrites each table whose workloads all ran)",
      "  --watch-files N  the watch rows' tree: N files in N/100 folders (default 100 000)",
      "  watch-soak (only with --only): the watch job under --soak-events N (1440) events over --soak-minutes M (12), RSS sampled",
      "  scale rows (only with --only): scale-history, scale-schedule; --scale-jobs N (500), --scale-days N (30), --scale-minutes N (3)",
      "",
    ].join("\n"),
  );
  process.exit(err ? 2 : 0);
}

const args = parseArgs(process.argv.slice(2));
const Q = args.quick;
const SIZES = {
  small2k: Q ? { files: 200, dirs: 4, bytes: 4096 } : { files: 2000, dirs: 20, bytes: 4096 },
  small20k: Q ? { files: 2000, dirs: 20, bytes: 100 } : { files: 20000, dirs: 200, bytes: 100 },
  tree100k: Q ? { files: 5000, dirs: 50, bytes: 100 } : { files: 100000, dirs: 1000, bytes: 100 },
  /** The watch rows' tree: tree100k's, or --watch-files files in a hundredth as many folders. */
  watchTree: args.watchFiles ? { files: args.watchFiles, dirs: Math.ceil(args.watchFiles / 100), bytes: 100 } : Q ? { files: 5000, dirs: 50, bytes: 100 } : { files: 100000, dirs: 1000, bytes: 100 },
  bigBytes: Q ? 64 * 2 ** 20 : 2 ** 30,
  bigMemBytes: Q ? 256 * 2 ** 20 : args.bigMemGiB * 2 ** 30,
};
const TIMEOUT_MS = 15 * 60_000;

function log(msg: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
}

function which(cmd: string): string | undefined {
  for (const d of (process.env.PATH ?? "/usr/bin:/bin").split(":")) if (d && existsSync(join(d, cmd))) return join(d, cmd);
  return undefined;
}

// ------------------------------------------------------------------------------------ processes

interface ProcResult {
  ms: number;
  code: number | null;
  stdout: string;
  stderr: string;
  /** Peak RSS seen in /proc/<pid>/status (VmHWM), polled every 20 ms (0 when run under bash for its CPU). */
  hwmBytes: number;
  /** user + system CPU seconds of the command (and the children it waited for), when asked for */
  cpuS?: number;
}

// Node reads and parses the file NODE_EXTRA_CA_CERTS names at every start, before any of a
// script's code runs (this machine sets it to the system's bundle: about 0.1 s a start). The agent
// pins the server's certificate here and never uses it, and no peer is a Node program, so every
// timed command runs without it (the README's table notes when it was set).
const EXTRA_CA_CERTS = process.env.NODE_EXTRA_CA_CERTS;
const BASE_ENV = { ...process.env };
delete BASE_ENV.NODE_EXTRA_CA_CERTS;

// Node cannot read a child's rusage, so a command whose CPU time is wanted runs under bash, whose
// `times` prints the CPU time of the children it waited for (user, then system) on its second
// line: written to fd 3, which the command itself does not get. bash adds a few ms to the time.
const CPU_WRAPPER = '"$@" 3>&-; s=$?; times >&3; exit $s';

/** The children's "XmY.YYYs XmY.YYYs" line of bash's `times`, as CPU seconds. */
function parseTimes(out: string): number | undefined {
  const line = out.trim().split("\n")[1];
  const m = line && /^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/.exec(line.trim());
  return m ? Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]) : undefined;
}

/**
 * Runs a command, timing it from spawn to exit; kills it (by PID, or its process group when
 * wrapped) after TIMEOUT_MS. `measureCpu`: also its CPU seconds (see CPU_WRAPPER).
 */
function runProc(cmd: string, argv: string[], env: Record<string, string> = {}, cwd = REPO, measureCpu = false): Promise<ProcResult> {
  return new Promise((res, rej) => {
    const t0 = performance.now();
    const [exe, exeArgs] = measureCpu ? ["bash", ["-c", CPU_WRAPPER, "bench-cpu", cmd, ...argv]] : [cmd, argv];
    const child = spawn(exe, exeArgs, { cwd, env: { ...BASE_ENV, ...env }, stdio: measureCpu ? ["ignore", "pipe", "pipe", "pipe"] : ["ignore", "pipe", "pipe"], detached: measureCpu });
    let stdout = "";
    let stderr = "";
    let times = "";
    let hwm = 0;
    const poll = setInterval(() => {
      if (measureCpu) return; // the pid is bash's, not the command's
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
        if (m) hwm = Math.max(hwm, Number(m[1]) * 1024);
      } catch {
        /* exited */
      }
    }, 20);
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    if (measureCpu) (child.stdio[3] as NodeJS.ReadableStream).on("data", (d: Buffer) => (times += d.toString()));
    const timer = setTimeout(() => {
      if (measureCpu && child.pid) process.kill(-child.pid, "SIGKILL");
      else child.kill("SIGKILL");
    }, TIMEOUT_MS);
    child.on("error", (e) => {
      clearInterval(poll);
      clearTimeout(timer);
      rej(e);
    });
    child.on("close", (code) => {
      const ms = performance.now() - t0;
      clearInterval(poll);
      clearTimeout(timer);
      res({ ms, code, stdout, stderr, hwmBytes: hwm, cpuS: measureCpu ? parseTimes(times) : undefined });
    });
  });
}

function must(r: ProcResult, what: string): ProcResult {
  if (r.code !== 0) throw new Error(`${what} exited ${r.code}\n--- stdout ---\n${r.stdout.slice(-3000)}\n--- stderr ---\n${r.stderr.slice(-3000)}`);
  return r;
}

// ------------------------------------------------------------------------------------ files

async function run(cmd: string, argv: string[]): Promise<void> {
  must(await runProc(cmd, argv), `${cmd} ${argv.join(" ")}`);
}

// ------------------------------------------------------------------------------------ tools

interface Ctx {
  server: RunningServer;
  work: string;
  owner: { uid: number; gid: number };
  /** measure each tool's CPU seconds (the WAN rows) */
  measureCpu?: boolean;
}

/** The agent: a config with one remote (pinned, 4 connections) and a job per folder pair. */
class Agent {
  readonly dir: string;
  readonly configPath: string;
  private jobs = 0;
  /** `remoteExtra`: more settings for the remote (the TLS 1.2 variant). */
  constructor(private readonly ctx: Ctx, name: string, remoteExtra: Record<string, unknown> = {}) {
    this.dir = join(ctx.work, `agent-${name}`);
    mkdirSync(join(this.dir, "jobs"), { recursive: true });
    this.configPath = join(this.dir, "agent.config.json");
    const s = ctx.server;
    writeFileSync(
      this.configPath,
      JSON.stringify(
        {
          stateDir: "./state",
          jobsDir: "./jobs",
          log: { level: "info", file: "./logs/agent.log" },
          remotes: {
            bench: { host: s.host, port: s.port, tls: "explicit", user: s.user, password: { env: PASSWORD_ENV }, fingerprint: s.fingerprint, maxConnections: 4, ...remoteExtra },
          },
        },
        null,
        2,
      ),
    );
  }
  writeJob(name: string, job: Record<string, unknown>): void {
    this.jobs++;
    writeFileSync(join(this.dir, "jobs", `${name}.json`), JSON.stringify({ remote: "bench", ...job }, null, 2));
  }
  resetState(): void {
    rmSync(join(this.dir, "state"), { recursive: true, force: true });
  }
  async sync(job: string, measureCpu = this.ctx.measureCpu): Promise<Sample> {
    const r = must(
      await runProc(process.execPath, [CLI, "--config", this.configPath, "-q", "sync", job, "--json"], { [PASSWORD_ENV]: this.ctx.server.password }, REPO, measureCpu),
      `ftps-sync sync ${job}`,
    );
    const summary = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as { status: string; uploaded: number; downloaded: number; failed: number; peakRssBytes?: number };
    if (summary.status !== "ok") throw new Error(`ftps-sync sync ${job}: ${r.stdout}`);
    return { ms: r.ms, rss: summary.peakRssBytes ?? r.hwmBytes, cpuS: r.cpuS, note: `up ${summary.uploaded} down ${summary.downloaded}` };
  }
}

class Lftp {
  private readonly script: string;
  constructor(private readonly ctx: Ctx) {
    this.script = join(ctx.work, "lftp.rc");
    const s = ctx.server;
    // Without ssl-force and ssl-protect-data lftp would quietly fall back to plaintext.
    writeFileSync(
      this.script,
      [
        "set ftp:ssl-force true",
        "set ftp:ssl-protect-data true",
        `set ssl:ca-file ${s.certPath}`,
        "set ssl:verify-certificate true",
        "set net:max-retries 2",
        "set net:timeout 60",
        "set cmd:fail-exit true",
        `open -u ${s.user},${s.password} -p ${s.port} ${s.host}`,
        "",
      ].join("\n"),
      { mode: 0o600 },
    );
  }
  async do(command: string, measureCpu = this.ctx.measureCpu): Promise<Sample> {
    const r = must(await runProc("lftp", ["-c", `source ${this.script}; ${command}`], {}, REPO, measureCpu), `lftp ${command}`);
    return { ms: r.ms, rss: r.hwmBytes, cpuS: r.cpuS };
  }
}

class Rclone {
  private readonly config: string;
  constructor(private readonly ctx: Ctx, obscured: string) {
    this.config = join(ctx.work, "rclone.conf");
    const s = ctx.server;
    // rclone 1.60's --ca-cert does not reach the FTP backend, so it cannot verify this
    // self-signed certificate: no_check_certificate (loopback only). disable_tls13: rclone 1.60
    // against vsftpd 3.0.3 fails with "tls: illegal parameter" over TLS 1.3.
    writeFileSync(
      this.config,
      ["[bench]", "type = ftp", `host = ${s.host}`, `port = ${s.port}`, `user = ${s.user}`, `pass = ${obscured}`, "explicit_tls = true", "no_check_certificate = true", "disable_tls13 = true", ""].join("\n"),
      { mode: 0o600 },
    );
  }
  static async obscure(password: string): Promise<string> {
    return must(await runProc("rclone", ["obscure", password]), "rclone obscure").stdout.trim();
  }
  async do(argv: string[], measureCpu = this.ctx.measureCpu): Promise<Sample> {
    const r = must(await runProc("rclone", ["--config", this.config, "-q", ...argv], {}, REPO, measureCpu), `rclone ${argv.join(" ")}`);
    return { ms: r.ms, rss: r.hwmBytes, cpuS: r.cpuS };
  }
}

class Curl {
  private readonly netrc: string;
  constructor(private readonly ctx: Ctx) {
    this.netrc = join(ctx.work, "curl.netrc");
    writeFileSync(this.netrc, `machine ${ctx.server.host} login ${ctx.server.user} password ${ctx.server.password}\n`, { mode: 0o600 });
  }
  private base(): string[] {
    return ["-sS", "--fail", "--ssl-reqd", "--cacert", this.ctx.server.certPath, "--netrc-file", this.netrc];
  }
  private url(path: string): string {
    return `ftp://${this.ctx.server.host}:${this.ctx.server.port}${path}`;
  }
  async upload(file: string, remoteDir: string): Promise<Sample> {
    const r = must(await runProc("curl", [...this.base(), "--ftp-create-dirs", "-T", file, this.url(remoteDir + "/")], {}, REPO, this.ctx.measureCpu), "curl upload");
    return { ms: r.ms, rss: r.hwmBytes, cpuS: r.cpuS };
  }
  async download(remotePath: string, file: string): Promise<Sample> {
    const r = must(await runProc("curl", [...this.base(), "-o", file, this.url(remotePath)], {}, REPO, this.ctx.measureCpu), "curl download");
    return { ms: r.ms, rss: r.hwmBytes, cpuS: r.cpuS };
  }
}

// ------------------------------------------------------------------------------------ results

type Peer = "lftp" | "rclone" | "curl";
const PEERS: Peer[] = ["lftp", "rclone", "curl"];

interface Row {
  id: string;
  label: string;
  /** files or bytes, for throughput */
  agent: Sample[];
  agentLabel?: string;
  /** a second agent variant (trustRemote) */
  agentTrust?: Sample[];
  /** a third: the same job with `"maxTlsVersion": "1.2"` */
  agentTls12?: Sample[];
  peers: Partial<Record<Peer, Sample[]>>;
  target?: { text: string; check: (r: Row) => boolean | undefined };
  notes?: string[];
}

const rows: Row[] = [];
const notes: string[] = [];
const wanRows: WanRow[] = [];
const wanNotes: string[] = [];
const available: Record<Peer, boolean> = { lftp: !!which("lftp"), rclone: !!which("rclone"), curl: !!which("curl") };

const med = (s?: Sample[]) => (s && s.length ? median(s.map((x) => x.ms)) : undefined);
const maxRss = (s?: Sample[]) => (s && s.length ? Math.max(...s.map((x) => x.rss)) : undefined);
const mib = (b?: number) => (b === undefined ? "-" : `${Math.round(b / 2 ** 20)} MiB`);

function cell(row: Row, peer: Peer): string {
  const p = med(row.peers[peer]);
  if (p === undefined) return available[peer] ? "-" : "not installed";
  const r = ratio(med(row.agent), p);
  return `${secs(p)} (${r!.toFixed(2)}x)`;
}

function table(): string {
  const lines = [
    "| workload | ftps-sync | ftps-sync, trustRemote | ftps-sync, TLS 1.2 | lftp `mirror -P4` | rclone `--transfers 4` | curl | ftps-sync peak RSS | target | met |",
    "|---|---:|---:|---:|---:|---:|---:|---:|---|:-:|",
  ];
  for (const r of rows) {
    const met = r.target?.check(r);
    lines.push(
      `| ${r.label} | ${secs(med(r.agent))} | ${r.agentTrust ? secs(med(r.agentTrust)) : "-"} | ${r.agentTls12 ? secs(med(r.agentTls12)) : "-"} | ${cell(r, "lftp")} | ${cell(r, "rclone")} | ${cell(r, "curl")} | ${mib(Math.max(maxRss(r.agent) ?? 0, maxRss(r.agentTrust) ?? 0, maxRss(r.agentTls12) ?? 0) || undefined)} | ${r.target?.text ?? ""} | ${met === undefined ? "" : met ? "yes" : "**no**"} |`,
    );
  }
  return lines.join("\n");
}

function machine(): string {
  const cpu = cpus()[0]?.model.trim() ?? "unknown CPU";
  let os = "Linux";
  try {
    os = /PRETTY_NAME="([^"]+)"/.exec(readFileSync("/etc/os-release", "utf8"))?.[1] ?? os;
  } catch {
    /* keep */
  }
  return `${cpus().length} cores (${cpu}), ${Math.round(totalmem() / 2 ** 30)} GiB RAM, ${os}, Node ${process.version}`;
}

// ------------------------------------------------------------------------------------ workloads

async function rmRemote(ctx: Ctx, rel: string): Promise<void> {
  rmSync(join(ctx.server.root, rel), { recursive: true, force: true });
}

/** Copies a local tree into the server's folder as the FTP user (seeding, not timed). */
async function seedRemote(ctx: Ctx, from: string, rel: string): Promise<void> {
  const to = join(ctx.server.root, rel);
  rmSync(to, { recursive: true, force: true });
  await run("cp", ["-a", from, to]);
  await run("chown", ["-R", `${ctx.owner.uid}:${ctx.owner.gid}`, to]);
}

interface Tools {
  lftp?: Lftp;
  rclone?: Rclone;
  curl?: Curl;
}

async function smallFiles(ctx: Ctx, tools: Tools, id: string, spec: { files: number; dirs: number; bytes: number }): Promise<void> {
  const what = `${spec.files.toLocaleString("en")} files of ${spec.bytes >= 1024 ? spec.bytes / 1024 + " KiB" : spec.bytes + " B"} in ${spec.dirs} folders`;
  log(`${id}: making ${what}`);
  const local = join(ctx.work, `${id}-src`);
  makeTree(local, spec);
  const agent = new Agent(ctx, id);
  agent.writeJob("up", { remotePath: `/agent-${id}`, local, direction: "upload" });
  const agent12 = new Agent(ctx, `${id}-tls12`, { maxTlsVersion: "1.2" });
  agent12.writeJob("up", { remotePath: `/agent12-${id}`, local, direction: "upload" });

  const first: Row = {
    id: `${id}-first`,
    label: `first upload, ${what}`,
    agent: [],
    agentTls12: [],
    peers: {},
    target: { text: "≥ 1.3x lftp", check: (r) => (ratio(med(r.agent), med(r.peers.lftp)) ?? NaN) >= 1.3 || (med(r.peers.lftp) === undefined ? undefined : false) },
  };
  rows.push(first);
  // The first uploads are CPU-bound on loopback: each tool's CPU, and the whole machine's, is
  // measured with its time (see cpuPerFileNote).
  for (let i = 1; i <= args.runs; i++) {
    log(`${id}: first upload, run ${i}/${args.runs}`);
    await rmRemote(ctx, `agent-${id}`);
    agent.resetState();
    first.agent.push(await withMachineCpu(() => agent.sync("up", true)));
    await rmRemote(ctx, `agent12-${id}`);
    agent12.resetState();
    first.agentTls12!.push(await withMachineCpu(() => agent12.sync("up", true)));
    if (tools.lftp) {
      await rmRemote(ctx, `lftp-${id}`);
      (first.peers.lftp ??= []).push(await withMachineCpu(() => tools.lftp!.do(`mirror -R -P4 ${local} /lftp-${id}`, true)));
    }
    if (tools.rclone) {
      await rmRemote(ctx, `rclone-${id}`);
      (first.peers.rclone ??= []).push(await withMachineCpu(() => tools.rclone!.do(["sync", local, `bench:/rclone-${id}`, "--transfers", "4", "--checkers", "4"], true)));
    }
  }
  notes.push(cpuPerFileNote(first, spec.files, await tlsFloor(ctx)));

  const again: Row = {
    id: `${id}-rerun`,
    label: `re-run, nothing changed, ${spec.files.toLocaleString("en")} files`,
    agent: [],
    agentTrust: [],
    agentTls12: [],
    peers: {},
    target: { text: "≤ rclone's time", check: (r) => (med(r.peers.rclone) === undefined ? undefined : med(r.agent)! <= med(r.peers.rclone)!) },
  };
  rows.push(again);
  agent.writeJob("up-trust", { remotePath: `/agent-${id}`, local, direction: "upload", trustRemote: true });
  await agent.sync("up-trust"); // first run of this job: lists once to fill its state (not timed)
  // The listing jobs' first re-run after the upload learns the server's times once (vsftpd has no
  // MFMT: the upload could not set them): not timed either, as the 100 000-file rows' first runs.
  await agent.sync("up");
  await agent12.sync("up");
  for (let i = 1; i <= args.runs; i++) {
    log(`${id}: re-run, run ${i}/${args.runs}`);
    again.agent.push(await agent.sync("up"));
    again.agentTrust!.push(await agent.sync("up-trust"));
    again.agentTls12!.push(await agent12.sync("up"));
    if (tools.lftp) (again.peers.lftp ??= []).push(await tools.lftp.do(`mirror -R -P4 ${local} /lftp-${id}`));
    if (tools.rclone) (again.peers.rclone ??= []).push(await tools.rclone.do(["sync", local, `bench:/rclone-${id}`, "--transfers", "4", "--checkers", "4"]));
  }
  for (const s of again.agent.concat(again.agentTrust!, again.agentTls12!)) if (!/^up 0 /.test(s.note ?? "")) notes.push(`${again.label}: the agent transferred something (${s.note})`);
}

/** Busy CPU seconds of the whole machine since boot (all cores; /proc/stat counts in 1/100 s). */
function machineBusyS(): number {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  return (f[0] + f[1] + f[2] + f[5] + f[6] + f[7]) / 100;
}

async function withMachineCpu(run: () => Promise<Sample>): Promise<Sample> {
  const before = machineBusyS();
  const s = await run();
  return { ...s, machineCpuS: machineBusyS() - before };
}

/** Node's own CPU per resumed TLS data connection (bench/tls-floor.ts), measured once per bench run. */
let tlsFloorMeasured: Promise<TlsFloor> | undefined;
function tlsFloor(ctx: Ctx): Promise<TlsFloor> {
  return (tlsFloorMeasured ??= (async () => {
    const { generateCert } = await import("../test/servers/certs.js");
    const cert = await generateCert(join(ctx.work, "tls-floor"));
    return measureTlsFloor(cert.keyPath, cert.certPath);
  })());
}

/** What a first upload of small files costs in CPU per file, for each tool and for the machine. */
function cpuPerFileNote(row: Row, files: number, floor: TlsFloor): string {
  const perFile = (samples: Sample[] | undefined, field: "cpuS" | "machineCpuS") => {
    const s = medianOf(samples, field);
    return s === undefined ? "-" : `${((s * 1000) / files).toFixed(2)} ms`;
  };
  const tools: [string, Sample[] | undefined][] = [
    ["ftps-sync", row.agent],
    ["ftps-sync TLS 1.2", row.agentTls12],
    ["lftp", row.peers.lftp],
    ["rclone", row.peers.rclone],
  ];
  const measured = tools.filter(([, s]) => s?.length);
  const floorText = floorTold
    ? ""
    : `. Node alone spends ${floor.tls13Ms.toFixed(2)} ms of CPU on one resumed TLS 1.3 connection on loopback, 4 KiB written and closed ` +
      `(${floor.tls12Ms.toFixed(2)} ms over TLS 1.2; bench/tls-floor.ts), before any FTP, state or file work`;
  floorTold = true;
  return (
    `${row.label}: CPU per file (medians): ${measured.map(([n, s]) => `${n} ${perFile(s, "cpuS")}`).join(", ")}; ` +
    `the whole machine's (the tool, vsftpd and the kernel, 2 cores) ${measured.map(([n, s]) => `${n} ${perFile(s, "machineCpuS")}`).join(", ")}` +
    floorText
  );
}
/** The TLS floor is told once, in the first note that uses it. */
let floorTold = false;

// A Node process that only walks a tree: readdir and lstat of every name, one thread, no state
// and no network (the floor under a trusted re-run: see walkFloorNote).
const WALK_SCRIPT = `const fs = require("node:fs"), root = process.argv[1]; let n = 0;
const walk = (d) => { for (const name of fs.readdirSync(d)) { const p = d + "/" + name; n++; if (fs.lstatSync(p).isDirectory()) walk(p); } };
walk(root); process.stdout.write(String(n));`;

/** How long a bare walk of `local` takes from start to exit, against the row's trusted re-runs. */
async function walkFloorNote(local: string, row: Row): Promise<string> {
  const runs: number[] = [];
  let names = "";
  for (let i = 0; i < Math.max(3, args.runs); i++) {
    const r = must(await runProc(process.execPath, ["-e", WALK_SCRIPT, local]), "the bare walk");
    runs.push(r.ms);
    names = r.stdout;
  }
  return (
    `${row.label}: a Node process that only walks the same tree (readdir and lstat of each of its ${Number(names).toLocaleString("en")} names, ` +
    `one thread, no state, no network) takes ${secs(median(runs))} from start to exit (median of ${runs.length}), against trustRemote's ${secs(med(row.agentTrust))}`
  );
}

async function tree100k(ctx: Ctx, tools: Tools): Promise<void> {
  const spec = SIZES.tree100k;
  const id = "tree-100k";
  const what = `${spec.files.toLocaleString("en")} files`;
  log(`${id}: making ${what} of ${spec.bytes} B in ${spec.dirs} folders`);
  const local = join(ctx.work, `${id}-src`);
  makeTree(local, spec);
  // The remote copies are made on the server's disk (cp -a keeps the times), not uploaded:
  // the first upload of this tree is not what these rows measure.
  log(`${id}: seeding the remote folders`);
  await seedRemote(ctx, local, `agent-${id}`);
  await seedRemote(ctx, local, `agent12-${id}`);
  if (tools.lftp) await seedRemote(ctx, local, `lftp-${id}`);
  if (tools.rclone) await seedRemote(ctx, local, `rclone-${id}`);
  const agent = new Agent(ctx, id);
  agent.writeJob("up", { remotePath: `/agent-${id}`, local, direction: "upload" });
  agent.writeJob("up-trust", { remotePath: `/agent-${id}`, local, direction: "upload", trustRemote: true });
  log(`${id}: first agent runs (fill the state, not timed)`);
  await agent.sync("up");
  await agent.sync("up-trust");
  const agent12 = new Agent(ctx, `${id}-tls12`, { maxTlsVersion: "1.2" });
  agent12.writeJob("up", { remotePath: `/agent12-${id}`, local, direction: "upload" });
  await agent12.sync("up");
  // lftp and rclone: one untimed pass each, so that the timed ones compare like with like.
  if (tools.lftp) await tools.lftp.do(`mirror -R -P4 ${local} /lftp-${id}`);
  if (tools.rclone) await tools.rclone.do(["sync", local, `bench:/rclone-${id}`, "--transfers", "4", "--checkers", "4"]);

  const same: Row = {
    id: `${id}-rerun`,
    label: `re-run, nothing changed, ${what}`,
    agent: [],
    agentTrust: [],
    agentTls12: [],
    peers: {},
    target: {
      text: "trustRemote < 1 s, RSS < 200 MiB",
      check: (r) => med(r.agentTrust)! < 1000 && Math.max(maxRss(r.agent)!, maxRss(r.agentTrust)!, maxRss(r.agentTls12)!) < 200 * 2 ** 20,
    },
  };
  const one: Row = {
    id: `${id}-one`,
    label: `re-run, 1 file changed among ${what}`,
    agent: [],
    agentTrust: [],
    peers: {},
    target: { text: "RSS < 200 MiB", check: (r) => Math.max(maxRss(r.agent)!, maxRss(r.agentTrust)!) < 200 * 2 ** 20 },
  };
  rows.push(same, one);
  const lftpCmd = `mirror -R -P4 ${local} /lftp-${id}`;
  const rcloneArgs = ["sync", local, `bench:/rclone-${id}`, "--transfers", "4", "--checkers", "4"];
  for (let i = 1; i <= args.runs; i++) {
    log(`${id}: nothing changed, run ${i}/${args.runs}`);
    same.agent.push(await agent.sync("up"));
    same.agentTrust!.push(await agent.sync("up-trust"));
    same.agentTls12!.push(await agent12.sync("up"));
    if (tools.lftp) (same.peers.lftp ??= []).push(await tools.lftp.do(lftpCmd));
    if (tools.rclone) (same.peers.rclone ??= []).push(await tools.rclone.do(rcloneArgs));
  }
  notes.push(await walkFloorNote(local, same));
  // One changed file: a different file for each tool and run, rewritten (new size and time)
  // just before that tool runs.
  let k = 0;
  const touch = () => {
    const p = join(local, "d0000", `f${String(k++ % 100).padStart(5, "0")}.bin`);
    writeFileSync(p, randomBytes(spec.bytes + 1 + (k % 50)));
    const t = new Date(Date.now() + k * 60_000);
    utimesSync(p, t, t);
  };
  for (let i = 1; i <= args.runs; i++) {
    log(`${id}: one file changed, run ${i}/${args.runs}`);
    touch();
    one.agent.push(await agent.sync("up"));
    touch();
    one.agentTrust!.push(await agent.sync("up-trust"));
    // full-listing job: it sees the trusted job's change too next time; both jobs share the remote
    touch();
    if (tools.lftp) (one.peers.lftp ??= []).push(await tools.lftp.do(lftpCmd));
    touch();
    if (tools.rclone) (one.peers.rclone ??= []).push(await tools.rclone.do(rcloneArgs));
  }
}

async function bigFile(ctx: Ctx, tools: Tools): Promise<void> {
  const id = "big";
  const bytes = SIZES.bigBytes;
  const label = bytes >= 2 ** 30 ? `${bytes / 2 ** 30} GiB` : `${bytes / 2 ** 20} MiB`;
  log(`${id}: making one file of ${label}`);
  const srcDir = join(ctx.work, "big-src");
  const src = join(srcDir, "big.bin");
  makeBigFile(src, bytes);
  const agent = new Agent(ctx, id);
  agent.writeJob("up", { remotePath: "/agent-big-up", local: srcDir, direction: "upload" });

  const up: Row = {
    id: "big-up",
    label: `one ${label} file, upload`,
    agent: [],
    peers: {},
    target: { text: "≥ 0.95x curl's speed", check: (r) => (med(r.peers.curl) === undefined ? undefined : ratio(med(r.agent), med(r.peers.curl))! >= 0.95) },
  };
  rows.push(up);
  // Every timed upload starts with no dirty pages on the disk: the server writes 1 GiB for each
  // tool, and without a flush in between each tool paid for the one before it (curl's upload took
  // 8 to 23 s in one series of alternating runs).
  const settled = () => run("sync", []);
  for (let i = 1; i <= args.runs; i++) {
    log(`${id}: upload, run ${i}/${args.runs}`);
    await rmRemote(ctx, "agent-big-up");
    agent.resetState();
    await settled();
    up.agent.push(await agent.sync("up"));
    if (tools.curl) {
      await rmRemote(ctx, "curl-big-up");
      await settled();
      (up.peers.curl ??= []).push(await tools.curl.upload(src, "/curl-big-up"));
    }
    if (tools.lftp) {
      await rmRemote(ctx, "lftp-big-up");
      await settled();
      (up.peers.lftp ??= []).push(await tools.lftp.do(`mirror -R -P4 ${srcDir} /lftp-big-up`));
    }
    if (tools.rclone) {
      await rmRemote(ctx, "rclone-big-up");
      await settled();
      (up.peers.rclone ??= []).push(await tools.rclone.do(["sync", srcDir, "bench:/rclone-big-up", "--transfers", "4", "--checkers", "4"]));
    }
  }
  for (const t of ["lftp", "rclone", "curl"]) await rmRemote(ctx, `${t}-big-up`);

  // Download: the agent's uploaded copy is the source for everyone.
  const down: Row = {
    id: "big-down",
    label: `one ${label} file, download`,
    agent: [],
    peers: {},
    target: { text: "≥ 0.95x curl's speed", check: (r) => (med(r.peers.curl) === undefined ? undefined : ratio(med(r.agent), med(r.peers.curl))! >= 0.95) },
  };
  rows.push(down);
  const dl = join(ctx.work, "big-down");
  const diskFloor: number[] = [];
  agent.writeJob("down", { remotePath: "/agent-big-up", local: join(dl, "agent"), direction: "download" });
  for (let i = 1; i <= args.runs; i++) {
    log(`${id}: download, run ${i}/${args.runs}`);
    rmSync(dl, { recursive: true, force: true });
    for (const t of ["agent", "lftp", "rclone", "curl"]) mkdirSync(join(dl, t), { recursive: true });
    agent.resetState();
    // Every timed download starts with no dirty pages left by the one before: the agent flushes
    // its file to disk before the rename, and must not pay for the peers' unflushed gigabytes.
    await run("sync", []);
    down.agent.push(await agent.sync("down"));
    if (statSync(join(dl, "agent", "big.bin")).size !== bytes) throw new Error("agent download: wrong size");
    rmSync(join(dl, "agent"), { recursive: true, force: true });
    await run("sync", []);
    if (tools.curl) (down.peers.curl ??= []).push(await tools.curl.download("/agent-big-up/big.bin", join(dl, "curl", "big.bin")));
    rmSync(join(dl, "curl"), { recursive: true, force: true });
    await run("sync", []);
    if (tools.lftp) (down.peers.lftp ??= []).push(await tools.lftp.do(`get /agent-big-up/big.bin -o ${join(dl, "lftp", "big.bin")}`));
    rmSync(join(dl, "lftp"), { recursive: true, force: true });
    // The disk's own floor for a durable copy: writing as many bytes and flushing them (the agent
    // flushes a download before giving it its name; curl and lftp do not), with no network at all.
    await run("sync", []);
    const t0 = performance.now();
    await run("dd", ["if=/dev/zero", `of=${join(dl, "dd.bin")}`, "bs=4M", `count=${Math.ceil(bytes / (4 * 2 ** 20))}`, "conv=fdatasync", "status=none"]);
    diskFloor.push(performance.now() - t0);
    rmSync(join(dl, "dd.bin"), { force: true });
  }
  if (diskFloor.length) {
    notes.push(
      `${down.label}: writing ${label} to this disk and flushing it (dd conv=fdatasync, no network) took ${secs(median(diskFloor))} (median), ` +
        `against curl's ${secs(med(down.peers.curl))} without a flush: a download made durable before it is published cannot be faster than that here.`,
    );
  }
  if (tools.rclone) notes.push(`${down.label}: rclone not run: rclone 1.60's download from vsftpd 3.0.3 over TLS fails with "426 Failure writing network stream"`);
  rmSync(dl, { recursive: true, force: true });
  rmSync(srcDir, { recursive: true, force: true });
  await rmRemote(ctx, "agent-big-up");

  // Memory stays flat with the file's size: a much larger (sparse) file, uploaded once.
  const memLabel = SIZES.bigMemBytes >= 2 ** 30 ? `${SIZES.bigMemBytes / 2 ** 30} GiB` : `${SIZES.bigMemBytes / 2 ** 20} MiB`;
  log(`${id}: memory check with a ${memLabel} file`);
  const memDir = join(ctx.work, "big-mem");
  makeSparseFile(join(memDir, "huge.bin"), SIZES.bigMemBytes);
  agent.writeJob("mem", { remotePath: "/agent-big-mem", local: memDir, direction: "upload" });
  const mem: Row = {
    id: "big-mem",
    label: `one ${memLabel} file, upload (memory check, 1 run)`,
    agent: [await agent.sync("mem")],
    peers: {},
    target: {
      text: `peak RSS within 10% of the ${label} upload`,
      check: (r) => maxRss(r.agent)! <= 1.1 * maxRss(up.agent)!,
    },
  };
  rows.push(mem);
  rmSync(memDir, { recursive: true, force: true });
  await rmRemote(ctx, "agent-big-mem");
}

/**
 * The agent daemon watching the 100 000-file tree (bench/watch-tree.ts): the watch-100k row of
 * figures, no peers; then, when named, the watch-soak row on the same tree and state.
 */
async function watchTree100k(ctx: Ctx): Promise<void> {
  const spec = SIZES.watchTree;
  const id = "watch-100k";
  const local = join(ctx.work, `${id}-src`);
  log(`${id}: making ${spec.files} files in ${spec.dirs} folders`);
  makeTree(local, spec);
  await seedRemote(ctx, local, `agent-${id}`);
  const agent = new Agent(ctx, id);
  agent.writeJob("watched", { remotePath: `/agent-${id}`, local, direction: "upload", watch: true, watchDebounce: "200ms" });
  const env = {
    cli: CLI, configPath: agent.configPath, env: { ...BASE_ENV, [PASSWORD_ENV]: ctx.server.password } as Record<string, string>,
    local, remoteRoot: join(ctx.server.root, `agent-${id}`), folders: spec.dirs, events: Math.max(5, args.runs * 3), log,
  };
  try {
    if (want("watch-100k")) await guarded("watch-100k", notes, async () => {
      const figures = await watchTree(env);
      rows.push({
        id,
        label: `watch job on ${spec.files.toLocaleString("en")} files: one new file to the server (RSS: first run's peak)`,
        agent: figures.latenciesMs.map((ms) => ({ ms, rss: figures.peakRss })),
        peers: {},
        target: {
          text: "idle < 150 MiB, peak < 300 MiB, latency < 1.5 s, one watch per folder",
          check: () =>
            figures.idleRss < 150 * 2 ** 20 && Math.max(figures.peakRss, figures.restartPeakRss) < 300 * 2 ** 20 && median(figures.latenciesMs) < 1500 && figures.watches <= spec.dirs + 1,
        },
      });
      notes.push(...describeWatchTree(figures, spec.files, spec.dirs));
      log(notes.at(-1)!);
    });
    if (want("watch-soak")) await guarded("watch-soak", notes, async () => {
      log(`watch-soak: ${args.soak.events} events over ${args.soak.minutes} min`);
      const soak = await watchSoak({ ...env, events: args.soak.events, minutes: args.soak.minutes });
      notes.push(...describeWatchSoak(soak, spec.files));
      log(notes.at(-1)!);
      if (soak.missing > 0) throw new Error(`watch-soak: ${soak.missing} files did not reach the server`);
    });
  } finally {
    rmSync(local, { recursive: true, force: true });
    await rmRemote(ctx, `agent-${id}`);
  }
}

// ------------------------------------------------------------------------------------ README

/** Replaces what lies between README.md's `<!-- NAME:start -->` and `<!-- NAME:end -->`. */
function writeReadmeSection(name: string, lines: string[]): void {
  const path = join(REPO, "README.md");
  const text = readFileSync(path, "utf8");
  const start = `<!-- ${name}:start -->`;
  const end = `<!-- ${name}:end -->`;
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  if (a < 0 || b < a) {
    log(`README.md has no ${start} ... ${end} markers: table not written`);
    return;
  }
  writeFileSync(path, text.slice(0, a) + [start, ...lines, end].join("\n") + text.slice(b + end.length));
  log(`README.md: ${name} rewritten`);
}

const noteLines = (ns: string[]) => (ns.length ? ["Notes from this run:", "", ...ns.map((n) => `- ${n}`), ""] : []);

function writeReadme(runs: number, elapsedS: number, vsftpdInfo: string): void {
  writeReadmeSection("bench", [
    `Measured ${new Date().toISOString().slice(0, 10)} by \`npm run bench\` (${runs} runs each, medians; the whole run took ${Math.round(elapsedS / 60)} min) on ${machine()}; ` +
      `${vsftpdInfo} on 127.0.0.1, 4 connections for every tool. In brackets: the peer's time divided by ftps-sync's (above 1: ftps-sync is faster).`,
    "",
    table(),
    "",
    ...noteLines(notes),
  ]);
}

/**
 * The agent's source for the table's caption: the last commit that changed src/ (a commit of the
 * main line: it keeps its name when a benchmark branch is rebased), plus a word when the tree differs.
 */
function agentCommit(): string {
  const git = (...a: string[]) => spawnSync("git", ["-C", REPO, ...a], { encoding: "utf8" });
  const src = git("log", "-1", "--format=%h", "--", "src").stdout.trim();
  if (!src) return "an unknown commit";
  const dirty = git("status", "--porcelain", "--", "src").stdout.trim() !== "";
  return dirty ? `commit ${src} with uncommitted changes in src/` : `commit ${src} (the last to change src/)`;
}

function writeReadmeWan(runs: number, elapsedS: number, vsftpdInfo: string): void {
  writeReadmeSection("bench-wan", [
    `Measured ${new Date().toISOString().slice(0, 10)} by \`npm run bench\` (${runs} runs each, medians; the WAN rows took ${Math.round(elapsedS / 60)} min) on ${machine()}; ` +
      `${vsftpdInfo} behind the delay proxy, 4 connections for every tool, the agent of ${agentCommit()}. In brackets: the peer's time divided by ftps-sync's (above 1: ftps-sync is faster).`,
    "",
    wanTable(wanRows, available),
    "",
    wanPerFileTable(wanRows),
    "",
    wanFirstByteTable(wanRows),
    "",
    ...noteLines(wanNotes),
  ]);
}

// ------------------------------------------------------------------------------------ main

let failed = 0;

function writeJson(path: string): void {
  const out = {
    machine: machine(),
    runs: args.runs,
    quick: Q,
    rows: rows.map(({ target, ...r }) => ({ ...r, target: target?.text, met: target?.check({ ...r, target } as Row) })),
    notes,
    wanRows: wanRows.map((r) => ({ ...r, met: wanMet(r) })),
    wanNotes,
  };
  writeFileSync(path, JSON.stringify(out, null, 2));
}

async function main(): Promise<number> {
  const avail = serversAvailable();
  if (!avail.vsftpd) {
    log(`vsftpd is not available: ${avail.reason}. Run: bash scripts/fetch-servers.sh (as root)`);
    return 2;
  }
  if (!existsSync(CLI)) {
    log(`the agent is not built (${CLI} missing): run npm run build`);
    return 2;
  }
  const missing = PEERS.filter((p) => !available[p]);
  if (missing.length) {
    log(`missing peers: ${missing.join(", ")}. Install them with: apt-get install -y lftp rclone curl   (or: bash scripts/fetch-bench-tools.sh)`);
    if (args.requirePeers) return 2;
    log(`their columns are left out ("not installed"); --require-peers makes this an error`);
    notes.push(`not installed, so not measured: ${missing.join(", ")}`);
  }
  if (EXTRA_CA_CERTS !== undefined) {
    notes.push(`this environment sets NODE_EXTRA_CA_CERTS; every tool ran without it (Node parses that file at each start, before any script runs; the agent pins the server's certificate)`);
  }
  const started = performance.now();
  const owner = await ensureTestUser();
  const work = mkdtempSync(join(tmpdir(), "ftps-sync-bench-"));
  chmodSync(work, 0o755);
  const servers: RunningServer[] = [];
  let proxy: DelayProxy | undefined;
  const stop = async () => {
    await proxy?.stop();
    for (const s of servers) await s.stop().catch(() => undefined);
    if (!args.keep) rmSync(work, { recursive: true, force: true });
  };
  process.once("SIGINT", () => void stop().then(() => process.exit(130)));
  let wanElapsed = 0;
  try {
    if (LOOPBACK.some(want) || SOAK.some(want)) {
      const server = await startServer("vsftpd", { tls: "explicit" });
      servers.push(server);
      await runLoopback({ server, work, owner });
    }
    if (wanWanted.length) {
      const t0 = performance.now();
      const server = await startServer("vsftpd", { tls: "explicit", listenAddress: "127.0.0.2", pasvAddress: "127.0.0.1" });
      servers.push(server);
      proxy = await DelayProxy.forFtpServer(server, args.wan[0] / 2);
      await runWan({ server, work: join(work, "wan"), owner, measureCpu: true }, proxy);
      wanElapsed = (performance.now() - t0) / 1000;
    }
    if (SCALE.some(want)) await runScale(work, servers);
  } finally {
    await stop();
  }
  const elapsed = (performance.now() - started) / 1000;
  const out: string[] = [];
  if (rows.length) {
    out.push(`\nftps-sync benchmark: ${machine()}; vsftpd 3.0.3 explicit TLS on loopback; ${args.runs} run(s) each, medians`, "", table(), "");
    if (notes.length) out.push(...notes.map((n) => `note: ${n}`), "");
  }
  if (wanRows.length) {
    out.push(`\nWAN rows: vsftpd 3.0.3 explicit TLS behind the delay proxy; ${args.runs} run(s) each, medians`, "", wanTable(wanRows, available), "", wanPerFileTable(wanRows), "", wanFirstByteTable(wanRows), "");
    if (wanNotes.length) out.push(...wanNotes.map((n) => `note: ${n}`), "");
  }
  if (scaleOut.length) out.push(`\nScale rows (${machine()}):`, "", ...scaleOut, "");
  process.stdout.write(out.join("\n") + "\n");
  if (args.json) writeJson(args.json);
  const vsftpdInfo = "vsftpd 3.0.3 with explicit TLS (require_ssl_reuse=YES)";
  if (args.readme && LOOPBACK.every(want)) writeReadme(args.runs, elapsed, vsftpdInfo);
  if (args.readme && WAN.every((w) => wanWanted.includes(w))) writeReadmeWan(args.runs, wanElapsed, vsftpdInfo);
  return failed > 0 ? 1 : 0;
}

const LOOPBACK = ["small-2k", "small-20k", "tree-100k", "big", "watch-100k"];
const WAN = ["wan-small", "wan-big"];
/** Long and heavy (minutes, gigabytes of state): only when named with --only. */
const SCALE = ["scale-history", "scale-schedule"];
/** Minutes long (bench/watch-tree.ts watchSoak): only when named with --only. */
const SOAK = ["watch-soak"];
function want(w: string): boolean {
  if (SCALE.includes(w) || SOAK.includes(w)) return !!args.only?.has(w);
  return !args.only || args.only.has(w) || (WAN.includes(w) && args.only.has("wan"));
}
for (const w of args.only ?? []) if (![...LOOPBACK, ...WAN, ...SCALE, ...SOAK, "wan"].includes(w)) usage(`unknown workload ${w}`);
const scaleOut: string[] = [];
const wanWanted = args.wan.length ? WAN.filter(want) : [];

/** One workload's error is a note (and exit code 1), and the others still run. */
async function guarded(name: string, into: string[], fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (err) {
    failed++;
    const first = String((err as Error).message).split("\n").filter(Boolean).slice(0, 6).join(" / ");
    into.push(`${name}: stopped by an error: ${first}`);
    log(`${name} failed: ${(err as Error).stack ?? err}`);
  }
}

async function runLoopback(ctx: Ctx): Promise<void> {
  const { server } = ctx;
  const tools: Tools = {
    lftp: available.lftp ? new Lftp(ctx) : undefined,
    rclone: available.rclone ? new Rclone(ctx, await Rclone.obscure(server.password)) : undefined,
    curl: available.curl ? new Curl(ctx) : undefined,
  };
  log(`vsftpd on 127.0.0.1:${server.port}; work folder ${ctx.work}; ${args.runs} run(s) per workload${Q ? " (quick sizes)" : ""}`);
  const workloads: [string, () => Promise<void>][] = [
    ["small-2k", () => smallFiles(ctx, tools, "small-2k", SIZES.small2k)],
    ["small-20k", () => smallFiles(ctx, tools, "small-20k", SIZES.small20k)],
    ["tree-100k", () => tree100k(ctx, tools)],
    ["big", () => bigFile(ctx, tools)],
    ["watch-100k", () => watchTree100k(ctx)],
  ];
  for (const [name, fn] of workloads) {
    if (!want(name) && !(name === "watch-100k" && want("watch-soak"))) continue;
    await guarded(name, notes, fn);
    process.stderr.write("\n" + table() + "\n\n");
    if (args.json) writeJson(args.json);
  }
}

/**
 * The WAN rows: a second vsftpd listens on 127.0.0.2 and names 127.0.0.1 in PASV; the delay proxy
 * takes 127.0.0.1 on the same ports (control and passive), so the tools, connecting to
 * 127.0.0.1 as on loopback, reach it through the proxy for control and data alike.
 */
async function runWan(ctx: Ctx, proxy: DelayProxy): Promise<void> {
  mkdirSync(ctx.work, { recursive: true });
  const { server } = ctx;
  const env: WanEnv = {
    work: ctx.work,
    proxy,
    tools: {
      lftp: available.lftp ? new Lftp(ctx) : undefined,
      rclone: available.rclone ? new Rclone(ctx, await Rclone.obscure(server.password)) : undefined,
      curl: available.curl ? new Curl(ctx) : undefined,
    },
    newAgent: (name) => new Agent(ctx, name),
    rmRemote: (rel) => rmRemote(ctx, rel),
    flushDisk: () => run("sync", []),
    runs: args.runs,
    quick: Q,
    log,
    notes: wanNotes,
    rows: wanRows,
  };
  if (EXTRA_CA_CERTS !== undefined) wanNotes.push(`this environment sets NODE_EXTRA_CA_CERTS; every tool ran without it (as in the loopback table)`);
  // The proxy shares the cores with the tools and with whatever else runs here: say how busy they were.
  const loads: number[] = [];
  const sampleLoad = setInterval(() => loads.push(loadavg()[0]), 10_000);
  for (const rtt of args.wan) {
    proxy.oneWayMs = rtt / 2;
    log(`WAN: ${rtt} ms round trip (vsftpd on ${server.listenAddress}:${server.port}, proxy on 127.0.0.1); ${args.runs} run(s) per workload${Q ? " (quick sizes)" : ""}`);
    const workloads: [string, (env: WanEnv, rtt: number) => Promise<void>][] = [
      ["wan-small", wanSmall],
      ["wan-big", wanBig],
    ];
    for (const [name, fn] of workloads) {
      if (!wanWanted.includes(name)) continue;
      proxy.takeLateness();
      await guarded(`${name} at ${rtt} ms`, wanNotes, () => fn(env, rtt));
      const late = proxy.takeLateness();
      wanNotes.push(
        `${name} at ${rtt} ms: the proxy delivered ${late.chunks.toLocaleString("en")} chunks ${late.meanMs.toFixed(2)} ms late on average ` +
          `(at most ${late.maxMs.toFixed(1)} ms: its timers and the tools' load on the same 2 cores; not counting waits for a busy receiver), on top of the ${rtt / 2} ms each way`,
      );
      process.stderr.write("\n" + wanTable(wanRows, available) + "\n\n" + wanPerFileTable(wanRows) + "\n\n" + wanFirstByteTable(wanRows) + "\n\n");
      if (args.json) writeJson(args.json);
    }
  }
  clearInterval(sampleLoad);
  if (loads.length) {
    wanNotes.push(
      `the machine's 1-minute load average during the WAN rows: ${Math.min(...loads).toFixed(1)} to ${Math.max(...loads).toFixed(1)} (median ${median(loads).toFixed(1)}) on ${cpus().length} cores, other work included`,
    );
  }
}

/** The scale rows (bench/scale.ts); scale-schedule starts its own vsftpd. */
async function runScale(work: string, servers: RunningServer[]): Promise<void> {
  const { jobs, days, minutes } = args.scale;
  if (![jobs, days, minutes].every((n) => Number.isInteger(n) && n >= 1)) usage("--scale-jobs, --scale-days and --scale-minutes take whole numbers >= 1");
  const env: ScaleEnv = {
    cli: CLI, repo: REPO, work: join(work, "scale"), baseEnv: BASE_ENV, passwordEnv: PASSWORD_ENV, jobs, days, minutes, log, out: scaleOut,
  };
  mkdirSync(env.work, { recursive: true });
  if (want("scale-history")) await guarded("scale-history", scaleOut, () => scaleHistory(env));
  if (want("scale-schedule")) {
    const server = await startServer("vsftpd", { tls: "explicit" });
    servers.push(server);
    env.server = server;
    await guarded("scale-schedule", scaleOut, () => scaleSchedule(env));
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`bench: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
