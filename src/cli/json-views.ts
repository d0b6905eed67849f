/**
 * The bodies of the JSON outputs, built from the application's records: times become ISO 8601
 * UTC strings (null when absent), optional fields are present as null rather than left out.
 * Pure functions; the envelope (schema, ok, error) is json-output.ts.
 */
import type { AgentStatus, JobStatus } from "../agent/status.js";
import type { Action } from "../plan/types.js";
import type { RunRecord } from "../state/runs.js";
import type { RunSummary } from "../sync/run-job.js";
import { bytesOf, planTotals, type PlanTotals } from "./format.js";
import { isoTime } from "./json-output.js";

/** One run of the history: `kind` says whether it was a sync or a plan (a dry run). */
export function runView(r: RunRecord) {
  return {
    id: r.id,
    job: r.job,
    kind: r.dryRun ? ("plan" as const) : ("sync" as const),
    dryRun: r.dryRun,
    trigger: r.trigger,
    status: r.status,
    startedAt: isoTime(r.startedAt)!,
    endedAt: isoTime(r.endedAt),
    uploaded: r.uploaded,
    downloaded: r.downloaded,
    deletedLocal: r.deletedLocal,
    deletedRemote: r.deletedRemote,
    conflicts: r.conflicts,
    failed: r.failed,
    bytes: r.bytes,
    error: r.error ?? null,
  };
}

function jobView(j: JobStatus) {
  return {
    job: j.job,
    direction: j.direction,
    triggers: j.triggers,
    healthy: j.healthy,
    problemKind: j.problemKind ?? null,
    problem: j.problem ?? null,
    running: j.running ? { pid: j.running.pid, trigger: j.running.trigger ?? null, acquiredAt: isoTime(j.running.acquiredAt)! } : null,
    queued: j.queued,
    lastRun: j.lastRun ? runView(j.lastRun) : null,
    lastSuccessAt: isoTime(j.lastSuccessAt),
    nextRunAt: isoTime(j.nextRunAt),
    expect: j.expect ? { ...j.expect, deadline: isoTime(j.expect.deadline), lastArrivalAt: isoTime(j.expect.lastArrivalAt) } : null,
    watch: j.watch ?? null,
  };
}

export function statusView(s: AgentStatus) {
  return {
    healthy: s.healthy,
    agents: s.agents.map((a) => ({ pid: a.pid, host: a.host, startedAt: isoTime(a.startedAt)!, heartbeatAt: isoTime(a.heartbeatAt)! })),
    jobs: s.jobs.map(jobView),
  };
}

/** One action of a plan, with the bytes it would move when it moves any. */
function actionView(a: Action) {
  const bytes = bytesOf(a);
  return {
    kind: a.kind,
    path: a.path,
    reason: a.reason,
    ...(bytes !== undefined ? { bytes } : {}),
    ...(a.kind === "held-delete" ? { side: a.side } : {}),
    ...(a.kind === "conflict" ? { resolution: a.resolution, conflictName: a.conflictName ?? null } : {}),
  };
}

/** The plan as the text shows it: the actions (adopt and forget are bookkeeping, left out) and the totals. */
export function planView(plan: readonly Action[]): { plan: ReturnType<typeof actionView>[]; totals: PlanTotals } {
  const shown = plan.filter((a) => a.kind !== "adopt" && a.kind !== "forget");
  return { plan: shown.map(actionView), totals: planTotals(plan) };
}

/** A run's summary (sync or plan) with its start and end times. */
export function summaryView(s: RunSummary, times: { startedAt: number; endedAt: number }, peakRssBytes: number) {
  const { plan, ...rest } = s;
  return {
    ...rest,
    kind: s.dryRun ? ("plan" as const) : ("sync" as const),
    startedAt: isoTime(times.startedAt)!,
    endedAt: isoTime(times.endedAt)!,
    // Peak resident memory of this process: lets tests and the benchmark check that memory
    // stays flat whatever the file sizes.
    peakRssBytes,
    ...(s.dryRun ? planView(plan) : {}),
  };
}
