import { join } from "node:path";
import type { AgentConfig, JobConfig, RemoteConfig } from "../config/types.js";
import { AgentError, ConfigError, RemoteError, SafetyGuardError } from "../errors.js";
import type { Logger } from "../log.js";
import { ownFilesIn, realLocalFolder } from "../local/own-files.js";
import { scanLocal, type LocalScan } from "../local/scan.js";
import { diff } from "../plan/diff.js";
import { makeJobPathFilter } from "../plan/filter.js";
import { checkGuards, isDelete, withoutDeletes } from "../plan/guards.js";
import type { Action, ConflictAction, LocalEntry, RemoteEntry, RemoteListing, StateEntry } from "../plan/types.js";
import { withoutTwins } from "../plan/name-twins.js";
import { refineDayTimes } from "./day-times.js";
import { remoteJoin } from "../plan/names.js";
import { localMatchesState, remoteFromState, scanFingerprint } from "../plan/trusted-remote.js";
import { formatSettledMemo, parseSettledMemo, remoteSideDigest } from "../plan/settled-run.js";
import { RemoteRootMissing, type RemoteFolder } from "../remote/remote-folder.js";
import type { StateStore } from "../state/index.js";
import type { RunCounts } from "../state/runs.js";
import { forEachLimit } from "./concurrency.js";
import { Bandwidth } from "./throttle.js";
import { recordLandedDownloads, recordLandedUploads } from "./landed-uploads.js";
import { SourceChanged, SourceVanished, Transfers } from "./transfers.js";
import { compareContents } from "./evidence.js";
import { DeletionGate } from "./deletion-gate.js";

export type RunStatusResult = "ok" | "failed" | "aborted";

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
  bytes: number;
  current?: string;
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
  /** The server, owned by the caller (the agent keeps a job's open between runs; tests inject one). */
  remote?: RemoteFolder;
  /** Or: how to open one for this run (the CLI's FTPS folder), closed when the run ends. */
  openRemote?: (remote: RemoteConfig, logger: Logger) => RemoteFolder;
  now?: Date;
}

/** Entries from which a local scan is split over two threads: below that, this thread has walked
 * the tree before the worker (some 50 ms to start) claims a folder. */
const PARALLEL_SCAN_FROM = 20_000;

const byWorker = (s: LocalScan) => (s.walkedByWorker ? ` (${s.walkedByWorker} folders by a second thread)` : "");

const emptyCounts = (): RunCounts => ({ uploaded: 0, downloaded: 0, deletedLocal: 0, deletedRemote: 0, conflicts: 0, failed: 0, bytes: 0 });

/** Names the scan skipped or held back, then the listing's. */
function nameProblems(localScan: LocalScan, remote: RemoteListing | undefined): string[] {
  return [...(localScan.nameProblems ?? []), ...(remote?.nameProblems ?? [])];
}

/** Both sides seen whole: a run may remember them as settled, or match them against a memo. */
function settledListing(localScan: LocalScan, remote: RemoteListing): boolean {
  return localScan.failedDirs.length === 0 && remote.complete && remote.failedDirs.length === 0;
}

function countTrackedFiles(state: Map<string, StateEntry>): number {
  let n = 0;
  for (const s of state.values()) if (s.type === "file") n++;
  return n;
}

/**
 * Runs one job once: list both sides, plan, guard, carry out the plan, record the run.
 * Connection failures at the start throw RemoteError (exit 4); guards throw SafetyGuardError
 * (exit 3) after recording an aborted run; everything else ends in a summary.
 */
