// The scale rows of the benchmark (issue 26): an agent with hundreds of jobs.
//
//   npm run bench -- --only scale-history     # status, /metrics, /healthz, /readyz with 30 days of 500 minute-jobs' history
//   npm run bench -- --only scale-schedule    # 500 jobs on "* * * * *" with scheduleSpread 30s: start delay p50/p99
//   options: --scale-jobs N (500), --scale-days N (30), --scale-minutes N (3; the issue asks 10: pass 10)
//
// Both run the built agent (`ftps-sync run`, `ftps-sync status`) as a user would, on a state
// database of their own. The history is synthetic: rows written into a copy of the state
// database by SQLite itself, as 30 days of one run a minute per job would have left them.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { createServer } from "node:net";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";

export interface ScaleEnv {
  cli: string;
  repo: string;
  work: string;
  /** the environment for the agent's processes (NODE_EXTRA_CA_CERTS left out) */
  baseEnv: NodeJS.ProcessEnv;
  passwordEnv: string;
  server?: { host: string; port: number; user: string; password: string; fingerprint: string; dir: string };
  jobs: number;
  days: number;
  minutes: number;
  log: (msg: string) => void;
  /** lines of the printed result */
  out: string[];
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

const ms = (x: number) => (Number.isNaN(x) ? "-" : x < 10 ? `${x.toFixed(1)} ms` : `${Math.round(x)} ms`);
const summary = (xs: number[]) => `p50 ${ms(percentile(xs, 50))}, p99 ${ms(percentile(xs, 99))}, max ${ms(Math.max(...xs))} (${xs.length})`;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** One GET, timed from the request to the last byte of the answer. */
function timedGet(port: number, path: string): Promise<{ ms: number; status: number; bytes: number; body: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = request({ host: "127.0.0.1", port, path, agent: false, timeout: 120_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (d: Buffer) => chunks.push(d));
      res.on("end", () => {
        const body = Buffer.concat(chunks);
        resolve({ ms: performance.now() - t0, status: res.statusCode ?? 0, bytes: body.length, body: body.toString() });
      });
    });
    req.on("error", reject);
    req.on("timeout", () => req.destroy(new Error(`GET ${path}: no answer in 120 s`)));
    req.end();
  });
}

/** A config folder: agent.config.json and `jobs` job files, each with its own local folder. */
function writeAgent(dir: string, agent: Record<string, unknown>, jobs: number, job: (i: number, name: string) => Record<string, unknown>, fileBytes = 0): string[] {
  mkdirSync(join(dir, "jobs"), { recursive: true });
  writeFileSync(join(dir, "agent.config.json"), JSON.stringify(agent, null, 2));
  const names: string[] = [];
  for (let i = 0; i < jobs; i++) {
    const name = `partner-${String(i).padStart(4, "0")}`;
    names.push(name);
    mkdirSync(join(dir, "data", name), { recursive: true });
    if (fileBytes) writeFileSync(join(dir, "data", name, "order.csv"), "x".repeat(fileBytes));
    writeFileSync(join(dir, "jobs", `${name}.json`), JSON.stringify({ local: `./data/${name}`, ...job(i, name) }));
  }
  return names;
}

interface Daemon {
  child: ChildProcess;
  stderrTail: () => string;
  stop: () => Promise<number | null>;
}

function startDaemon(env: ScaleEnv, configPath: string, password: string): Daemon {
  const child = spawn(process.execPath, [env.cli, "--config", configPath, "run"], {
    cwd: env.repo,
    env: { ...env.baseEnv, [env.passwordEnv]: password },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let tail = "";
  child.stderr!.on("data", (d: Buffer) => (tail = (tail + d.toString()).slice(-4000)));
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  return {
    child,
    stderrTail: () => tail,
    stop: async () => {
      child.kill("SIGTERM");
      const code = await Promise.race([exited, sleep(60_000).then(() => "timeout" as const)]);
      if (code === "timeout") {
        child.kill("SIGKILL");
        return exited;
      }
      return code;
    },
  };
}

async function waitLive(port: number, daemon: Daemon): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (daemon.child.exitCode !== null) throw new Error(`the agent exited ${daemon.child.exitCode}: ${daemon.stderrTail()}`);
    try {
      if ((await timedGet(port, "/livez")).status === 200) return;
    } catch {
      /* not yet listening */
    }
    await sleep(100);
  }
  throw new Error(`the agent did not serve /livez within 60 s: ${daemon.stderrTail()}`);
}

