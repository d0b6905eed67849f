/**
 * Safety guards between the diff and the runner. Deletions are the only irreversible actions,
 * so every guard is about them:
 * - an incomplete remote listing never turns into deletions (not even with --force);
 * - a source side that looks wiped (no files where the state says files were) stops the run;
 * - more file deletions than maxDelete (a count of files, or a share of the tracked files) stops the run.
 * The last two are judgement calls, so --force overrides them.
 */
import type { JobConfig } from "../config/types.js";
import { SafetyGuardError } from "../errors.js";
import type { Action, LocalEntry, RemoteListing, StateEntry } from "./types.js";

export interface GuardInput {
  plan: Action[];
  state: Map<string, StateEntry>;
  local: Map<string, LocalEntry>;
  remote: RemoteListing;
  policy: Pick<JobConfig, "direction" | "maxDelete">;
  force: boolean;
}

export interface GuardResult {
  plan: Action[];
  /** Deletions removed from the plan because the remote listing was incomplete. */
  skippedDeletes: number;
  warnings: string[];
}

type DeleteAction = Extract<Action, { kind: "delete-local" | "delete-remote" }>;

export function isDelete(action: Action): action is DeleteAction {
  return action.kind === "delete-local" || action.kind === "delete-remote";
}

/** The plan minus its deletions: for a run whose view of a side is incomplete. */
export function withoutDeletes(plan: Action[]): Action[] {
  return plan.filter((action) => !isDelete(action));
}

export function checkGuards(input: GuardInput): GuardResult {
  const warnings: string[] = [];
  let plan = input.plan;
  let skippedDeletes = 0;

  if (!input.remote.complete) {
    skippedDeletes = plan.filter(isDelete).length;
    plan = withoutDeletes(plan);
    if (skippedDeletes > 0) warnings.push(incompleteListingWarning(skippedDeletes, input.remote.failedDirs));
  }

  const trackedFiles = countTrackedFiles(input.state);
  for (const message of [wipedSourceProblem(input, plan, trackedFiles), maxDeleteProblem(input, plan, trackedFiles)]) {
    if (message === undefined) continue;
    if (!input.force) throw new SafetyGuardError(`${message} Run with --force to proceed anyway.`);
    warnings.push(`${message} Proceeding because of --force.`);
  }
  return { plan, skippedDeletes, warnings };
}

/**
 * Files whose deletion the plan may propose. A row whose source afterTransfer took is never
 * deleted for it: counted, thousands of them (a pickup job's history) would let a mass deletion
 * of the rest pass as a small share.
 */
function countTrackedFiles(state: Map<string, StateEntry>): number {
  let n = 0;
  for (const entry of state.values()) if (entry.type === "file" && !entry.sourceTaken) n++;
  return n;
}

function incompleteListingWarning(skipped: number, failedDirs: string[]): string {
  const where = failedDirs.length > 0 ? ` (failed: ${failedDirs.map((d) => (d === "" ? "/" : d)).join(", ")})` : "";
  return `The remote listing was incomplete${where}: ${skipped} deletion(s) skipped this run.`;
}

/**
 * An empty side that used to hold files, while the plan deletes on the other side, is far more
 * likely an unmounted disk, an emptied or renamed remote folder than a real mass deletion.
 */
function wipedSourceProblem(input: GuardInput, plan: Action[], trackedFiles: number): string | undefined {
  if (trackedFiles === 0) return undefined;
  const deletes = plan.filter(isDelete);
  // Files, not entries: a source emptied of its files that keeps its (empty) folders is as
  // suspicious as one with nothing in it.
  const remoteEmpty = !holdsFiles(input.remote.entries) && deletes.some((a) => a.kind === "delete-local");
  const localEmpty = !holdsFiles(input.local) && deletes.some((a) => a.kind === "delete-remote");
  if (remoteEmpty) {
    return (
      `The remote folder is empty (no files) but ${trackedFiles} file(s) were synced from it before, and this run would delete local files. ` +
      `Check that the remote folder was not emptied, renamed or moved, and that the job's remotePath is right.`
    );
  }
  if (localEmpty) {
    return (
      `The local folder is empty (no files) but ${trackedFiles} file(s) were synced from it before, and this run would delete remote files. ` +
      `Check that the local folder (or the disk holding it) is mounted and is the right path.`
    );
  }
  return undefined;
}

function holdsFiles(entries: Map<string, { type: string }>): boolean {
  for (const entry of entries.values()) if (entry.type === "file") return true;
  return false;
}

/** Too many file deletions at once, relative to maxDelete. Folder deletions are not counted. */
function maxDeleteProblem(input: GuardInput, plan: Action[], trackedFiles: number): string | undefined {
  const count = plan.filter((a) => isDelete(a) && a.type === "file").length;
  if (count === 0) return undefined;
  const { kind, value } = input.policy.maxDelete;
  if (kind === "count") {
    if (count <= value) return undefined;
    return `This run would delete ${count} file(s), more than maxDelete (${value}). ${checkHint(input)}`;
  }
  // percent of the files this job tracks; with nothing tracked yet, any deletion exceeds it.
  if (count * 100 <= value * trackedFiles) return undefined;
  const share = trackedFiles > 0 ? `${Math.round((count * 100) / trackedFiles)}% of the ${trackedFiles} tracked file(s)` : "none tracked yet";
  return `This run would delete ${count} file(s) (${share}), more than maxDelete (${value}%). ${checkHint(input)}`;
}

function checkHint(input: GuardInput): string {
  switch (input.policy.direction) {
    case "upload":
      return "Check that the local folder is complete and is the right path.";
    case "download":
      return "Check that the remote folder is complete and the job's remotePath is right.";
    case "two-way":
      return "Check that both folders are complete and are the right paths, and review the planned deletions before forcing.";
  }
}