export async function runJob(config: AgentConfig, state: StateStore, jobName: string, opts: RunOptions): Promise<RunSummary> {
  const job: JobConfig | undefined = config.jobs[jobName];
  if (!job) throw new ConfigError(`unknown job "${jobName}"; known jobs: ${Object.keys(config.jobs).join(", ") || "(none)"}`);
  const remoteConfig = config.remotes[job.remote];
  const logger = opts.logger.child({ job: job.name });
  const server = opts.remote ?? opts.openRemote?.(remoteConfig, logger);
  if (!server) throw new Error("runJob needs a remote folder: pass remote or openRemote");
  const started = Date.now();
  const counts = emptyCounts();
  const errors: string[] = [];
  const warnings: string[] = [];
  let deferred = 0;
  let skippedDeletes = 0;
  let plan: Action[] = [];
  const runId = state.runs.start(job.name, opts.trigger ?? "manual", !!opts.dryRun);
  const progress = (p: Omit<Progress, "bytes">) => opts.onProgress?.({ ...p, bytes: counts.bytes });

  let recorded = false;
  const finish = (status: RunStatusResult, error?: string): RunSummary => {
    if (!recorded) state.runs.finish(runId, status, counts, error);
    recorded = true;
    return { job: job.name, status, durationMs: Date.now() - started, dryRun: !!opts.dryRun, plan, deferred, skippedDeletes, errors, warnings, ...counts };
  };

  const onHardStop = () => server.destroy();
  if (opts.hardStop?.aborted) onHardStop();
  opts.hardStop?.addEventListener("abort", onHardStop, { once: true });
  try {
    // The first connection fails fast (exit 4) and records the server's capabilities. It is
    // opened before the remote listing, or, in a trustRemote run (no listing), only once the
    // plan has something to do on the server: an unchanged trusted tree never connects.
    let connected = false;
    const connect = async () => {
      if (connected) return;
      connected = true;
      const first = await server.open(job.retries, opts.signal);
      state.capabilities.save({
        remote: remoteConfig.name, host: remoteConfig.host, port: remoteConfig.port, features: first.capabilities.features,
        tlsVersion: first.tls?.protocol, cipher: first.tls?.cipher, fingerprint: first.tls?.fingerprint, probedAt: Date.now(),
      });
    };

    const transfers = new Transfers({
      job, state, remote: server, logger, signal: opts.signal,
      bandwidth: job.bandwidthLimit ? new Bandwidth(job.bandwidthLimit) : undefined,
      onBytes: (n) => (counts.bytes += n),
    });

    // --- list both sides -------------------------------------------------------------------
    progress({ phase: "listing", done: 0, total: 0 });
    // The agent's own files (state, config, job and password files, logs) are never part of a
    // job, even one whose folder holds them. A missing folder stops the run here, before it connects.
    const own = ownFilesIn(config, realLocalFolder(job.local));
    const filter = { include: job.include, exclude: job.exclude, skip: job.doneMarker !== undefined ? [job.doneMarker] : [], own };
    const acceptJob = makeJobPathFilter(filter);
    let mark = performance.now();
    // Phase timings at debug level: where a slow run spends its time.
    const lap = (what: string) => {
      const now = performance.now();
      logger.debug(`${what} in ${Math.round(now - mark)} ms`);
      mark = now;
    };
    let ownNoted = false;
    const noteOwnFiles = (found: string[] | undefined) => {
      if (!found?.length || ownNoted) return;
      ownNoted = true;
      const names = [...new Set(found)].sort();
      const w = `the local folder ${job.local} holds the agent's own files, which are never synced: ${names.slice(0, 8).join(", ")}${names.length > 8 ? ` and ${names.length - 8} more` : ""}`;
      warnings.push(w);
      logger.warn(w);
    };
    const scan = (parallel = false) =>
      scanLocal(job.local, { filter, followSymlinks: job.followSymlinks, followRootSymlink: job.followRootSymlink, logger, parallel }).then((s) => {
        noteOwnFiles(s.ownFound);
        return s;
      });
    // A trusted run (no listing) whose tree is exactly what an earlier run found matching the
    // state, with the state unwritten since, has nothing to do and need not read the state.
    const trustedJob = job.trustRemote && job.direction === "upload";
    const generation = state.unchangedScans.generation(job.name);
    const memo = state.unchangedScans.current(job.name);
    const noPartials = state.partials.list(job.name).length === 0;
    let earlyScan: LocalScan | undefined;
    if (trustedJob && memo !== undefined && noPartials) {
      // Two threads walk a big tree (the memo counts its entries; below PARALLEL_SCAN_FROM starting a
      // worker costs more than it saves). Only here: beside a listing the split saved nothing, and
      // the worker's heap took a 100 000-file run's peak memory over 200 MB.
      earlyScan = await scan(Number.parseInt(memo.fingerprint, 10) >= PARALLEL_SCAN_FROM);
      if (earlyScan.failedDirs.length === 0 && scanFingerprint(earlyScan.entries) === memo.fingerprint) {
        lap(`scanned ${earlyScan.entries.size} local entries${byWorker(earlyScan)}: as at the last run, state unchanged since`);
        warnings.push(...nameProblems(earlyScan, undefined));
        progress({ phase: "done", done: 0, total: 0 });
        return finish("ok");
      }
    }
    // A job that lists opens its first connection while the state loads (a login takes the server
    // a while: vsftpd hashes the password), and on an MLSD server the rest too: each folder's
    // listing is a data connection, and the listing uses them all. Without MLSD the listing
    // decides how many (listTree).
    const opening = trustedJob ? undefined : connect().then(() => server.capabilities?.mlsd && server.warm());
    opening?.catch(() => undefined); // awaited below; until then a failure must not go unhandled
    // The local scan starts at once too: until the first login is through (vsftpd spends ~40 ms
    // hashing the password) the thread would only wait. It yields between folders, so the state
    // load and the listing interleave with it.
    const scanning = earlyScan ? Promise.resolve(earlyScan) : opening ? scan() : undefined;
    scanning?.catch(() => undefined);

    let loadedState: Map<string, StateEntry> | undefined;
    const stateRows = () => (loadedState ??= state.entries.load(job.name));
    const trackedFiles = () => countTrackedFiles(stateRows());
    /** The remote folder does not exist and this run creates it (a dry run only says so). */
    let remoteRootToCreate = false;
    const listRemote = (hints: Map<string, number> | undefined) =>
      server.listTree(job.remotePath, { accept: acceptJob, retry: job.retries, logger, signal: opts.signal, hints }).catch(async (err) => {
        if (!(err instanceof RemoteRootMissing)) throw err;
        // An upload job, or a two-way job at its first run (no record in the state), starts
        // with a remote folder that does not exist yet: it is created.
        if (job.direction === "upload" || (job.direction === "two-way" && stateRows().size === 0)) {
          remoteRootToCreate = true;
          if (!opts.dryRun) {
            await transfers.ensureRemoteRoot();
            logger.info(`created the remote folder ${job.remotePath}`);
          }
          return { entries: new Map(), complete: true, failedDirs: [] } as RemoteListing;
        }
        if (opts.force && trackedFiles() > 0) {
          return { entries: new Map(), complete: true, failedDirs: [] } as RemoteListing;
        }
        if (trackedFiles() > 0) {
          throw new SafetyGuardError(
            `${job.name}: the remote folder ${job.remotePath} is gone, but ${trackedFiles()} files were synced from it. ` +
              `Check whether it was renamed or the server's folder is not mounted. Nothing was deleted; --force treats it as empty.`,
          );
        }
        throw new AgentError(
          `the remote folder ${job.remotePath} does not exist on the server: check the job's remotePath (a ${job.direction} job does not create it). Nothing was changed`,
          1,
        );
      });
    // Both sides settled at the last run (see settled-run.ts): scan and list before reading the
    // state, which a run that finds both sides as they were does not need. The STAT reply
    // estimates come from the memo (the last run's listing), so the listing starts at the login
    // and interleaves with the scan; failing those, from the scan. When the scan already differs,
    // the state loads while the listing is under way.
    const settled = trustedJob || memo === undefined ? undefined : parseSettledMemo(memo.fingerprint);
    let listingUnderWay: Promise<RemoteListing> | undefined;
    if (settled && noPartials && opening && scanning) {
      await opening;
      const withoutMlsd = server.capabilities?.mlsd === false;
      const estimates = withoutMlsd ? memo!.statEstimates : undefined;
      if (estimates || !withoutMlsd) listingUnderWay = listRemote(estimates);
      const localScan = await scanning;
      listingUnderWay ??= listRemote(server.listingHints(localScan.entries));
      listingUnderWay.catch(() => undefined); // awaited below
      if (localScan.failedDirs.length === 0 && scanFingerprint(localScan.entries) === settled.local) {
        const remote = await listingUnderWay;
        if (settledListing(localScan, remote) && remoteSideDigest(localScan.entries, remote.entries, job) === settled.remote) {
          lap(`scanned ${localScan.entries.size} local entries and listed ${remote.entries.size} remote ones: both as at the last run, state unchanged since`);
          warnings.push(...nameProblems(localScan, remote));
          // A memo from before estimates were kept (migration 005) gets them, for the next run.
          if (withoutMlsd && !estimates && !opts.dryRun) state.unchangedScans.remember(job.name, generation, memo!.fingerprint, server.listingHints(remote.entries));
          progress({ phase: "done", done: 0, total: 0 });
          return finish("ok");
        }
      }
    }

    const stateEntries = loadedState ?? (opening ? await state.entries.loadInTurns(job.name) : state.entries.load(job.name));
    lap(`loaded ${stateEntries.size} state rows`);
    const trusted = trustedJob && stateEntries.size > 0;
    if (!trusted) await (opening ?? connect());

    const [localScan, listed] = await Promise.all([
      scanning ?? scan(),
      trusted
        ? Promise.resolve(undefined) // built below, and only when the local tree differs from the state
        : (listingUnderWay ?? listRemote(stateEntries.size > 0 ? server.listingHints(stateEntries) : undefined)),
    ]);
    lap(`scanned ${localScan.entries.size} local entries${byWorker(localScan)}${listed ? ` and listed ${listed.entries.size} remote ones` : ""}`);
    if (localScan.failedDirs.includes("")) throw new AgentError(`cannot read the local folder ${job.local}`, 1);
    if (listed && !opts.dryRun) {
      await recordLandedUploads({ job, state, server, local: localScan.entries, remote: listed, stateEntries, logger });
      recordLandedDownloads({ job, state, local: localScan.entries, remote: listed, stateEntries, logger });
    }
    // Files the listing dates by day only get their exact time (MDTM) before the diff compares them.
    const refinedDayTimes = listed ? await refineDayTimes(server, job.remotePath, listed, stateEntries, { logger, signal: opts.signal }) : 0;

    // --- plan and guard -----------------------------------------------------------------------
    progress({ phase: "planning", done: 0, total: 0 });
    const local = localScan.entries;
    // A trusted run over a local tree that matches the state has an empty plan: no diff needed.
    const unchanged = trusted && localScan.failedDirs.length === 0 && localMatchesState(local, stateEntries);
    if (unchanged && !opts.dryRun) state.unchangedScans.remember(job.name, generation, scanFingerprint(local));
    const remote: RemoteListing = listed ?? (unchanged ? { entries: new Map(), complete: true, failedDirs: [] } : remoteFromState(stateEntries));
    // Folders are named as the user knows them: the job's root by its remotePath, not as "/".
    const remoteDirs = remote.failedDirs.map((d) => remoteJoin(job.remotePath, d));
    const localDirs = localScan.failedDirs.map((d) => join(job.local, d));
    for (const dir of [...remoteDirs.map((d) => `list remote folder ${d}`), ...localDirs.map((d) => `read local folder ${d}`)]) {
      counts.failed++;
      errors.push(`cannot ${dir}: nothing below it was synced or deleted`);
    }
    const listing: RemoteListing = { ...remote, failedDirs: remoteDirs };
    // Names skipped or held back on either side are the run's warnings (logged as found), and
    // paths with two spellings (normalisation twins) are left out of the diff on every side.
    // The guards still see both sides whole: a folder holding only twins is not an empty folder.
    warnings.push(...nameProblems(localScan, listed));
    const held = withoutTwins([...(localScan.twins ?? []), ...(listed?.twins ?? [])], local, remote, stateEntries);
    let raw = unchanged ? [] : diff({ local: held.local, remote: held.remote, state: held.state, policy: job, now: opts.now ?? new Date() });
    // A local folder that could not be read looks like deleted files: no deletion this run.
    const unreadDeletes = localDirs.length > 0 ? raw.filter(isDelete).length : 0;
    if (unreadDeletes > 0) {
      raw = withoutDeletes(raw);
      skippedDeletes += unreadDeletes;
      const w = `${localDirs.length === 1 ? "local folder" : "local folders"} ${localDirs.join(", ")} could not be read: ${unreadDeletes} deletion(s) skipped this run`;
      warnings.push(w);
      logger.warn(w);
    }
    const guarded = unchanged
      ? { plan: raw, skippedDeletes: 0, warnings: [] }
      : checkGuards({ plan: raw, state: stateEntries, local, remote: listing, policy: job, force: !!opts.force });
    plan = guarded.plan;
    lap(`planned ${plan.length} actions`);
    if (!trustedJob && listed && raw.length === 0 && noPartials && !opts.dryRun && settledListing(localScan, listed) && refinedDayTimes === 0) {
      const settledMemo = formatSettledMemo({ local: scanFingerprint(local), remote: remoteSideDigest(local, listed.entries, job) });
      state.unchangedScans.remember(job.name, generation, settledMemo, server.listingHints(listed.entries));
    }
    skippedDeletes += guarded.skippedDeletes;
    for (const w of guarded.warnings) {
      warnings.push(w);
      logger.warn(w);
    }
    // Paths the plan leaves alone on purpose are reported at every run, dry or not.
    const heldDeletes = plan.filter((a) => a.kind === "held-delete");
    if (heldDeletes.length > 0) {
      skippedDeletes += heldDeletes.length;
      const w = `${heldDeletes.length} deletion(s) held back by delete=tracked (this job did not put those files there): ${heldDeletes.slice(0, 5).map((a) => a.path).join(", ")}${heldDeletes.length > 5 ? ", ..." : ""}`;
      warnings.push(w);
      logger.warn(w);
    }
    for (const a of plan) {
      if (a.kind !== "needs-user") continue;
      const w = `${a.path}: ${a.reason}`;
      warnings.push(w);
      logger.warn(w);
    }
    if (remoteRootToCreate && opts.dryRun) {
      plan = [{ kind: "mkdir-remote", path: "", reason: `the remote folder ${job.remotePath} does not exist yet: created first` }, ...plan];
    }
    if (opts.dryRun) return finish("ok");
    // adopt and forget only write the state, reported paths not even that; leftover partial
    // transfers need the server.
    const reportOnly = (a: Action) => a.kind === "held-delete" || a.kind === "needs-user";
    if (plan.some((a) => a.kind !== "adopt" && a.kind !== "forget" && !reportOnly(a)) || state.partials.list(job.name).length > 0) await connect();

    // --- carry out -------------------------------------------------------------------------
    const transferring = plan.filter((a) => !isDelete(a) && a.kind !== "forget" && !reportOnly(a) && !a.kind.startsWith("mkdir"));
    const total = plan.filter((a) => !reportOnly(a)).length;
    let done = 0;
    const stop = new AbortController();
    const compare = (a: Extract<Action, { kind: "compare" }>) => compareContents({ job, server, path: a.path, local: a.local, remote: a.remote, signal: stop.signal });
    // Which deletions the run's failures leave allowed (deletion-gate.ts).
    const gate = new DeletionGate();
    if (remote.failedDirs.length > 0 || localScan.failedDirs.length > 0) gate.blockAll();
    const onAbort = () => stop.abort(opts.signal?.reason);
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    const fail = (a: Action, err: unknown) => {
      if (err instanceof SourceChanged) {
        if (!(err instanceof SourceVanished)) deferred++;
        warnings.push(err.message);
        logger.warn(err.message);
        return;
      }
      counts.failed++;
      gate.failed(a.path, err);
      const message = `${a.kind} ${a.path}: ${(err as Error).message}`;
      errors.push(message);
      logger.error(message);
      // Out of space, quota, login or certificate: nothing else can succeed, stop the job.
      if (err instanceof RemoteError && err.stopsJob) stop.abort(err);
    };
    const step = async (a: Action, fn: () => Promise<void>) => {
      if (stop.signal.aborted) return;
      progress({ phase: a.kind.startsWith("delete") ? "deleting" : "transferring", done, total, current: a.path });
      try {
        await fn();
      } catch (err) {
        fail(a, err);
      }
      done++;
    };

    // Folders first, parents before children (the plan is ordered).
    for (const a of plan) {
      if (a.kind === "mkdir-remote") await step(a, () => transfers.mkdirRemote(a.path, local.get(a.path)?.diskPath));
      else if (a.kind === "mkdir-local") await step(a, () => transfers.mkdirLocal(a.path, remote.entries.get(a.path)?.serverPath));
    }

    const adopts = transferring.filter((a) => a.kind === "adopt") as Extract<Action, { kind: "adopt" }>[];
    /** Both sides hold the same file: record their signatures. */
    const recordAdopt = (a: { path: string; local: LocalEntry; remote: RemoteEntry }) => {
      const prev = stateEntries.get(a.path);
      state.entries.put(job.name, {
        path: a.path, type: a.local.type, localSize: a.local.size, localMtimeMs: a.local.mtimeMs,
        remoteSize: a.remote.size, remoteModifyMs: a.remote.modifyMs, remotePrecision: a.remote.precision,
        placedRemote: prev?.placedRemote ?? false, placedLocal: prev?.placedLocal ?? false,
      });
    };
    state.entries.batch(() => {
      for (const a of adopts) {
        recordAdopt(a);
        done++;
      }
    });

    const work = transferring.filter((a) => a.kind !== "adopt");
    await forEachLimit(work, server.width, (a) => step(a, () => execute(a)), stop.signal);

    async function execute(a: Action): Promise<void> {
      switch (a.kind) {
        case "upload":
          await transfers.upload(a.path, a.local, a.remote, a.placedRemote);
          counts.uploaded++;
          return;
        case "download":
          await transfers.download(a.path, a.remote, a.local, a.placedLocal);
          counts.downloaded++;
          return;
        case "conflict":
          return resolveConflict(a);
        case "compare": {
          // Equal only on evidence (evidence.ts): the same bytes are adopted, others are a conflict.
          const verdict = await compare(a);
          if (verdict.same) {
            logger.info(`${a.path}: ${a.reason}: ${verdict.how}, recorded as in sync`);
            recordAdopt(a);
            return;
          }
          return resolveConflict({ ...a.ifDifferent, reason: `${a.ifDifferent.reason} (${verdict.how})` });
        }
        default:
          throw new Error(`unexpected action ${a.kind}`);
      }
    }

    async function resolveConflict(a: ConflictAction): Promise<void> {
      logger.info(`conflict ${a.path}: ${a.reason} -> ${a.resolution}${a.conflictName ? ` (remote copy kept as ${a.conflictName})` : ""}`);
      counts.conflicts++;
      if (a.resolution === "keep-both") {
        await transfers.keepBoth(a.path, a.conflictName!, a.local, a.remote);
      } else if (a.resolution === "upload") {
        await transfers.upload(a.path, a.local, a.remote, true);
      } else {
        await transfers.download(a.path, a.remote, a.local, true);
      }
    }

    // --- deletions: none after a listing, connection or unknown failure, or in a stopped run;
    // none near a path that failed on its own (a refused name, a permission): see deletion-gate.ts
    if (stop.signal.aborted) gate.blockAll();
    let deletes = plan.filter(isDelete);
    const heldBack = deletes.filter((a) => !gate.allows(a.path));
    if (heldBack.length > 0) {
      skippedDeletes += heldBack.length;
      const w = gate.blocksAll
        ? `${heldBack.length} deletion(s) skipped because this run had errors; they will be reconsidered next run`
        : `${heldBack.length} deletion(s) at or around paths that failed (${gate.paths.join(", ")}) skipped; they will be reconsidered next run`;
      warnings.push(w);
      logger.warn(w);
      const heldSet = new Set<Action>(heldBack);
      plan = plan.filter((a) => !heldSet.has(a));
      deletes = deletes.filter((a) => !heldSet.has(a));
    }
    const fileDeletes = deletes.filter((a) => a.type === "file");
    await forEachLimit(fileDeletes, server.width, (a) => step(a, () => deleteOne(a)), stop.signal);
    for (const a of deletes.filter((d) => d.type === "dir")) await step(a, () => deleteOne(a));

    async function deleteOne(a: Extract<Action, { kind: "delete-local" | "delete-remote" }>): Promise<void> {
      if (a.kind === "delete-remote") {
        await transfers.deleteRemote(a.path, a.type, remote.entries.get(a.path));
        counts.deletedRemote++;
      } else {
        await transfers.deleteLocal(a.path, a.type, stateEntries.get(a.path), (local.get(a.path) as LocalEntry | undefined)?.diskPath);
        counts.deletedLocal++;
      }
    }

    const forgets = plan.filter((a) => a.kind === "forget");
    state.entries.batch(() => {
      for (const a of forgets) state.entries.delete(job.name, a.path);
    });

    // A stopped run keeps its partial transfers for the next run to resume (and a destroyed
    // connection could not remove them anyway: their rows must not be dropped).
    if (!stop.signal.aborted && !opts.hardStop?.aborted) {
      await transfers.cleanupPartials().catch((err) => logger.warn(`cleaning temporary files: ${(err as Error).message}`));
    }

    const changed = counts.uploaded + counts.downloaded + counts.deletedLocal + counts.deletedRemote + counts.conflicts > 0;
    if (job.doneMarker && changed && counts.failed === 0 && job.direction !== "download" && !stop.signal.aborted) {
      try {
        await transfers.uploadDoneMarker(job.doneMarker, JSON.stringify({ job: job.name, finishedAt: new Date().toISOString(), uploaded: counts.uploaded }) + "\n");
      } catch (err) {
        fail({ kind: "upload", path: job.doneMarker } as Action, err);
      }
    }
    opts.signal?.removeEventListener("abort", onAbort);
    progress({ phase: "done", done: total, total });
    if (opts.signal?.aborted || opts.hardStop?.aborted) return finish("failed", "stopped before the run finished");
    return finish(counts.failed > 0 ? "failed" : "ok", errors[0]);
  } catch (err) {
    if (err instanceof SafetyGuardError) {
      logger.error(err.message);
      finish("aborted", err.message);
      throw err;
    }
    if (err instanceof RemoteError && err.phase === "connect") {
      finish("failed", err.message);
      throw err;
    }
    errors.push((err as Error).message);
    logger.error(`run failed: ${(err as Error).message}`);
    return finish("failed", (err as Error).message);
  } finally {
    opts.hardStop?.removeEventListener("abort", onHardStop);
    if (!opts.remote) await server.close();
  }
}
