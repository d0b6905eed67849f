import { statSync } from "node:fs";
import type { AgentConfig, JobConfig } from "../config/types.js";
import type { StateStore } from "../state/index.js";
import type { RunRecord } from "../state/runs.js";
import type { BadJob } from "./config-problems.js";
import { ExpectedArrivals } from "./expect/arrivals.js";
import { AgentRegistry, type AgentRecord } from "./agents.js";
import { JobLocks, type LockHolder } from "./job-lock.js";
import { RunQueue } from "./queue.js";
import { nextCronTime, spreadOffsetMs } from "./scheduler.js";

export interface JobStatus {
  job: string;
  /** Null for a job whose file cannot be loaded. */
  direction: JobConfig["direction"] | null;
  triggers: string[];
  lastRun?: RunRecord;
  lastSuccessAt?: number;
  nextRunAt?: number;
  running?: LockHolder;
  queued: boolean;
  healthy: boolean;
  problem?: string;
  /**
   * Why it is unhealthy: "failing" (last run failed or stopped, the local folder is missing, or
   * the job file is invalid),
   * "stale" (maxAge) or "late" (an expected file has not arrived by its time).
   */
  problemKind?: "failing" | "stale" | "late";
  /** The job's "expect", and whether it is late now. */
  expect?: { by: string; timezone: string; days: string; match: string; late: boolean; deadline?: number; lastArrivalAt?: number };
  /** A watched job, as a running agent watches it: folders watched, or polling at the watch limit. */
  watch?: WatchView;
}

export type WatchView = { mode: "watching"; watches: number } | { mode: "polling"; pollMs: number; reason: string };

/** How a live agent watches the job's folder, from what it wrote in the state. */
function watchOf(state: StateStore, job: JobConfig, agents: AgentRecord[]): WatchView | undefined {
  if (!job.watch) return undefined;
  const w = state.watchStates.get(job.name);
  if (!w || !agents.some((a) => a.pid === w.pid)) return undefined;
  return w.mode === "polling" ? { mode: "polling", pollMs: w.pollMs ?? 0, reason: w.reason ?? "" } : { mode: "watching", watches: w.watches };
}

export interface AgentStatus {
  agents: AgentRecord[];
  healthy: boolean;
  jobs: JobStatus[];
  /** The agent's own configuration problem (its last reload failed); only the agent knows it. */
  configProblem?: string;
}

function triggersOf(job: JobConfig): string[] {
  const t: string[] = [];
  if (job.schedule) t.push(`schedule ${job.schedule}${job.timezone ? ` (${job.timezone})` : ""}`);
  if (job.watch) t.push("watch");
  if (job.pollMs !== undefined && job.direction !== "upload") t.push(`poll every ${job.pollMs} ms`);
  return t;
}

/**
 * Is the job healthy? Unhealthy when its last run failed (or was stopped by a guard), or when it
 * has `maxAgeMs` and no successful run that recent (counted from `since` when it never succeeded).
 */
export function jobHealth(job: JobConfig, last: RunRecord | undefined, lastSuccessAt: number | undefined, now: number, since: number): string | undefined {
  if (last && (last.status === "failed" || last.status === "aborted")) {
    return `last run ${last.status}${last.error ? `: ${last.error}` : ""}`;
  }
  if (job.maxAgeMs !== undefined) {
    const ref = lastSuccessAt ?? since;
    if (now - ref > job.maxAgeMs) {
      return lastSuccessAt
        ? `no successful run for ${Math.round((now - lastSuccessAt) / 1000)} s (maxAge ${Math.round(job.maxAgeMs / 1000)} s)`
        : `no successful run yet (maxAge ${Math.round(job.maxAgeMs / 1000)} s)`;
    }
  }
  return undefined;
}

