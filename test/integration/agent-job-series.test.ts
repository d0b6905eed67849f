// /metrics of a running agent (`ftps-sync run`) before any run: every per-job series of every
// configured job is there, at zero, including the notification counters of each job's events and
// channels; a reload that adds a job adds its series at zero and one that removes a job drops them.
// The jobs never run (no trigger), so no FTPS server is needed: the remote is a closed port.
import { unlinkSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { startDaemon, stopDaemons, waitFor } from "../helpers/daemon.js";
import { makeWorkspace } from "../helpers/workspace.js";
import { freePort } from "../servers/real-servers.js";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The exposition text's samples, each with its labels (whatever their order). */
function samples(text: string): Sample[] {
  return text
    .split("\n")
    .filter((l) => l !== "" && !l.startsWith("#"))
    .map((l) => {
      const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(l);
      if (!m) throw new Error(`not a sample line: ${l}`);
      const labels: Record<string, string> = {};
      for (const [, k, v] of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[k] = v;
      return { name: m[1], labels, value: Number(m[3]) };
    });
}

function find(all: Sample[], name: string, labels: Record<string, string>): Sample | undefined {
  return all.find((s) => s.name === name && Object.keys(labels).length === Object.keys(s.labels).length && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

const RESULTS = ["ok", "failed", "aborted", "error", "interrupted"];
const KINDS = ["uploaded", "downloaded", "deleted_local", "deleted_remote"];
const OUTCOMES = ["delivered", "retried", "failed"];

/** Every series a configured job must have before its first run, with its value then. */
function seriesOf(job: string, notify: { events: string[]; channels: string[] }): Array<[string, Record<string, string>, number]> {
  const s: Array<[string, Record<string, string>, number]> = [];
  for (const result of RESULTS) s.push(["ftps_sync_runs_total", { job, result }, 0]);
  for (const kind of KINDS) s.push(["ftps_sync_files_total", { job, kind }, 0]);
  s.push(["ftps_sync_transferred_bytes_total", { job }, 0]);
  s.push(["ftps_sync_run_duration_seconds_count", { job }, 0]);
  s.push(["ftps_sync_run_duration_seconds_sum", { job }, 0]);
  s.push(["ftps_sync_connection_errors_total", { job }, 0]);
  s.push(["ftps_sync_schedule_skipped_total", { job }, 0]);
  s.push(["ftps_sync_last_success_timestamp_seconds", { job }, 0]);
  s.push(["ftps_sync_last_run_status", { job }, -1]);
  s.push(["ftps_sync_job_config_error", { job }, 0]);
  s.push(["ftps_sync_job_local_folder_missing", { job }, 0]);
  for (const event of notify.events) {
    for (const channel of notify.channels) for (const outcome of OUTCOMES) s.push(["ftps_sync_notifications_total", { job, event, channel, outcome }, 0]);
  }
  return s;
}

function expectSeries(text: string, job: string, notify: { events: string[]; channels: string[] }): void {
  const all = samples(text);
  const missing = seriesOf(job, notify).filter(([name, labels, value]) => find(all, name, labels)?.value !== value);
  expect(missing.map(([name, labels, value]) => `${name}${JSON.stringify(labels)} = ${value}`)).toEqual([]);
  // Nothing else of the job's notifications: no event or channel it does not have.
  const notifications = all.filter((s) => s.name === "ftps_sync_notifications_total" && s.labels.job === job);
  expect(notifications).toHaveLength(notify.events.length * notify.channels.length * OUTCOMES.length);
}

describe("the per-job series of a running agent", () => {
  afterEach(stopDaemons);

  it("exist for every configured job at zero before any run, appear for a job a reload adds and go with a job it removes", async () => {
    const port = await freePort();
    const closed = await freePort(); // nothing listens there: the jobs never connect
    const ws = makeWorkspace(
      { host: "127.0.0.1", port: closed, user: "nobody", password: "unused" },
      {},
      // The agent's notify: the default of jobs without their own (its default events).
      { http: { listen: `127.0.0.1:${port}` }, notify: { command: ["true"] } },
    );
    try {
      ws.writeJob("alpha", {
        remote: "srv", remotePath: "/alpha", local: ws.folder("alpha"), direction: "upload",
        notify: { command: ["true"], webhook: "http://127.0.0.1:9/hook", on: ["failure", "success"] },
        expect: { by: "00:00", timezone: "UTC", match: "*.csv", days: "daily" },
      });
      ws.writeJob("beta", { remote: "srv", remotePath: "/beta", local: ws.folder("beta"), direction: "download" });
      const d = startDaemon(ws);
      const scrape = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      const fail = (err: Error) => {
        throw new Error(`${err.message}\n${d.log()}`);
      };
      let text = await waitFor("/metrics", () => scrape().catch(() => undefined)).catch(fail);

      expectSeries(text, "alpha", { events: ["failure", "success"], channels: ["webhook", "command"] });
      expectSeries(text, "beta", { events: ["failure", "late", "recovered"], channels: ["command"] });
      // ftps_sync_job_late is a job's with "expect" (late or not, as it is now), and only theirs.
      expect(find(samples(text), "ftps_sync_job_late", { job: "alpha" })).toBeDefined();
      expect(find(samples(text), "ftps_sync_job_late", { job: "beta" })).toBeUndefined();
      // Nothing has run: every run counter is still at zero.
      expect(samples(text).filter((s) => s.name === "ftps_sync_runs_total" && s.value !== 0)).toEqual([]);

      // A reload adds gamma and removes beta.
      unlinkSync(join(ws.dir, "jobs", "beta.json"));
      ws.writeJob("gamma", { remote: "srv", remotePath: "/gamma", local: ws.folder("gamma"), direction: "upload", notify: { command: ["true"], on: ["late"] } });
      process.kill(d.pid, "SIGHUP");
      text = await waitFor("gamma's series", async () => {
        const t = await scrape();
        return find(samples(t), "ftps_sync_runs_total", { job: "gamma", result: "ok" }) && t;
      }).catch(fail);
      expectSeries(text, "gamma", { events: ["late"], channels: ["command"] });
      expectSeries(text, "alpha", { events: ["failure", "success"], channels: ["webhook", "command"] });
      expect(samples(text).filter((s) => s.labels.job === "beta").map((s) => s.name)).toEqual([]);

      process.kill(d.pid, "SIGTERM");
      expect((await d.exited).code).toBe(0);
    } finally {
      ws.cleanup();
    }
  }, 60_000);
});
