// Expected arrivals ("expect"): the time-zone arithmetic of deadlines, and lateness as the state
// store keeps it (late fires once per deadline, an arrival after it fires recovered), as status,
// its exit code and /metrics show it. Every instant comes from an injected clock, never the wall.
import { describe, expect, it } from "vitest";
import { ExpectedArrivals, arrivalMatcher } from "../../src/agent/expect/arrivals.js";
import { instantAt, lastDeadline, lateFor } from "../../src/agent/expect/deadline.js";
import { AgentMetrics } from "../../src/agent/metrics.js";
import { collectStatus } from "../../src/agent/status.js";
import { statusFailure } from "../../src/cli/commands/agent-commands.js";
import { parseDays, parseTimeOfDay } from "../../src/config/expect.js";
import type { AgentConfig, ExpectConfig, JobConfig } from "../../src/config/types.js";
import { ExitCode } from "../../src/errors.js";
import { openState } from "../../src/state/index.js";
import { testTempDir } from "../helpers/temp-dir.js";
import { jobConfig } from "../helpers/job-config.js";

const at = (text: string) => Date.parse(text);
const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

const PARIS_7_WEEKDAYS: ExpectConfig = {
  by: "07:00", byMinutes: 420, timezone: "Europe/Paris", match: "orders-*.csv", days: "mon-fri", weekdays: [1, 2, 3, 4, 5],
};

function job(name: string, expectConfig: ExpectConfig | null = PARIS_7_WEEKDAYS): JobConfig {
  return jobConfig(name, { local: testTempDir("expect-local"), direction: "download", ...(expectConfig && { expect: expectConfig }) });
}

function agentConfig(jobs: JobConfig[]): AgentConfig {
  return {
    configPath: "/a.json", baseDir: "/", stateDir: "/s", jobsDir: "/jobs", log: { level: "info" }, maxConcurrentJobs: 2,
    shutdownGraceSeconds: 1, remotes: {}, jobs: Object.fromEntries(jobs.map((j) => [j.name, j])),
  };
}

describe("expected arrival deadlines (Intl time zones)", () => {
  it("places 07:00 in Paris at 06:00 UTC in winter and 05:00 UTC in summer", () => {
    expect(iso(instantAt(2026, 12, 7, 420, "Europe/Paris"))).toBe("2026-12-07T06:00:00.000Z");
    expect(iso(instantAt(2026, 7, 7, 420, "Europe/Paris"))).toBe("2026-07-07T05:00:00.000Z");
    expect(iso(instantAt(2026, 12, 7, 420, "America/New_York"))).toBe("2026-12-07T12:00:00.000Z");
  });

  it("takes a time skipped by the change to summer time as the instant just after it", () => {
    // 2026-03-29 in Paris: 02:00 becomes 03:00 (at 01:00 UTC); 02:30 does not exist.
    expect(iso(instantAt(2026, 3, 29, 150, "Europe/Paris"))).toBe("2026-03-29T01:30:00.000Z");
  });

  it("finds the last deadline on an expected day: Monday's once it passed, Friday's before it and over the weekend", () => {
    expect(iso(lastDeadline(PARIS_7_WEEKDAYS, at("2026-12-07T06:00:00Z"))?.at)).toBe("2026-12-07T06:00:00.000Z");
    expect(iso(lastDeadline(PARIS_7_WEEKDAYS, at("2026-12-07T05:59:59Z"))?.at)).toBe("2026-12-04T06:00:00.000Z");
    expect(iso(lastDeadline(PARIS_7_WEEKDAYS, at("2026-12-06T12:00:00Z"))?.at)).toBe("2026-12-04T06:00:00.000Z");
    const monday = lastDeadline(PARIS_7_WEEKDAYS, at("2026-12-07T10:00:00Z"))!;
    expect(monday.date).toBe("2026-12-07");
    expect(iso(monday.dayStart)).toBe("2026-12-06T23:00:00.000Z");
  });

  it("counts an arrival from midnight of the deadline's day (in its zone) and not one from the day before", () => {
    const now = at("2026-12-07T08:00:00Z");
    expect(lateFor(PARIS_7_WEEKDAYS, at("2026-12-06T23:30:00Z"), now)).toBeUndefined();
    expect(lateFor(PARIS_7_WEEKDAYS, at("2026-12-06T22:30:00Z"), now)?.date).toBe("2026-12-07");
    expect(lateFor(PARIS_7_WEEKDAYS, undefined, now)?.date).toBe("2026-12-07");
  });

  it("reads times of day and days of the week as written in a job", () => {
    expect(parseTimeOfDay("07:00")).toBe(420);
    expect(parseTimeOfDay("23:59")).toBe(1439);
    expect(() => parseTimeOfDay("24:00")).toThrow(/HH:MM/);
    expect(() => parseTimeOfDay("7am")).toThrow(/HH:MM/);
    expect(parseDays("mon-fri")).toEqual([1, 2, 3, 4, 5]);
    expect(parseDays("fri-mon")).toEqual([0, 1, 5, 6]);
    expect(parseDays("mon,wed,fri")).toEqual([1, 3, 5]);
    expect(parseDays("daily")).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(() => parseDays("weekdays")).toThrow(/mon-fri/);
    expect(() => parseDays("mon-")).toThrow(/mon-fri/);
  });

  it("matches a pattern without a slash against the file name anywhere, one with a slash against the path", () => {
    expect(arrivalMatcher("orders-*.csv")("in/2026/orders-1.csv")).toBe(true);
    expect(arrivalMatcher("orders-*.csv")("in/2026/orders-1.txt")).toBe(false);
    expect(arrivalMatcher("in/*.csv")("in/a.csv")).toBe(true);
    expect(arrivalMatcher("in/*.csv")("out/a.csv")).toBe(false);
  });
});