/** CPU seconds (user + system) and RSS of a process, from /proc. */
function procSample(pid: number): { cpuS: number; rssBytes: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ticks = Number(fields[11]) + Number(fields[12]);
    const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return { cpuS: ticks / 100, rssBytes: rss ? Number(rss[1]) * 1024 : 0 };
  } catch {
    return undefined;
  }
}

// ------------------------------------------------------------------------------------ history

/**
 * 30 days of one run a minute for each of 500 jobs (21.6 million rows), then: `ftps-sync status`
 * (a whole process), and /metrics, /healthz, /readyz of a running agent, first before its pruner
 * starts (30 s after start), then while it deletes the runs past maxRunsPerJob (10 000), with
 * /livez asked every 50 ms meanwhile: its slowest answer bounds how long the event loop was held.
 */
export async function scaleHistory(env: ScaleEnv): Promise<void> {
  const dir = join(env.work, "scale-history");
  const httpPort = await freePort();
  const names = writeAgent(
    dir,
    {
      stateDir: "./state", jobsDir: "./jobs", log: { level: "info", file: "./logs/agent.log" }, maxConcurrentJobs: 4,
      http: { listen: `127.0.0.1:${httpPort}` },
      // Nothing connects: every job's schedule is once a year, far from now.
      remotes: { bench: { host: "127.0.0.1", port: 9, tls: "explicit", user: "u", password: { env: env.passwordEnv } } },
    },
    env.jobs,
    () => ({ remote: "bench", remotePath: "/h", direction: "upload", schedule: "0 0 1 1 *" }),
  );
  const configPath = join(dir, "agent.config.json");
  const status = () =>
    runTimed(process.execPath, [env.cli, "--config", configPath, "-q", "status", "--json"], { ...env.baseEnv, [env.passwordEnv]: "x" });
  // The first status creates the state database (every migration applied).
  await status();

  const perJob = env.days * 1440;
  const t0 = performance.now();
  const db = new Database(join(dir, "state", "ftps-sync.db"));
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = OFF");
  // Rows go in without the indexes of runs, which are built again afterwards (as migration 009
  // wrote them): sorting once is minutes faster than updating five B-trees per row.
  const indexes = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'runs' AND sql IS NOT NULL").all() as { name: string; sql: string }[];
  for (const ix of indexes) db.exec(`DROP INDEX ${ix.name}`);
  const insert = db.prepare(
    `WITH RECURSIVE k(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM k WHERE n + 1 < @count)
     INSERT INTO runs (job, trigger, started_at, ended_at, status, dry_run, uploaded, bytes, pid)
     SELECT @job, 'schedule', @start + n * 60000, @start + n * 60000 + 1500,
       CASE WHEN n % 97 = 13 THEN 'failed' ELSE 'ok' END, 0, n % 3, (n % 3) * 4096, 4242 FROM k`,
  );
  const start = Date.now() - env.days * 86_400_000;
  names.forEach((job, i) => {
    db.transaction(() => insert.run({ count: perJob, job, start: start + (i % 60) * 1000 }))();
    if ((i + 1) % 50 === 0) env.log(`scale-history: ${((i + 1) * perJob).toLocaleString("en")} runs written (${Math.round((performance.now() - t0) / 1000)} s)`);
  });
  env.log(`scale-history: rows written in ${Math.round((performance.now() - t0) / 1000)} s; building ${indexes.length} indexes`);
  for (const ix of indexes) db.exec(ix.sql);
  db.pragma("wal_checkpoint(TRUNCATE)");
  const rows = () => db.prepare("SELECT COUNT(*) FROM runs").pluck().get() as number;
  const before = rows();
  env.log(`scale-history: ${before.toLocaleString("en")} runs in ${Math.round((performance.now() - t0) / 1000)} s`);

  const version = await timedSeries(5, () => runTimed(process.execPath, [env.cli, "--version"], env.baseEnv));
  const statusTimes = await timedSeries(5, status);

  const daemon = startDaemon(env, configPath, "x");
  const startedAt = performance.now();
  try {
    await waitLive(httpPort, daemon);
    env.log("scale-history: agent up; scraping before its pruner starts (30 s after start)");
    const idle = await probe(httpPort, startedAt + 27_000);
    while (performance.now() - startedAt < 31_000) await sleep(200);
    env.log("scale-history: scraping while the pruner deletes the runs past maxRunsPerJob (60 s)");
    const pruning = await probe(httpPort, performance.now() + 60_000);
    const after = rows();
    env.out.push(
      `scale-history: ${env.jobs} jobs, ${env.days} days of one run a minute = ${before.toLocaleString("en")} runs in the state database (synthetic)`,
      `  ftps-sync status --json (a whole process, ${env.jobs} jobs): ${summary(statusTimes)}; \`ftps-sync --version\` alone: ${summary(version)}`,
      ...probeLines("  agent idle", idle),
      ...probeLines("  agent pruning", pruning),
      `  the machine's 1-minute load average at the end: ${loadavg()[0].toFixed(1)} (${cpus().length} cores, other work included)`,
      `  pruned in those 60 s: ${(before - after).toLocaleString("en")} runs (history.maxRunsPerJob 10 000 keeps ${(Math.min(perJob, 10_000) * env.jobs).toLocaleString("en")})`,
    );
  } finally {
    const code = await daemon.stop();
    db.close();
    if (code !== 0) env.out.push(`  note: the agent exited ${code} on SIGTERM: ${daemon.stderrTail().slice(-500)}`);
  }
}

