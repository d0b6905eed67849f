/**
 * Expected arrivals ("expect"): the files a run brought that match the job's pattern are
 * arrivals; a deadline passed with no arrival since the start of its day makes the job late.
 * The state store keeps the last arrival and which deadline's "late" was fired, so that the
 * agent and a `sync` beside it fire each event once, and `status` reads the same answer.
 */
import { statSync } from "node:fs";
import { join } from "node:path";
import picomatch from "picomatch";
import type { ExpectConfig, JobConfig } from "../../config/types.js";
import type { StateStore } from "../../state/index.js";
import type { RunSummary } from "../../sync/run-job.js";
import { lateFor, type Deadline } from "./deadline.js";

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");

/** A job's lateness, as `status`, /readyz and /metrics show it. */
export interface Lateness {
  late: boolean;
  /** The deadline missed, while late. */
  deadline?: Deadline;
  lastArrivalAt?: number;
  /** "no file matching "*.csv" has arrived by 07:00 (Europe/Paris) on 2026-12-07", while late. */
  problem?: string;
}

export interface ExpectEvent {
  event: "late" | "recovered";
  job: string;
  expected: { by: string; timezone: string; days: string; match: string; deadline: string };
  /** The file whose arrival ended the lateness (recovered). */
  arrived?: { path: string; at: string; runId?: number };
  lastArrivalAt?: string;
}

/** A pattern without "/" is matched against the file's name, anywhere in the tree. */
export function arrivalMatcher(pattern: string): (path: string) => boolean {
  const p = pattern.normalize("NFC").trim().replace(/^\.?\//, "");
  return picomatch(p, { dot: true, basename: !p.includes("/") });
}

/**
 * The files a run brought to its destination. A run that went wrong in part counts a download
 * only when the file is there, full size, and an upload only when the state records it sent.
 */
export function arrivedPaths(job: JobConfig, s: RunSummary, state: StateStore): string[] {
  const transfers = s.plan.filter((a) => (a.kind === "download" && job.direction !== "upload") || (a.kind === "upload" && job.direction !== "download"));
  if (s.status === "ok" || transfers.length === 0) return transfers.map((a) => a.path);
  const recorded = state.entries.load(job.name);
  return transfers
    .filter((a) => {
      if (a.kind === "download") return statSync(join(job.local, a.path), { throwIfNoEntry: false })?.size === a.remote.size;
      if (a.kind === "upload") return recorded.get(a.path)?.remoteSize === a.local.size;
      return false;
    })
    .map((a) => a.path);
}

function describeDeadline(e: ExpectConfig, d: Deadline): string {
  return `${e.by} (${e.timezone}) on ${d.date}`;
}

export class ExpectedArrivals {
  constructor(
    private readonly state: StateStore,
    private readonly clock: () => number = Date.now,
  ) {}

  lateness(job: JobConfig): Lateness {
    const e = job.expect;
    if (!e) return { late: false };
    const { lastArrivalAt } = this.state.arrivals.get(job.name);
    const deadline = lateFor(e, lastArrivalAt, this.clock());
    if (!deadline) return { late: false, lastArrivalAt };
    return { late: true, deadline, lastArrivalAt, problem: `late: no file matching "${e.match}" has arrived by ${describeDeadline(e, deadline)}` };
  }

  /** The "late" event, when the job is late for a deadline not yet announced. */
  check(job: JobConfig): ExpectEvent | undefined {
    const e = job.expect;
    if (!e) return undefined;
    const l = this.lateness(job);
    if (!l.late || !l.deadline || !this.state.arrivals.markLate(job.name, l.deadline.at)) return undefined;
    return { event: "late", job: job.name, expected: this.expected(e, l.deadline.at), ...(l.lastArrivalAt !== undefined && { lastArrivalAt: iso(l.lastArrivalAt) }) };
  }

  /**
   * After a run: its arrivals are recorded; one after a "late" fires "recovered"; and a job with
   * none past its deadline fires "late".
   */
  afterRun(job: JobConfig, arrived: string[], runId?: number): ExpectEvent[] {
    const e = job.expect;
    if (!e) return [];
    const matches = arrived.filter(arrivalMatcher(e.match));
    const events: ExpectEvent[] = [];
    if (matches.length > 0) {
      const at = this.clock();
      const path = matches[matches.length - 1];
      this.state.arrivals.recordArrival(job.name, at, path);
      const lateSince = this.state.arrivals.clearLate(job.name);
      if (lateSince !== undefined) {
        events.push({ event: "recovered", job: job.name, expected: this.expected(e, lateSince), arrived: { path, at: iso(at), ...(runId !== undefined && { runId }) } });
      }
    }
    const late = this.check(job);
    if (late) events.push(late);
    return events;
  }

  private expected(e: ExpectConfig, deadline: number): ExpectEvent["expected"] {
    return { by: e.by, timezone: e.timezone, days: e.days, match: e.match, deadline: iso(deadline) };
  }
}