/** A job whose folder is gone (deleted, moved, unmounted) cannot run: say so before its next run fails. */
export function localFolderProblem(job: JobConfig): string | undefined {
  let st;
  try {
    st = statSync(job.local, { throwIfNoEntry: false });
  } catch (err) {
    return `local folder ${job.local} cannot be reached (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`;
  }
  if (!st) return `local folder ${job.local} is missing`;
  if (!st.isDirectory()) return `local folder ${job.local} is not a folder`;
  return undefined;
}

/** The next cron time per expression and zone, computed once for the many jobs that share one. */
function cronTimes(): (expression: string, timezone: string | undefined) => number | undefined {
  const seen = new Map<string, number | undefined>();
  return (expression, timezone) => {
    const key = `${expression}\n${timezone ?? ""}`;
    if (!seen.has(key)) seen.set(key, nextCronTime(expression, timezone)?.getTime());
    return seen.get(key);
  };
}

export interface StatusOptions {
  now?: number;
  since?: number;
  nextRun?: (job: string) => Date | undefined;
  badJobs?: BadJob[];
  configProblem?: string;
}

/** What every job's status is judged against, read once for all of them. */
interface StatusBasis {
  config: AgentConfig;
  state: StateStore;
  opts: StatusOptions;
  now: number;
  since: number;
  agents: AgentRecord[];
  holders: Map<string, LockHolder>;
  queued: Set<string>;
  arrivals: ExpectedArrivals;
  badJobs: Map<string, BadJob>;
  /** The configured jobs, by name. */
  sorted: JobConfig[];
  /** Jobs whose file cannot be loaded and which have no previous version running. */
  unloaded: string[];
  cronTime: (expression: string, timezone: string | undefined) => number | undefined;
}

function statusBasis(config: AgentConfig, state: StateStore, opts: StatusOptions): StatusBasis {
  const now = opts.now ?? Date.now();
  const agents = new AgentRegistry(state.agents).live(now);
  const since = opts.since ?? Math.min(now, ...agents.map((a) => a.startedAt));
  const badJobs = new Map((opts.badJobs ?? []).map((b) => [b.job, b]));
  return {
    config, state, opts, now, since, agents, badJobs,
    holders: new JobLocks(state.jobLocks).holders(),
    queued: new Set(new RunQueue(state.runQueue).pending().map((p) => p.job)),
    arrivals: new ExpectedArrivals(state, () => now),
    sorted: Object.values(config.jobs).sort((a, b) => a.name.localeCompare(b.name)),
    unloaded: [...badJobs.keys()].filter((job) => !config.jobs[job]),
    cronTime: cronTimes(),
  };
}

/** The status of some of the configured jobs: two index seeks each (migration 009), however long their history, in one statement. */
function configuredStatuses(b: StatusBasis, jobs: JobConfig[]): JobStatus[] {
  const { state, opts, now, since, arrivals, badJobs, holders, queued, agents } = b;
  const latest = state.runs.latestByJob(jobs.map((j) => j.name));
  const nextScheduled = (job: JobConfig, schedule: string) => {
    const base = b.cronTime(schedule, job.timezone);
    return base === undefined ? undefined : new Date(base + spreadOffsetMs(job.name, job.scheduleSpreadMs));
  };
  return jobs.map((job): JobStatus => {
    const { lastFinished: lastRun, lastSuccessAt } = latest.get(job.name) ?? {};
    const next = job.schedule ? (opts.nextRun?.(job.name) ?? nextScheduled(job, job.schedule)) : undefined;
    // A job file that went bad in a reload: the previous version runs, but the file needs fixing.
    const fileProblem = badJobs.has(job.name) ? badJobProblem(badJobs.get(job.name)!) : undefined;
    const setupProblem = fileProblem ?? localFolderProblem(job);
    const health = setupProblem ?? jobHealth(job, lastRun, lastSuccessAt, now, since);
    const lateness = arrivals.lateness(job);
    const problem = health ?? lateness.problem;
    // jobHealth speaks of a failed run first; otherwise its problem is the job's maxAge.
    const failing = setupProblem !== undefined || lastRun?.status === "failed" || lastRun?.status === "aborted";
    const problemKind = problem === undefined ? undefined : health === undefined ? "late" : failing ? "failing" : "stale";
    const e = job.expect;
    return {
      job: job.name,
      direction: job.direction,
      triggers: triggersOf(job),
      lastRun,
      lastSuccessAt,
      nextRunAt: next?.getTime(),
      running: holders.get(job.name),
      queued: queued.has(job.name),
      healthy: problem === undefined,
      problem,
      problemKind,
      ...(e && {
        expect: { by: e.by, timezone: e.timezone, days: e.days, match: e.match, late: lateness.late, deadline: lateness.deadline?.at, lastArrivalAt: lateness.lastArrivalAt },
      }),
      watch: watchOf(state, job, agents),
    };
  });
}