interface Probe {
  metrics: number[];
  healthz: number[];
  readyz: number[];
  livez: number[];
  /** The agent's own measure: the longest event-loop delay between two scrapes (prom-client, monitorEventLoopDelay). */
  loopMax: number[];
  metricsBytes: number;
}

/** Until `until`: /metrics, /healthz and /readyz in turn, and /livez every 50 ms beside them. */
async function probe(port: number, until: number): Promise<Probe> {
  const p: Probe = { metrics: [], healthz: [], readyz: [], livez: [], loopMax: [], metricsBytes: 0 };
  let done = false;
  const pinger = (async () => {
    while (!done) {
      p.livez.push((await timedGet(port, "/livez")).ms);
      await sleep(50);
    }
  })();
  while (performance.now() < until) {
    const m = await timedGet(port, "/metrics");
    p.metrics.push(m.ms);
    p.metricsBytes = m.bytes;
    const lag = /^nodejs_eventloop_lag_max_seconds ([\d.e+-]+)$/m.exec(m.body);
    if (lag) p.loopMax.push(Number(lag[1]) * 1000);
    p.healthz.push((await timedGet(port, "/healthz")).ms);
    p.readyz.push((await timedGet(port, "/readyz")).ms);
    await sleep(150);
  }
  done = true;
  await pinger;
  return p;
}

function probeLines(what: string, p: Probe): string[] {
  return [
    `${what}: /metrics ${summary(p.metrics)}, ${Math.round(p.metricsBytes / 1024)} KiB`,
    `${what}: /healthz ${summary(p.healthz)}; /readyz ${summary(p.readyz)}`,
    `${what}: /livez every 50 ms beside them: ${summary(p.livez)}; the agent's longest event-loop delay between scrapes: ${summary(p.loopMax)}`,
  ];
}

function runTimed(cmd: string, argv: string[], processEnv: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, argv, { env: processEnv, stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      // status exits 6 or 7 when a job is unhealthy: still an answer.
      if (code !== 0 && code !== 6 && code !== 7) reject(new Error(`${argv.join(" ")} exited ${code}: ${err.slice(-1000)}`));
      else resolve(performance.now() - t0);
    });
  });
}

async function timedSeries(n: number, fn: () => Promise<number>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(await fn());
  return out;
}

// ------------------------------------------------------------------------------------ schedule

/**
 * 500 jobs, each `"schedule": "* * * * *"` with `"scheduleSpread": "30s"`, uploading one small
 * file to vsftpd (then finding nothing to do), maxConcurrentJobs 4, for `minutes` minutes: how
 * late each scheduled run started (from the agent's log: the lateness it measures from the
 * job's cron time plus its offset), CPU per run, RSS over time, and logins seen by the server.
 */