describe("expected arrivals in the state store", () => {
  const setup = (start: string) => {
    const state = openState(testTempDir("expect-state"));
    let now = at(start);
    const arrivals = new ExpectedArrivals(state, () => now);
    return { state, arrivals, setClock: (t: string) => void (now = at(t)), now: () => now };
  };

  it("fires late once per missed deadline, recovered when the file comes, and late again at the next missed deadline", () => {
    const { state, arrivals, setClock } = setup("2026-12-07T05:30:00Z");
    const j = job("pickup");
    // Friday's deadline is the last one before Monday 07:00: Friday's file came in time.
    state.arrivals.recordArrival("pickup", at("2026-12-04T05:00:00Z"), "orders-0.csv");
    expect(arrivals.check(j)).toBeUndefined();

    setClock("2026-12-07T06:00:01Z");
    const late = arrivals.check(j);
    expect(late).toMatchObject({ event: "late", job: "pickup", expected: { by: "07:00", timezone: "Europe/Paris", deadline: "2026-12-07T06:00:00Z" } });
    expect(arrivals.check(j), "fired once").toBeUndefined();
    expect(arrivals.lateness(j)).toMatchObject({ late: true });

    setClock("2026-12-07T07:15:00Z");
    // A run that brought other files changes nothing.
    expect(arrivals.afterRun(j, ["readme.txt"], 41)).toEqual([]);
    const events = arrivals.afterRun(j, ["readme.txt", "in/orders-7.csv"], 42);
    expect(events).toEqual([
      { event: "recovered", job: "pickup", expected: expect.objectContaining({ deadline: "2026-12-07T06:00:00Z" }), arrived: { path: "in/orders-7.csv", at: "2026-12-07T07:15:00Z", runId: 42 } },
    ]);
    expect(arrivals.lateness(j).late).toBe(false);
    expect(arrivals.afterRun(j, ["orders-8.csv"]), "recovered fires once").toEqual([]);

    setClock("2026-12-08T06:30:00Z");
    expect(arrivals.check(j)).toMatchObject({ event: "late", expected: { deadline: "2026-12-08T06:00:00Z" } });
  });

  it("does not fire recovered for a file that arrives in time, nor late on a day without a deadline", () => {
    const { arrivals, setClock } = setup("2026-12-07T05:00:00Z");
    const j = job("pickup");
    expect(arrivals.afterRun(j, ["orders-1.csv"])).toEqual([]);
    setClock("2026-12-07T09:00:00Z");
    expect(arrivals.check(j)).toBeUndefined();
    // Saturday: Friday's deadline is the last; Friday's file came on Friday.
    const fri = { ...j, name: "fri" };
    setClock("2026-12-04T05:00:00Z");
    arrivals.afterRun(fri, ["orders-5.csv"]);
    setClock("2026-12-05T12:00:00Z");
    expect(arrivals.check(fri)).toBeUndefined();
  });

  it("shows a late job in status as late (exit 10, job-late) and sets ftps_sync_job_late", async () => {
    const { state, now } = setup("2026-12-07T09:00:00Z");
    const late = job("pickup");
    const fine = job("other", null);
    const config = agentConfig([late, fine]);
    const s = collectStatus(config, state, { now: now(), since: now() });
    const j = s.jobs.find((x) => x.job === "pickup")!;
    expect(j).toMatchObject({ healthy: false, problemKind: "late", expect: { by: "07:00", late: true, deadline: at("2026-12-07T06:00:00Z") } });
    expect(j.problem).toMatch(/no file matching "orders-\*\.csv" has arrived by 07:00 \(Europe\/Paris\) on 2026-12-07/);
    expect(s.jobs.find((x) => x.job === "other")).toMatchObject({ healthy: true });
    expect(s.healthy).toBe(false);
    expect(statusFailure(s)).toMatchObject({ code: "job-late", exitCode: ExitCode.JobLate });
    expect(ExitCode.JobLate).toBe(10);

    const arrivals = new ExpectedArrivals(state, now);
    const metrics = new AgentMetrics(state, () => Object.keys(config.jobs), () => [{ job: "pickup", late: arrivals.lateness(late).late }]);
    expect(await metrics.registry.getSingleMetricAsString("ftps_sync_job_late")).toMatch(/ftps_sync_job_late\{job="pickup"\} 1/);
    state.arrivals.recordArrival("pickup", now(), "orders-1.csv");
    expect(await metrics.registry.getSingleMetricAsString("ftps_sync_job_late")).toMatch(/ftps_sync_job_late\{job="pickup"\} 0/);
    expect(collectStatus(config, state, { now: now(), since: now() }).healthy).toBe(true);
  });

  it("lets a failing job's exit code win over a late one", () => {
    const { state, now } = setup("2026-12-07T09:00:00Z");
    const config = agentConfig([job("pickup")]);
    const id = state.runs.start("pickup", "cli", false);
    state.runs.finish(id, "failed", { uploaded: 0, downloaded: 0, deletedLocal: 0, deletedRemote: 0, conflicts: 0, failed: 1, bytes: 0 }, "530 no");
    const s = collectStatus(config, state, { now: now(), since: now() });
    expect(s.jobs[0].problemKind).toBe("failing");
    expect(statusFailure(s)?.exitCode).toBe(ExitCode.JobFailing);
  });
});

