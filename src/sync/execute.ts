/**
 * Carrying out a plan: folders, adopted files, transfers, conflicts and compares, deletions
 * (through the deletion gate), forgets, the cleanup of partial transfers and the done marker.
 * It decides nothing the plan did not: a failure only holds back deletions near it, or stops the
 * run when nothing else can succeed.
 */
import { RemoteError } from "../errors.js";
import type { FinishedFile } from "../human-units.js";
import { isDelete } from "../plan/guards.js";
import type { Action, ConflictAction, LocalEntry, RemoteEntry, StateEntry } from "../plan/types.js";
import { onlyTakingLeft, SourceTaker, takesSource } from "./after-transfer.js";
import { forEachLimit } from "./concurrency.js";
import { DeletionGate } from "./deletion-gate.js";
import { compareContents } from "./evidence.js";
import type { Plan } from "./plan-run.js";
import type { RunContext } from "./run-context.js";
import { finishedFile, logFileDone } from "./run-log.js";
import { Bandwidth } from "./throttle.js";
import { SourceChanged, SourceVanished, Transfers } from "./transfers.js";

/** What the plan's actions refer to: the scan's and the listing's entries, and the state's rows. */
export interface Sides {
  local: Map<string, LocalEntry>;
  remote: Map<string, RemoteEntry>;
  state: Map<string, StateEntry>;
  /** A folder of either side could not be read: no deletion at all. */
  unreadFolders: boolean;
}

export interface Executed {
  /** The plan's actions less the deletions held back. */
  actions: Action[];
  deferred: number;
  skippedDeletes: number;
}

type DeleteAction = Extract<Action, { kind: "delete-local" | "delete-remote" }>;

/** adopt and forget only write the state, reported paths not even that; leftover partial transfers need the server. */
const reportOnly = (a: Action) => a.kind === "held-delete" || a.kind === "needs-user";

/** One run's execution: the plan, the sides, and what failed so far. */
class Execution {
  readonly transfers: Transfers;
  readonly stop = new AbortController();
  /** Which deletions the run's failures leave allowed (deletion-gate.ts). */
  readonly gate = new DeletionGate();
  done = 0;
  deferred = 0;
  readonly total: number;
  /** afterTransfer "delete" or { archive }: takes each source file once its copy is recorded. */
  readonly taker?: SourceTaker;
  /** Bytes the plan's transfers move in all, for the progress display. */
  readonly totalBytes: number;
  /** Bytes of the files in flight so far, by path (only while a progress display is attached). */
  private readonly inFlight = new Map<string, number>();
  private shown = { phase: "transferring" as "transferring" | "deleting", current: undefined as string | undefined, at: 0 };

  constructor(
    readonly ctx: RunContext,
    readonly actions: Action[],
    readonly sides: Sides,
  ) {
    const { job, state, server, logger, opts, counts } = ctx;
    this.transfers = new Transfers({
      job, state, remote: server, logger, signal: opts.signal,
      bandwidth: job.bandwidthLimit ? new Bandwidth(job.bandwidthLimit) : undefined,
      onBytes: (n) => (counts.bytes += n),
      onMoving: opts.onProgress && opts.progressBytes !== false ? (rel, n) => this.moving(rel, n) : undefined,
      startedMs: (opts.now ?? new Date()).getTime(),
    });
    if (takesSource(job)) this.taker = new SourceTaker({ job, remote: server, logger, signal: opts.signal });
    this.total = actions.filter((a) => !reportOnly(a)).length;
    this.totalBytes = actions.reduce((n, a) => n + (finishedFile(a, 0).bytes ?? 0), 0);
    if (sides.unreadFolders) this.gate.blockAll();
  }

  fail(a: Pick<Action, "kind" | "path">, err: unknown): void {
    const { ctx } = this;
    if (err instanceof SourceChanged) {
      if (!(err instanceof SourceVanished)) this.deferred++;
      ctx.warn(err.message);
      return;
    }
    ctx.counts.failed++;
    this.gate.failed(a.path, err);
    const message = `${a.kind} ${a.path}: ${(err as Error).message}`;
    ctx.errors.push(message);
    // Connections cut on purpose (a shutdown that would not wait) fail what was in flight: no error of its own.
    if (ctx.opts.hardStop?.aborted) ctx.logger.warn(`${message} (stopped by shutdown)`);
    else ctx.logger.error(message);
    // Out of space, quota, login or certificate: nothing else can succeed, stop the job.
    if (err instanceof RemoteError && err.stopsJob) this.stop.abort(err);
  }

  /** The progress display, told now: counts, bytes (in flight included) and the file named. */
  show(finished?: FinishedFile): void {
    const { phase, current } = this.shown;
    this.shown.at = Date.now();
    let inFlight = 0;
    for (const n of this.inFlight.values()) inFlight += n;
    this.ctx.progress({ phase, done: this.done, total: this.total, totalBytes: this.totalBytes, current, inFlight, ...(finished ? { finished } : {}) });
  }

