/**
 * Planning: the diff and the guards over what was gathered. Pure: the same input gives the same
 * plan, a plain value (JSON as it is: no Map, no function, no class) that a dry run returns and
 * `plan` prints, and that can be saved and compared.
 */
import { join } from "node:path";
import type { JobConfig } from "../config/types.js";
import type { LocalScan } from "../local/scan.js";
import { diff } from "../plan/diff.js";
import { heldByFilters } from "../plan/file-filters.js";
import { checkGuards, isDelete, withoutDeletes } from "../plan/guards.js";
import { withoutTwins } from "../plan/name-twins.js";
import { remoteJoin } from "../plan/names.js";
import { remoteFromState } from "../plan/trusted-remote.js";
import type { Action, RemoteListing, StateEntry } from "../plan/types.js";

export interface Plan {
  /** In order: folders parents first, then transfers, deletions, forgets; paths left alone are reported. */
  actions: Action[];
  /** Deletions the plan holds back (an unread folder, a guard, delete=tracked). */
  skippedDeletes: number;
  /** For the log and the summary, in the order found. */
  warnings: string[];
  /** Folders that could not be read or listed: each is a failure of the run, nothing below it synced. */
  errors: string[];
  /**
   * Files the job's filters held back (minAge, maxFileAge, minSize, maxSize), when any; `tooYoung`
   * of them only by minAge, the first of which is old enough in `dueInMs`.
   */
  filtered?: { held: number; tooYoung: number; dueInMs?: number };
}

export interface PlanInput {
  job: JobConfig;
  localScan: LocalScan;
  /** The listing; undefined in a trusted run, where the state stands for the server. */
  listed: RemoteListing | undefined;
  stateEntries: Map<string, StateEntry>;
  /** A trusted run whose tree matches the state: nothing to diff. */
  unchanged: boolean;
  remoteRootMissing: boolean;
  force: boolean;
  now: Date;
  /** How far ahead of UTC the server's listed times are, where known (server-clock.ts). */
  remoteClockMs?: number;
}

/** The remote side the diff compares with: the listing, or the state's view of the server in a trusted run. */
function remoteSide(i: PlanInput): RemoteListing {
  if (i.listed) return i.listed;
  return i.unchanged ? { entries: new Map(), complete: true, failedDirs: [] } : remoteFromState(i.stateEntries);
}

/** Folders are named as the user knows them: the job's root by its remotePath, not as "/". */
function failedFolders(job: JobConfig, localScan: LocalScan, listed: RemoteListing | undefined): { remoteDirs: string[]; localDirs: string[] } {
  return { remoteDirs: (listed?.failedDirs ?? []).map((d) => remoteJoin(job.remotePath, d)), localDirs: localScan.failedDirs.map((d) => join(job.local, d)) };
}

/** The folders that could not be listed or read, as the run's errors. */
export function unreadFolders(job: JobConfig, localScan: LocalScan, listed: RemoteListing | undefined): string[] {
  const { remoteDirs, localDirs } = failedFolders(job, localScan, listed);
  return [...remoteDirs.map((d) => `list remote folder ${d}`), ...localDirs.map((d) => `read local folder ${d}`)].map(
    (dir) => `cannot ${dir}: nothing below it was synced or deleted`,
  );
}

export function planRun(i: PlanInput): Plan {
  const { job, localScan } = i;
  const local = localScan.entries;
  const remote = remoteSide(i);
  const { remoteDirs, localDirs } = failedFolders(job, localScan, i.listed);
  const plan: Plan = { actions: [], skippedDeletes: 0, warnings: [], errors: unreadFolders(job, localScan, i.listed) };
  // Paths with two spellings (normalisation twins) are left out of the diff on every side.
  // The guards still see both sides whole: a folder holding only twins is not an empty folder.
  const held = withoutTwins([...(localScan.twins ?? []), ...(i.listed?.twins ?? [])], local, remote, i.stateEntries);
  const filtered = heldByFilters(job, held.local, held.remote.entries, i.now, i.remoteClockMs);
  if (filtered.paths.size > 0) {
    plan.filtered = { held: filtered.paths.size, tooYoung: filtered.tooYoung, ...(filtered.dueInMs !== undefined ? { dueInMs: filtered.dueInMs } : {}) };
  }
  const heldBack = filtered.paths.size > 0 ? filtered.paths : undefined;
  let raw = i.unchanged ? [] : diff({ local: held.local, remote: held.remote, state: held.state, policy: job, now: i.now, remoteClockMs: i.remoteClockMs, heldBack });
  // A local folder that could not be read looks like deleted files: no deletion this run.
  const unreadDeletes = localDirs.length > 0 ? raw.filter(isDelete).length : 0;
  if (unreadDeletes > 0) {
    raw = withoutDeletes(raw);
    plan.skippedDeletes += unreadDeletes;
    plan.warnings.push(`${localDirs.length === 1 ? "local folder" : "local folders"} ${localDirs.join(", ")} could not be read: ${unreadDeletes} deletion(s) skipped this run`);
  }
  const guarded = i.unchanged
    ? { plan: raw, skippedDeletes: 0, warnings: [] }
    : checkGuards({ plan: raw, state: i.stateEntries, local, remote: { ...remote, failedDirs: remoteDirs }, policy: job, force: i.force });
  plan.actions = guarded.plan;
  plan.skippedDeletes += guarded.skippedDeletes;
  plan.warnings.push(...guarded.warnings, ...reportedPaths(plan, job.delete));
  if (i.remoteRootMissing) {
    plan.actions.unshift({ kind: "mkdir-remote", path: "", reason: `the remote folder ${job.remotePath} does not exist yet: created first` });
  }
  return plan;
}

/** Paths the plan leaves alone on purpose, reported at every run, dry or not. Counts held deletes as skipped. */
function reportedPaths(plan: Plan, deletePolicy: JobConfig["delete"]): string[] {
  const warnings: string[] = [];
  const heldDeletes = plan.actions.filter((a) => a.kind === "held-delete");
  if (heldDeletes.length > 0) {
    plan.skippedDeletes += heldDeletes.length;
    const why = deletePolicy === "never" ? "delete=never (files deleted on the source stay on the other side)" : "delete=tracked (this job did not put those files there)";
    warnings.push(`${heldDeletes.length} deletion(s) held back by ${why}: ${heldDeletes.slice(0, 5).map((a) => a.path).join(", ")}${heldDeletes.length > 5 ? ", ..." : ""}`);
  }
  for (const a of plan.actions) if (a.kind === "needs-user") warnings.push(`${a.path}: ${a.reason}`);
  return warnings;
}

/**
 * The diff found nothing at all (before the guards): with both sides seen whole, the run may be
 * remembered as settled. Not while minAge holds a file back: it becomes due with time alone.
 */
export function rawPlanEmpty(plan: Plan): boolean {
  return plan.actions.length === 0 && plan.skippedDeletes === 0 && !plan.filtered?.tooYoung;
}