/** A job whose file cannot be loaded: failing, with what its past runs left in the state store. */
function unloadedStatuses(b: StatusBasis): JobStatus[] {
  if (b.unloaded.length === 0) return [];
  const latest = b.state.runs.latestByJob(b.unloaded);
  return b.unloaded.map((job): JobStatus => {
    const { lastFinished: lastRun, lastSuccessAt } = latest.get(job) ?? {};
    const problem = badJobProblem(b.badJobs.get(job)!);
    return { job, direction: null, triggers: [], lastRun, lastSuccessAt, running: b.holders.get(job), queued: b.queued.has(job), healthy: false, problem, problemKind: "failing" };
  });
}

function agentStatus(b: StatusBasis, all: JobStatus[]): AgentStatus {
  const jobs = all.sort((x, y) => x.job.localeCompare(y.job));
  const { configProblem } = b.opts;
  const healthy = jobs.every((j) => j.healthy) && configProblem === undefined;
  return { agents: b.agents, healthy, jobs, ...(configProblem !== undefined && { configProblem }) };
}

/**
 * What `status` and `/healthz` report: read from the state store, so any process can ask.
 * A handful of statements whatever the number of jobs and the length of their history.
 */
export function collectStatus(config: AgentConfig, state: StateStore, opts: StatusOptions = {}): AgentStatus {
  const b = statusBasis(config, state, opts);
  return agentStatus(b, [...configuredStatuses(b, b.sorted), ...unloadedStatuses(b)]);
}

/** Jobs whose status is read between two yields of collectStatusInSlices (about 2 ms of work for 100 jobs). */
export const STATUS_SLICE_JOBS = 100;

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The same answer as collectStatus, read a slice of jobs at a time with the event loop let go
 * between slices: the agent's /readyz and /healthz, so that an agent with hundreds of jobs never
 * holds its runs, watches and other requests for the whole of it (issue 26: no request handler
 * holds the event loop for more than about 50 ms). Every job is judged at the same `now`.
 */
export async function collectStatusInSlices(
  config: AgentConfig,
  state: StateStore,
  opts: StatusOptions & { sliceJobs?: number; yieldNow?: () => Promise<void> } = {},
): Promise<AgentStatus> {
  const slice = Math.max(1, opts.sliceJobs ?? STATUS_SLICE_JOBS);
  const yieldNow = opts.yieldNow ?? nextTurn;
  const b = statusBasis(config, state, opts);
  const jobs: JobStatus[] = [];
  for (let i = 0; i < b.sorted.length; i += slice) {
    if (i > 0) await yieldNow();
    jobs.push(...configuredStatuses(b, b.sorted.slice(i, i + slice)));
  }
  jobs.push(...unloadedStatuses(b));
  return agentStatus(b, jobs);
}

function badJobProblem(b: BadJob): string {
  const what = b.runsPrevious === undefined ? "" : b.runsPrevious ? " (the agent runs its previous version)" : " (the job does not run)";
  return `invalid job file${what}: ${b.message}`;
}
