/**
 * Applying a reviewed plan (`ftps-sync apply plan.json`): gather both sides and the state again,
 * check that every path the plan acts on is as the plan saw it (its basis), plan again over what
 * was gathered with the plan's own clock, and carry out exactly the saved plan's actions, taken
 * from the fresh plan (so that no entry, name or spelling comes from the file). Anything the plan
 * did not foresee (a path changed on either side or in the state, an action the job would not
 * take now, the job's settings changed) refuses the whole plan before anything is done: exit 9.
 */
import { PlanChangedError } from "../errors.js";
import { checkGuards } from "../plan/guards.js";
import { actionKey, basisChanges, identityChanges, jobIdentity, planBasis, type BasisChange, type PlanSides, type SavedPlan } from "../plan/saved-plan.js";
import { remoteFromState } from "../plan/trusted-remote.js";
import type { Action } from "../plan/types.js";
import { execute, needsServer } from "./execute.js";
import { finishGathering, Sources, startGathering, type Gathered } from "./gather.js";
import { planRun, type Plan } from "./plan-run.js";
import { recordLanded } from "./record.js";
import type { RunContext } from "./run-context.js";
import type { Outcome, Phases } from "./run-job.js";
import { trustedTreeUnchanged } from "./shortcut.js";

/** What the plan's diff compared: the scan, the listing (or, in a trusted run, the state's view of the server), the state. */
export function sidesOf(g: Gathered): PlanSides {
  return { local: g.localScan.entries, remote: g.listed?.entries ?? remoteFromState(g.stateEntries).entries, state: g.stateEntries };
}

/** The plan to save: its actions, and what each was based on. */
export function savedPlanOf(o: { plan: Plan; gathered?: Gathered; job: string; config: string; identity: SavedPlan["identity"]; force: boolean; createdAt: Date }): SavedPlan {
  const { plan, gathered } = o;
  return {
    schema: "ftps-sync/plan-file/v1",
    createdAt: o.createdAt.toISOString(),
    job: o.job,
    config: o.config,
    identity: o.identity,
    force: o.force,
    actions: plan.actions,
    basis: gathered ? planBasis(plan.actions, sidesOf(gathered)) : [],
    skippedDeletes: plan.skippedDeletes,
    warnings: plan.warnings,
  };
}

/**
 * The saved plan's actions as the fresh plan has them, in the fresh plan's order (folders before
 * what goes in them, a folder's contents deleted before it, whatever order the file holds); the
 * saved ones the job would not take now are `missing`.
 */
export function matchActions(saved: readonly Action[], fresh: readonly Action[]): { selected: Action[]; missing: Action[] } {
  const wanted = new Set(saved.map(actionKey));
  const selected = fresh.filter((a) => wanted.has(actionKey(a)));
  const found = new Set(selected.map(actionKey));
  return { selected, missing: saved.filter((a) => !found.has(actionKey(a))) };
}

const changeLine = (c: BasisChange) => `${c.path || "(the job's folder)"} (${c.side}: ${c.was} -> ${c.now})`;

/** Why the saved plan no longer holds, or undefined when it does. */
function whatChanged(ctx: RunContext, saved: SavedPlan, changes: BasisChange[], missing: Action[]): PlanChangedError | undefined {
  const settings = identityChanges(saved.identity, jobIdentity(ctx.job, ctx.remoteConfig));
  if (settings.length > 0) {
    return new PlanChangedError(`the job ${ctx.job.name} changed since the plan was made (${settings.join("; ")}): nothing was done`, []);
  }
  const notTaken = missing.map((a): BasisChange => ({ path: a.path, side: "state", was: `${a.kind} planned`, now: "not an action the job would take now" }));
  const all = [...changes, ...notTaken];
  if (all.length === 0) return undefined;
  const shown = all.slice(0, 10).map(changeLine).join("; ");
  return new PlanChangedError(
    `${new Set(all.map((c) => c.path)).size} path(s) changed since the plan was made: ${shown}${all.length > 10 ? `; and ${all.length - 10} more` : ""}. Nothing was done`,
    all,
  );
}

/**
 * The phases of an apply: gather (no shortcut: every side is read) -> check the basis and match
 * the actions -> the guards over what will be done -> execute. Nothing is written before the checks pass.
 */
export function applyPhases(saved: SavedPlan): Phases {
  return async (ctx: RunContext, report: (o: Outcome) => void) => {
    const { job, opts } = ctx;
    // The job's settings first: a plan for another folder or server is not compared path by path.
    const early = whatChanged(ctx, saved, [], []);
    if (early) throw early;
    ctx.progress({ phase: "listing", done: 0, total: 0 });
    const sources = new Sources(ctx);
    const trustedJob = !!job.trustRemote && job.direction === "upload";
    const gathered = await finishGathering(ctx, sources, trustedJob, startGathering(ctx, sources, trustedJob, undefined));
    ctx.progress({ phase: "planning", done: 0, total: 0 });
    const sides = sidesOf(gathered);
    // Guards are checked below on what will be done, not on the fresh plan as a whole (which may
    // hold changes made since, which this apply leaves alone).
    const fresh = planRun({
      job, localScan: gathered.localScan, listed: gathered.listed, stateEntries: gathered.stateEntries, unchanged: trustedTreeUnchanged(gathered),
      remoteRootMissing: gathered.remoteRootMissing, force: true, now: new Date(saved.createdAt), remoteClockMs: ctx.server.serverClock?.known?.listingMs,
    });
    const { selected, missing } = matchActions(saved.actions, fresh.actions);
    const refused = whatChanged(ctx, saved, basisChanges(saved.basis, sides), missing);
    if (refused) throw refused;
    const guarded = checkGuards({ plan: selected, state: gathered.stateEntries, local: sides.local, remote: gathered.listed ?? { entries: sides.remote, complete: true, failedDirs: [] }, policy: job, force: saved.force });
    for (const w of guarded.warnings) ctx.warn(w);
    const left = fresh.actions.length - selected.length;
    if (left > 0) ctx.warn(`${left} other change(s) since the plan was made are not part of it: left for the next sync`);
    const skippedDeletes = selected.filter((a) => a.kind === "held-delete").length;
    const plan: Plan = { actions: selected, skippedDeletes, warnings: [], errors: [] };
    report({ status: "ok", actions: selected, deferred: 0, skippedDeletes });

    recordLanded(ctx, gathered.landed);
    if (needsServer(selected, ctx.state.partials.list(job.name).length > 0)) await ctx.connect();
    const unreadFolders = gathered.localScan.failedDirs.length > 0 || (gathered.listed?.failedDirs.length ?? 0) > 0;
    const executed = await execute(ctx, plan, { ...sides, remote: (gathered.listed ?? { entries: new Map() }).entries, unreadFolders });
    const stopped = opts.signal?.aborted || opts.hardStop?.aborted;
    report({
      ...(stopped ? { status: "failed", error: "stopped before the run finished" } : { status: ctx.counts.failed > 0 ? "failed" : "ok", error: ctx.errors[0] }),
      actions: executed.actions,
      deferred: executed.deferred,
      skippedDeletes: skippedDeletes + executed.skippedDeletes,
    });
  };
}