  /** Bytes of a file in flight: the display moves with them, a few times a second at most (a big file alone moves it). */
  moving(rel: string, bytesSoFar: number | undefined): void {
    if (bytesSoFar === undefined) return void this.inFlight.delete(rel);
    this.inFlight.set(rel, bytesSoFar);
    if (Date.now() - this.shown.at < 200) return;
    this.shown.current = rel;
    this.show();
  }

  async step(a: Action, fn: () => Promise<unknown>): Promise<void> {
    if (this.stop.signal.aborted) return;
    this.shown = { phase: a.kind.startsWith("delete") ? "deleting" : "transferring", current: a.path, at: 0 };
    this.show();
    const started = performance.now();
    let ok = true;
    try {
      await fn();
    } catch (err) {
      ok = false;
      this.fail(a, err);
    }
    this.done++;
    if (!ok) return;
    // One line a file at info: the log answers "what did we send?" (run-log.ts).
    const f = finishedFile(a, performance.now() - started);
    logFileDone(this.ctx.logger, a, f);
    if (this.ctx.opts.onProgress) this.show(f);
  }

  /** Both sides hold the same file: record their signatures. */
  recordAdopt(a: { path: string; local: LocalEntry; remote: RemoteEntry }): void {
    const { state, job } = this.ctx;
    const prev = this.sides.state.get(a.path);
    state.entries.put(job.name, {
      path: a.path, type: a.local.type, localSize: a.local.size, localMtimeMs: a.local.mtimeMs,
      remoteSize: a.remote.size, remoteModifyMs: a.remote.modifyMs, remotePrecision: a.remote.precision,
      placedRemote: prev?.placedRemote ?? false, placedLocal: prev?.placedLocal ?? false,
    });
  }

  async transfer(a: Action): Promise<void> {
    const { counts, logger } = this.ctx;
    switch (a.kind) {
      case "upload":
        if (this.taker && onlyTakingLeft(a, this.sides.state.get(a.path))) return this.taker.takeLocal(a.path, a.local);
        await this.transfers.upload(a.path, a.local, a.remote, a.placedRemote);
        counts.uploaded++;
        // afterTransfer: only now, the copy verified and recorded (after-transfer.ts).
        this.taker?.takeLocal(a.path, a.local);
        return;
      case "download":
        if (this.taker && onlyTakingLeft(a, this.sides.state.get(a.path))) return this.taker.takeRemote(a.path, a.remote);
        await this.transfers.download(a.path, a.remote, a.local, a.placedLocal);
        counts.downloaded++;
        await this.taker?.takeRemote(a.path, a.remote);
        return;
      case "conflict":
        return this.resolveConflict(a);
      case "compare": {
        // Equal only on evidence (evidence.ts): the same bytes are adopted, others are a conflict.
        const { job, server } = this.ctx;
        const verdict = await compareContents({ job, server, path: a.path, local: a.local, remote: a.remote, signal: this.stop.signal });
        if (verdict.same) {
          logger.info(`${a.path}: ${a.reason}: ${verdict.how}, recorded as in sync`);
          this.recordAdopt(a);
          return;
        }
        return this.resolveConflict({ ...a.ifDifferent, reason: `${a.ifDifferent.reason} (${verdict.how})` });
      }
      default:
        throw new Error(`unexpected action ${a.kind}`);
    }
  }

  async resolveConflict(a: ConflictAction): Promise<void> {
    this.ctx.logger.info(`conflict ${a.path}: ${a.reason} -> ${a.resolution}${a.conflictName ? ` (remote copy kept as ${a.conflictName})` : ""}`);
    this.ctx.counts.conflicts++;
    if (a.resolution === "keep-both") {
      await this.transfers.keepBoth(a.path, a.conflictName!, a.local, a.remote);
    } else if (a.resolution === "upload") {
      await this.transfers.upload(a.path, a.local, a.remote, true);
    } else {
      await this.transfers.download(a.path, a.remote, a.local, true);
    }
  }

  async deleteOne(a: DeleteAction): Promise<void> {
    const { counts } = this.ctx;
    if (a.kind === "delete-remote") {
      await this.transfers.deleteRemote(a.path, a.type, this.sides.remote.get(a.path));
      counts.deletedRemote++;
    } else {
      await this.transfers.deleteLocal(a.path, a.type, this.sides.state.get(a.path), this.sides.local.get(a.path)?.diskPath);
      counts.deletedLocal++;
    }
  }
}

/** The remote root first where the plan creates it (a failure there fails the run), then the other folders, parents before children (the plan is ordered). */
async function makeFolders(x: Execution): Promise<void> {
  const { ctx, transfers } = x;
  for (const a of x.actions) {
    if (a.kind === "mkdir-remote" && a.path === "") {
      await transfers.ensureRemoteRoot();
      ctx.logger.info(`created the remote folder ${ctx.job.remotePath}`);
      x.done++;
    } else if (a.kind === "mkdir-remote") await x.step(a, () => transfers.mkdirRemote(a.path, x.sides.local.get(a.path)?.diskPath));
    else if (a.kind === "mkdir-local") await x.step(a, () => transfers.mkdirLocal(a.path, x.sides.remote.get(a.path)?.serverPath));
  }
}