describe("the agent's look at deadlines between runs", () => {
  it("logs and sends late once when a deadline passes with no run, and never throws for a job it cannot read", async () => {
    const { checkDeadlines } = await import("../../src/agent/after-run.js");
    const { Notifier } = await import("../../src/agent/notify/notifier.js");
    const winston = (await import("winston")).default;
    const { Writable } = await import("node:stream");
    const lines: string[] = [];
    const stream = new Writable({ write: (c: Buffer, _e, done) => (lines.push(c.toString()), done()) });
    const logger = winston.createLogger({ transports: [new winston.transports.Stream({ stream, format: winston.format.simple() })] });
    const state = openState(testTempDir("expect-state"));
    let now = at("2026-12-07T05:59:00Z");
    const sent: string[] = [];
    const notifier = new Notifier({ logger });
    notifier.send = (_job, n) => void sent.push(n.event);
    const j = job("pickup");
    state.arrivals.recordArrival("pickup", at("2026-12-04T05:00:00Z"), "orders-0.csv");
    const deps = { state, logger, notifier, clock: () => now };
    checkDeadlines(deps, [j, job("other", null)]);
    expect(sent).toEqual([]);
    now = at("2026-12-07T06:00:30Z");
    checkDeadlines(deps, [j]);
    checkDeadlines(deps, [j]);
    expect(sent).toEqual(["late"]);
    expect(lines.join("")).toMatch(/late: no file matching "orders-\*\.csv" has arrived by 07:00 \(Europe\/Paris\), deadline 2026-12-07T06:00:00Z/);
    state.close();
    expect(() => checkDeadlines(deps, [j])).not.toThrow();
    expect(lines.join("")).toMatch(/checking the expected arrival: /);
  });
});
