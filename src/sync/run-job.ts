import type { AgentConfig, JobConfig, RemoteConfig } from "../config/types.js";
import { ConfigError, PlanChangedError, RemoteError, SafetyGuardError } from "../errors.js";
import type { Logger } from "../log.js";
import type { LocalScan } from "../local/scan.js";
import type { RunScope } from "../plan/filter.js";
import { isDelete } from "../plan/guards.js";
import type { Action, RemoteListing } from "../plan/types.js";
import type { RemoteFolder } from "../remote/remote-folder.js";
import type { StateStore } from "../state/index.js";
import type { RunCounts } from "../state/runs.js";
import { execute, needsServer } from "./execute.js";
import { finishGathering, Sources, startGathering, type Gathered } from "./gather.js";
import { planRun, unreadFolders, type Plan } from "./plan-run.js";
import { recordLanded, refreshMemo, rememberMemos, runRecord, type RunStatusResult } from "./record.js";
import { runContext, type RunContext } from "./run-context.js";
import { logRunSummary } from "./run-log.js";
import type { FinishedFile } from "../human-units.js";
import { readMemo, settledShortcut, trustedShortcut, trustedTreeUnchanged, type Memo, type NothingToDo } from "./shortcut.js";

export type { RunStatusResult } from "./record.js";

export interface RunSummary extends RunCounts {
  job: string;
  status: RunStatusResult;
  durationMs: number;
  dryRun: boolean;
  plan: Action[];
  /** Files left for the next run because they changed while being synced. */
  deferred: number;
  skippedDeletes: number;
  errors: string[];
  warnings: string[];
}

export interface Progress {
  phase: "listing" | "planning" | "transferring" | "deleting" | "done";
  done: number;
  total: number;
  /** Bytes moved so far, those of the files in flight included (while a progress display is attached). */
  bytes: number;
  /** Bytes the plan moves in all (transferring). */
  totalBytes?: number;
  current?: string;
  /** A file just done (`--progress plain` prints a line for each). */
  finished?: FinishedFile;
}

export interface RunOptions {
  logger: Logger;
  dryRun?: boolean;
  force?: boolean;
  trigger?: string;
  signal?: AbortSignal;
  /** Abandon the run now: closes every connection to the server, transfers in flight included. */
  hardStop?: AbortSignal;
  onProgress?: (p: Progress) => void;
  /** The progress display shows the bytes of files in flight (a stream in each transfer's way counts them); default yes. */
  progressBytes?: boolean;
  /**
   * Look only at these folders (the agent's watch events named them): their files on both sides
   * and in the state. A scoped run that would delete anything, or finds a folder it cannot read,
   * or has partial transfers to resume, becomes a full run.
   */
  scope?: RunScope;
  /** The server, owned by the caller (the agent keeps a job's open between runs; tests inject one). */
  remote?: RemoteFolder;
  /** Or: how to open one for this run (the CLI's FTPS folder), closed when the run ends. */
  openRemote?: (remote: RemoteConfig, logger: Logger) => RemoteFolder;
  now?: Date;
  /** Called once the run has its plan (not for a shortcut's "nothing to do"): `plan --out` saves it with what it was based on. */
  onPlanned?: (plan: Plan, gathered: Gathered) => void;
  /** Files minAge held back become due in this many milliseconds, with nothing changed (the agent runs the job again then). */
  onHeldBack?: (dueInMs: number) => void;
}

/** What a run did, beside the context's counts, errors and warnings. */
export interface Outcome {
  status: RunStatusResult;
  error?: string;
  actions: Action[];
  deferred: number;
  skippedDeletes: number;
}

/** Names the scan skipped or held back, then the listing's. */
function nameProblems(localScan: LocalScan, remote: RemoteListing | undefined): string[] {
  return [...(localScan.nameProblems ?? []), ...(remote?.nameProblems ?? [])];
}

/** The phases of a run: a sync's (below), or an apply's (apply-plan.ts). */
export type Phases = (ctx: RunContext, report: (o: Outcome) => void) => Promise<void>;

/**
 * Runs one job once, in phases: gather (scan, list, load the state) -> shortcut (nothing to do,
 * by a memo) -> plan (diff and guards: a dry run ends here) -> record what was gathered ->
 * execute -> record the run. Connection failures at the start throw RemoteError (exit 4); guards
 * throw SafetyGuardError (exit 3) after recording an aborted run; everything else ends in a summary.
 */