/** Adopts (state writes only, in one batch), then transfers, conflicts and compares, as many at once as the server takes. */
async function transferAll(x: Execution): Promise<void> {
  const { state } = x.ctx;
  const transferring = x.actions.filter((a) => !isDelete(a) && a.kind !== "forget" && !reportOnly(a) && !a.kind.startsWith("mkdir"));
  const adopts = transferring.filter((a) => a.kind === "adopt") as Extract<Action, { kind: "adopt" }>[];
  state.entries.batch(() => {
    for (const a of adopts) {
      x.recordAdopt(a);
      x.done++;
    }
  });
  const work = transferring.filter((a) => a.kind !== "adopt");
  await forEachLimit(work, x.ctx.server.width, (a) => x.step(a, () => x.transfer(a)), x.stop.signal);
}

/**
 * Deletions: none after a listing, connection or unknown failure, or in a stopped run; none near
 * a path that failed on its own (a refused name, a permission): see deletion-gate.ts. Files first,
 * as many at once as the server takes, then folders in the plan's order (children first).
 * Returns the deletions held back.
 */
async function deleteAll(x: Execution): Promise<Set<Action>> {
  if (x.stop.signal.aborted) x.gate.blockAll();
  const planned = x.actions.filter(isDelete);
  const heldBack = planned.filter((a) => !x.gate.allows(a.path));
  if (heldBack.length > 0) {
    x.ctx.warn(
      x.gate.blocksAll
        ? `${heldBack.length} deletion(s) skipped because this run had errors; they will be reconsidered next run`
        : `${heldBack.length} deletion(s) at or around paths that failed (${x.gate.paths.join(", ")}) skipped; they will be reconsidered next run`,
    );
  }
  const held = new Set<Action>(heldBack);
  const deletes = planned.filter((a) => !held.has(a));
  await forEachLimit(deletes.filter((a) => a.type === "file"), x.ctx.server.width, (a) => x.step(a, () => x.deleteOne(a)), x.stop.signal);
  for (const a of deletes.filter((d) => d.type === "dir")) await x.step(a, () => x.deleteOne(a));
  return held;
}

/** Forgets, the cleanup of partial transfers, and the done marker of a run that changed something and failed nowhere. */
async function finishUp(x: Execution): Promise<void> {
  const { ctx, transfers } = x;
  const { state, job, counts, opts, logger } = ctx;
  const forgets = x.actions.filter((a) => a.kind === "forget");
  state.entries.batch(() => {
    for (const a of forgets) state.entries.delete(job.name, a.path);
  });
  // A stopped run keeps its partial transfers for the next run to resume (and a destroyed
  // connection could not remove them anyway: their rows must not be dropped).
  if (!x.stop.signal.aborted && !opts.hardStop?.aborted) {
    await transfers.cleanupPartials().catch((err) => logger.warn(`cleaning temporary files: ${(err as Error).message}`));
  }
  // Retention of the versions folders (backup.keep): never a failure of the run.
  const versions = transfers.versions;
  if (versions && !x.stop.signal.aborted && !opts.hardStop?.aborted) {
    for (const w of (await versions.prune((opts.now ?? new Date()).getTime())).warnings) ctx.warn(w);
  }
  const changed = counts.uploaded + counts.downloaded + counts.deletedLocal + counts.deletedRemote + counts.conflicts > 0;
  if (job.doneMarker && changed && counts.failed === 0 && job.direction !== "download" && !x.stop.signal.aborted) {
    try {
      await transfers.uploadDoneMarker(job.doneMarker, JSON.stringify({ job: job.name, finishedAt: new Date().toISOString(), uploaded: counts.uploaded }) + "\n");
    } catch (err) {
      x.fail({ kind: "upload", path: job.doneMarker }, err);
    }
  }
}

/** Whether carrying out these actions needs the server (it connects only then: an unchanged trusted tree never does). */
export function needsServer(actions: Action[], partialsLeft: boolean): boolean {
  return actions.some((a) => a.kind !== "adopt" && a.kind !== "forget" && !reportOnly(a)) || partialsLeft;
}

export async function execute(ctx: RunContext, plan: Plan, sides: Sides): Promise<Executed> {
  const { opts } = ctx;
  const x = new Execution(ctx, plan.actions, sides);
  const onAbort = () => x.stop.abort(opts.signal?.reason);
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    await makeFolders(x);
    await transferAll(x);
    const heldBack = await deleteAll(x);
    await finishUp(x);
    ctx.progress({ phase: "done", done: x.total, total: x.total });
    return { actions: plan.actions.filter((a) => !heldBack.has(a)), deferred: x.deferred, skippedDeletes: heldBack.size };
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
  }
}