export async function scaleSchedule(env: ScaleEnv): Promise<void> {
  const server = env.server;
  if (!server) throw new Error("scale-schedule needs the vsftpd server");
  const dir = join(env.work, "scale-schedule");
  writeAgent(
    dir,
    {
      stateDir: "./state", jobsDir: "./jobs", log: { level: "info", file: "./logs/agent.log" }, maxConcurrentJobs: 4,
      remotes: {
        bench: { host: server.host, port: server.port, tls: "explicit", user: server.user, password: { env: env.passwordEnv }, fingerprint: server.fingerprint, maxConnections: 2 },
      },
    },
    env.jobs,
    // A folder of its own at the top: no two first runs make the same parent folder at once.
    (_i, name) => ({ remote: "bench", remotePath: `/scale-${name}`, direction: "upload", schedule: "* * * * *", scheduleSpread: "30s" }),
    100,
  );
  const loginsBefore = countLogins(server.dir);
  const loadBefore = loadavg()[0];
  const daemon = startDaemon(env, join(dir, "agent.config.json"), server.password);
  const samples: { t: number; cpuS: number; rssBytes: number }[] = [];
  const t0 = performance.now();
  const sampler = setInterval(() => {
    const s = daemon.child.pid ? procSample(daemon.child.pid) : undefined;
    if (s) samples.push({ t: (performance.now() - t0) / 1000, ...s });
  }, 5000);
  const runFor = env.minutes * 60_000 + 35_000;
  env.log(`scale-schedule: ${env.jobs} jobs every minute, spread 30 s, for ${env.minutes} min (+35 s for the last minute's spread)`);
  try {
    while (performance.now() - t0 < runFor) {
      if (daemon.child.exitCode !== null) throw new Error(`the agent exited ${daemon.child.exitCode}: ${daemon.stderrTail()}`);
      await sleep(1000);
    }
  } finally {
    clearInterval(sampler);
    const last = daemon.child.pid ? procSample(daemon.child.pid) : undefined;
    if (last) samples.push({ t: (performance.now() - t0) / 1000, ...last });
    await daemon.stop();
  }
  const lines = readLog(join(dir, "logs"));
  const starts = lines.filter((l) => String(l.message).startsWith("run started (") && typeof l.lateMs === "number");
  const late = starts.map((l) => l.lateMs as number);
  // Each job's first run creates its folder and uploads its file; the later ones find nothing to do.
  const seenJobs = new Set<string>();
  const steady = starts.filter((l) => seenJobs.has(String(l.job)) || (seenJobs.add(String(l.job)), false)).map((l) => l.lateMs as number);
  const ok = lines.filter((l) => String(l.message).startsWith("run ok")).length;
  const failed = lines.filter((l) => /^run (failed|aborted|did not complete)/.test(String(l.message))).length;
  const skipped = lines.filter((l) => String(l.message).includes("skipped: the one of")).length;
  const cpu = samples.length ? samples.at(-1)!.cpuS : NaN;
  const rss = samples.map((s) => s.rssBytes / 2 ** 20);
  const logins = countLogins(server.dir) - loginsBefore;
  const s = (xs: number[]) => `p50 ${(percentile(xs, 50) / 1000).toFixed(2)} s, p99 ${(percentile(xs, 99) / 1000).toFixed(2)} s, max ${(Math.max(...xs) / 1000).toFixed(2)} s`;
  env.out.push(
    `scale-schedule: ${env.jobs} jobs on "* * * * *" with scheduleSpread "30s", maxConcurrentJobs 4, vsftpd on loopback, ${env.minutes} min (the issue's 10 min scaled down; --scale-minutes 10 for the full row)`,
    `  scheduled runs started: ${starts.length} (ok ${ok}, failed ${failed}); skipped (previous not started): ${skipped}`,
    `  start delay after cron time + offset: ${s(late)}; each job's runs after its first (nothing to upload): ${steady.length ? s(steady) : "-"}`,
    `  agent CPU: ${cpu.toFixed(1)} s in all, ${((cpu / Math.max(1, ok + failed)) * 1000).toFixed(1)} ms per run; RSS ${Math.round(Math.min(...rss))} to ${Math.round(Math.max(...rss))} MiB (every 5 s: ${rss.filter((_, i) => i % 6 === 0).map((r) => Math.round(r)).join(", ")} MiB)`,
    `  logins seen by vsftpd: ${logins} (${(logins / Math.max(1, ok + failed)).toFixed(2)} per run)`,
    `  the machine's 1-minute load average: ${loadBefore.toFixed(1)} before, ${loadavg()[0].toFixed(1)} after (${cpus().length} cores, other work included)`,
  );
}

/** The agent's JSON log lines (every daily file in the folder). */
function readLog(logDir: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const f of readdirSync(logDir).filter((n) => n.startsWith("agent-") && !n.endsWith(".json"))) {
    for (const line of readFileSync(join(logDir, f), "utf8").split("\n")) {
      if (!line.trim()) continue;
      try {
        out.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        /* a line cut by the stop */
      }
    }
  }
  return out;
}

/** vsftpd logs each successful login as "OK LOGIN". */
function countLogins(serverDir: string): number {
  try {
    return (readFileSync(join(serverDir, "vsftpd.log"), "utf8").match(/OK LOGIN/g) ?? []).length;
  } catch {
    return NaN;
  }
}