export async function runJob(config: AgentConfig, state: StateStore, jobName: string, opts: RunOptions, phases: Phases = runPhases): Promise<RunSummary> {
  const job: JobConfig | undefined = config.jobs[jobName];
  if (!job) throw new ConfigError(`unknown job "${jobName}"; known jobs: ${Object.keys(config.jobs).join(", ") || "(none)"}`);
  const remoteConfig = config.remotes[job.remote];
  const jobLogger = opts.logger.child({ job: job.name });
  const server = opts.remote ?? opts.openRemote?.(remoteConfig, jobLogger);
  if (!server) throw new Error("runJob needs a remote folder: pass remote or openRemote");
  const started = Date.now();
  const ctx = runContext({ config, job, remoteConfig, state, server, logger: jobLogger, opts });
  const recordRun = runRecord(ctx);
  // Every line of the run carries its id (the `history` row's), beside the job.
  const logger = (ctx.logger = jobLogger.child({ runId: recordRun.runId }));
  let outcome: Outcome = { status: "ok", actions: [], deferred: 0, skippedDeletes: 0 };
  let summarised = false;
  const finish = (status: RunStatusResult, error?: string): RunSummary => {
    recordRun(status, ctx.counts, error);
    const { actions: plan, deferred, skippedDeletes } = outcome;
    const summary: RunSummary = { job: job.name, status, durationMs: Date.now() - started, dryRun: !!opts.dryRun, plan, deferred, skippedDeletes, errors: ctx.errors, warnings: ctx.warnings, ...ctx.counts };
    if (!summarised) logRunSummary(logger, summary, !!(opts.signal?.aborted || opts.hardStop?.aborted));
    summarised = true;
    return summary;
  };

  const onHardStop = () => server.destroy();
  if (opts.hardStop?.aborted) onHardStop();
  opts.hardStop?.addEventListener("abort", onHardStop, { once: true });
  try {
    await phases(ctx, (o) => (outcome = o));
    return finish(outcome.status, outcome.error);
  } catch (err) {
    if (err instanceof SafetyGuardError || err instanceof PlanChangedError) {
      logger.error(err.message);
      finish("aborted", err.message);
      throw err;
    }
    if (err instanceof RemoteError && err.phase === "connect") {
      finish("failed", err.message);
      throw err;
    }
    ctx.errors.push((err as Error).message);
    logger.error(`run failed: ${(err as Error).message}`);
    return finish("failed", (err as Error).message);
  } finally {
    opts.hardStop?.removeEventListener("abort", onHardStop);
    if (!opts.remote) await server.close();
  }
}

/** What the run decided before it changes anything: nothing to do (a shortcut), or a plan over what was gathered. */
type Decided = { memo: Memo } & ({ nothingToDo: NothingToDo } | { gathered: Gathered; plan: Plan; unchanged: boolean; scoped?: boolean });

/** gather -> shortcut -> plan (diff and guards): reads only, whatever it finds. */
async function decide(ctx: RunContext): Promise<Decided> {
  const { job, opts } = ctx;
  ctx.progress({ phase: "listing", done: 0, total: 0 });
  if (opts.scope) {
    const scoped = await decideScoped(ctx, opts.scope);
    if (scoped) return scoped;
    ctx.logger.info("the folders the watch events named call for a full run (a deletion, an unread folder or a transfer to resume)");
  }
  const sources = new Sources(ctx);
  // A trusted job (no listing) opens a connection only once the plan has something to do on the server.
  const trustedJob = !!job.trustRemote && job.direction === "upload";
  const memo = readMemo(ctx);
  const early = trustedJob ? await trustedShortcut(ctx, sources, memo) : {};
  if (early.done) return { memo, nothingToDo: early.done };
  const underWay = startGathering(ctx, sources, trustedJob, early.earlyScan);
  const settled = await settledShortcut(ctx, sources, memo, underWay);
  if (settled) return { memo, nothingToDo: settled };
  const gathered = await finishGathering(ctx, sources, trustedJob, underWay);
  ctx.progress({ phase: "planning", done: 0, total: 0 });
  const unchanged = trustedTreeUnchanged(gathered);
  return { memo, gathered, plan: planAndReport(ctx, gathered, unchanged), unchanged };
}

/**
 * The plan of a run scoped to a few folders (run-job's `scope`), or undefined when it must be a
 * full run: the memos and shortcuts speak of the whole tree, so they are neither read nor written;
 * a deletion's guards speak of the whole tree too, so a scoped plan that deletes is not used.
 */
