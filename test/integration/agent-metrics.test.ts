import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { REPO } from "../helpers/cli.js";
import { startDaemon, stopDaemons } from "../helpers/daemon.js";
import { theOneObject } from "../helpers/json-shapes.js";
import { makeServerFolder } from "../helpers/trees.js";
import { makeWorkspace, type Workspace } from "../helpers/workspace.js";
import { ensureTestUser, freePort, requireServers, startServer, type RunningServer } from "../servers/real-servers.js";

requireServers("vsftpd");

const version = (JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as { version: string }).version;


/** The value of one series in the exposition text, or undefined when the series is absent. */
function value(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(series + " "));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("/metrics of a running agent against vsftpd", () => {
  let server: RunningServer;
  let owner: { uid: number; gid: number };
  let ws: Workspace;

  /** A job uploading a fresh local folder to a fresh remote folder. */
  const addJob = (name: string, job: Record<string, unknown> = {}) => {
    makeServerFolder(server.root, name, owner);
    const local = ws.folder(`local-${name}`);
    ws.writeJob(name, { remote: "srv", remotePath: `/${name}`, local, direction: "upload", ...job });
    return local;
  };

  beforeAll(async () => {
    owner = await ensureTestUser();
    server = await startServer("vsftpd", { tls: "explicit" });
  });
  afterEach(stopDaemons);
  afterAll(async () => {
    ws?.cleanup();
    await server?.stop();
  });

  it("names its metrics by Prometheus' conventions, has every job's series at zero from start-up, and counts the agent's and the CLI's runs", async () => {
    const port = await freePort();
    ws = makeWorkspace(server, { fingerprint: server.fingerprint, maxConnections: 2 }, { http: { listen: `127.0.0.1:${port}` } });
    const manual = addJob("manual");
    writeFileSync(join(manual, "a.txt"), "12345");
    writeFileSync(join(manual, "b.txt"), "1234567890");
    const watched = addJob("watched", { watch: true });
    writeFileSync(join(watched, "w.txt"), "watched");

    const agent = startDaemon(ws);
    const scrape = async () => {
      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
      return res.text();
    };

    // The watched job's start-up run: the agent's own run, and its last success.
    let text = await agent.waitFor("the watched job's start-up run", async () => {
      const t = await scrape();
      return value(t, 'ftps_sync_last_run_status{job="watched"}') === 1 && t;
    });
    expect(value(text, 'ftps_sync_runs_total{job="watched",result="ok"}')).toBe(1);
    expect(value(text, 'ftps_sync_files_total{job="watched",kind="uploaded"}')).toBe(1);
    expect(value(text, 'ftps_sync_transferred_bytes_total{job="watched"}')).toBe(7);
    expect(value(text, 'ftps_sync_last_success_timestamp_seconds{job="watched"}')).toBeGreaterThan(Date.now() / 1000 - 60);

    // Names: the process and Node.js metrics by their standard names, the agent's own with its prefix.
    expect(text).not.toMatch(/ftps_sync_process_/);
    expect(text).toMatch(/^# TYPE process_cpu_seconds_total counter$/m);
    expect(text).toMatch(/^# TYPE process_start_time_seconds gauge$/m);
    expect(text).toMatch(/^# TYPE nodejs_version_info gauge$/m);
    for (const [name, type] of [["ftps_sync_build_info", "gauge"], ["ftps_sync_runs_total", "counter"], ["ftps_sync_transferred_bytes_total", "counter"],
      ["ftps_sync_last_success_timestamp_seconds", "gauge"], ["ftps_sync_last_run_status", "gauge"], ["ftps_sync_run_duration_seconds", "histogram"]]) {
      expect(text).toMatch(new RegExp(`^# HELP ${name} \\S`, "m"));
      expect(text).toMatch(new RegExp(`^# TYPE ${name} ${type}$`, "m"));
    }
    expect(value(text, `ftps_sync_build_info{version="${version}",node="${process.version}"}`)).toBe(1);

    // The manual job has not run: its series are there, at zero.
    for (const result of ["ok", "failed", "aborted", "error", "interrupted"]) expect(value(text, `ftps_sync_runs_total{job="manual",result="${result}"}`)).toBe(0);
    expect(value(text, 'ftps_sync_files_total{job="manual",kind="uploaded"}')).toBe(0);
    expect(value(text, 'ftps_sync_transferred_bytes_total{job="manual"}')).toBe(0);
    expect(value(text, 'ftps_sync_run_duration_seconds_count{job="manual"}')).toBe(0);
    expect(value(text, 'ftps_sync_last_success_timestamp_seconds{job="manual"}')).toBe(0);
    expect(value(text, 'ftps_sync_last_run_status{job="manual"}')).toBe(-1);

    // A run from the CLI while the agent runs counts as the agent's own do.
    const sync = await ws.cli(["sync", "manual"]);
    expect(sync.code, sync.stderr).toBe(0);
    const runs = (theOneObject((await ws.cli(["history", "manual", "--json"])).stdout, "") as unknown as { runs: { status: string; endedAt: string }[] }).runs;
    expect(runs.map((r) => r.status)).toEqual(["ok"]);
    text = await scrape();
    expect(value(text, 'ftps_sync_runs_total{job="manual",result="ok"}')).toBe(1);
    expect(value(text, 'ftps_sync_files_total{job="manual",kind="uploaded"}')).toBe(2);
    expect(value(text, 'ftps_sync_transferred_bytes_total{job="manual"}')).toBe(15);
    expect(value(text, 'ftps_sync_run_duration_seconds_count{job="manual"}')).toBe(1);
    expect(value(text, 'ftps_sync_last_run_status{job="manual"}')).toBe(1);
    expect(value(text, 'ftps_sync_last_success_timestamp_seconds{job="manual"}')).toBe(Date.parse(runs[0].endedAt) / 1000);
    // Counted once, however often it is scraped.
    expect(value(await scrape(), 'ftps_sync_runs_total{job="manual",result="ok"}')).toBe(1);

    // A job added by a reload has its series at once, at zero.
    addJob("added");
    agent.kill("SIGHUP");
    text = await agent.waitFor("the added job's series", async () => {
      const t = await scrape();
      return value(t, 'ftps_sync_runs_total{job="added",result="ok"}') === 0 && t;
    });
    expect(value(text, 'ftps_sync_last_run_status{job="added"}')).toBe(-1);
  }, 90_000);
});