async function decideScoped(ctx: RunContext, scope: RunScope): Promise<Decided | undefined> {
  const { job, state } = ctx;
  if (job.trustRemote || state.partials.list(job.name).length > 0) return undefined;
  const before = { failed: ctx.counts.failed, errors: ctx.errors.length, warnings: ctx.warnings.length };
  const undo = () => {
    ctx.counts.failed = before.failed;
    ctx.errors.length = before.errors;
    ctx.warnings.length = before.warnings;
    return undefined;
  };
  const sources = new Sources(ctx, scope);
  let gathered: Gathered;
  let plan: Plan;
  try {
    gathered = await finishGathering(ctx, sources, false, startGathering(ctx, sources, false, undefined));
    plan = planAndReport(ctx, gathered, false);
  } catch (err) {
    if (err instanceof SafetyGuardError) return undo();
    throw err;
  }
  const deletes = plan.actions.some((a) => isDelete(a) || a.kind === "held-delete");
  if (deletes || plan.skippedDeletes > 0 || plan.errors.length > 0 || gathered.remoteRootMissing) return undo();
  ctx.lap(`scoped to ${scope.folders.length + scope.deep.length} folder(s)`);
  return { memo: readMemo(ctx), gathered, plan, unchanged: false, scoped: true };
}

/** The phases, in order; `report` keeps what the run did so far, for a summary even if a later phase throws. A dry run ends once decided. */
async function runPhases(ctx: RunContext, report: (o: Outcome) => void): Promise<void> {
  const { job, opts } = ctx;
  const decided = await decide(ctx);
  if ("nothingToDo" in decided) {
    const { localScan, remote } = decided.nothingToDo;
    ctx.warnings.push(...nameProblems(localScan, remote));
    ctx.progress({ phase: "done", done: 0, total: 0 });
    report({ status: "ok", actions: [], deferred: 0, skippedDeletes: 0 });
  } else {
    report({ status: "ok", actions: decided.plan.actions, deferred: 0, skippedDeletes: decided.plan.skippedDeletes });
    opts.onPlanned?.(decided.plan, decided.gathered);
  }
  if (opts.dryRun) return;
  if ("nothingToDo" in decided) return refreshMemo(ctx, decided.memo, decided.nothingToDo);

  const { memo, gathered, plan, unchanged, scoped } = decided;
  if (plan.filtered?.dueInMs !== undefined) opts.onHeldBack?.(plan.filtered.dueInMs);
  recordLanded(ctx, gathered.landed);
  if (!scoped) rememberMemos(ctx, memo, gathered, plan, unchanged);
  if (needsServer(plan.actions, ctx.state.partials.list(job.name).length > 0)) await ctx.connect();
  const sides = {
    local: gathered.localScan.entries,
    remote: (gathered.listed ?? { entries: new Map() }).entries,
    state: gathered.stateEntries,
    unreadFolders: gathered.localScan.failedDirs.length > 0 || (gathered.listed?.failedDirs.length ?? 0) > 0,
  };
  const executed = await execute(ctx, plan, sides);
  const stopped = opts.signal?.aborted || opts.hardStop?.aborted;
  const { counts, errors } = ctx;
  report({
    ...(stopped ? { status: "failed", error: "stopped before the run finished" } : { status: counts.failed > 0 ? "failed" : "ok", error: errors[0] }),
    actions: executed.actions,
    deferred: executed.deferred,
    skippedDeletes: plan.skippedDeletes + executed.skippedDeletes,
  });
}

/** Plans the run; its unread folders are failures, its names skipped and its warnings are the run's (logged as found). */
function planAndReport(ctx: RunContext, g: Gathered, unchanged: boolean): Plan {
  const { job, opts } = ctx;
  for (const e of unreadFolders(job, g.localScan, g.listed)) {
    ctx.counts.failed++;
    ctx.errors.push(e);
  }
  ctx.warnings.push(...nameProblems(g.localScan, g.listed));
  const { localScan, listed, stateEntries, remoteRootMissing } = g;
  const remoteClockMs = ctx.server.serverClock?.known?.listingMs;
  const plan = planRun({ job, localScan, listed, stateEntries, unchanged, remoteRootMissing, force: !!opts.force, now: opts.now ?? new Date(), remoteClockMs });
  for (const w of plan.warnings) ctx.warn(w);
  if (plan.filtered) ctx.logger.info(`${plan.filtered.held} file(s) held back by the job's filters (minAge, maxFileAge, minSize, maxSize): neither transferred nor deleted`);
  ctx.lap(`planned ${plan.actions.length} actions`);
  return plan;
}
