/**
 * Gathering: what a run knows before it plans. The local scan, the remote listing and the state,
 * started so that they overlap (the choreography below was measured: see the comments), then the
 * evidence taken between the listing and the diff: uploads and downloads that landed before a
 * run stopped, and the exact times of files the listing dates by day only. Gathering reads; the
 * facts it returns are written to the state by record.ts, and only by a run that carries out its plan.
 */
import { AgentError, SafetyGuardError } from "../errors.js";
import { ownFilesIn, realLocalFolder } from "../local/own-files.js";
import { scanLocal, type LocalScan } from "../local/scan.js";
import { makeJobPathFilter, makeScopeTest, type JobPathFilterSpec, type RunScope } from "../plan/filter.js";
import type { RemoteListing, StateEntry } from "../plan/types.js";
import { refineDayTimes } from "./day-times.js";
import { RemoteRootMissing } from "../remote/remote-folder.js";
import { takesSource } from "./after-transfer.js";
import { findLandedDownloads, findLandedUploads, type Landed } from "./landed-uploads.js";
import type { RunContext } from "./run-context.js";

const byWorker = (s: LocalScan) => (s.walkedByWorker ? ` (${s.walkedByWorker} folders by a second thread)` : "");

const emptyListing = (): RemoteListing => ({ entries: new Map(), complete: true, failedDirs: [] });

/** What the run found, on both sides and in the state: the input of the plan. */
export interface Gathered {
  localScan: LocalScan;
  /** The remote listing; undefined in a trusted run (the state stands for the server). */
  listed: RemoteListing | undefined;
  /** The state's rows, with the landed transfers' records in place. */
  stateEntries: Map<string, StateEntry>;
  /** A trustRemote upload job with a state: it does not list the server. */
  trusted: boolean;
  /** The remote folder does not exist and this run creates it first. */
  remoteRootMissing: boolean;
  /** Transfers that landed before an earlier run stopped, to be recorded (record.ts). */
  landed: Landed[];
  /** How many files the listing dated by day only got their exact time. */
  refinedDayTimes: number;
}

/**
 * The sources of a run, each read at most once: the local scan (a function: the trusted shortcut
 * may scan on its own first), the remote listing, and the state's rows.
 */
export class Sources {
  readonly filter: JobPathFilterSpec;
  private loadedState?: Map<string, StateEntry>;
  private ownNoted = false;
  /** Set by a listing that found no remote folder where this run may create it. */
  remoteRootMissing = false;
  /** The local scan, once it is done. */
  private scanned?: LocalScan;

  constructor(
    private readonly ctx: RunContext,
    /** A run scoped to the folders watch events named (run-job's `scope`). */
    private readonly scope?: RunScope,
  ) {
    const { job, config } = ctx;
    // The agent's own files (state, config, job and password files, logs) are never part of a
    // job, even one whose folder holds them. A missing folder stops the run here, before it connects.
    const own = ownFilesIn(config, realLocalFolder(job.local));
    // The versions folder (backup.dir) and afterTransfer's archive folder are never part of the
    // job's tree either, on either side.
    const skipDirs = [job.backup?.dir, typeof job.afterTransfer === "object" ? job.afterTransfer.archive : undefined].filter((d) => d !== undefined);
    this.filter = { include: job.include, exclude: job.exclude, skip: job.doneMarker !== undefined ? [job.doneMarker] : [], skipDirs, own };
    if (scope) this.filter.scope = scope;
  }

  /** A scoped run reads the state's rows in its scope only, as it sees the scan and the listing. */
  private scopedRows(scope: RunScope): Map<string, StateEntry> {
    const named = [...scope.folders, ...scope.deep];
    const onTheWay = named.flatMap((f) => f.split("/").map((_, i, parts) => parts.slice(0, i + 1).join("/"))).filter((p) => p !== "");
    return this.ctx.state.entries.loadUnder(this.ctx.job.name, named, onTheWay, makeScopeTest(scope));
  }

  scan(parallel = false): Promise<LocalScan> {
    const { job, logger } = this.ctx;
    return scanLocal(job.local, { filter: this.filter, followSymlinks: job.followSymlinks, followRootSymlink: job.followRootSymlink, logger, parallel }).then((s) => {
      this.noteOwnFiles(s.ownFound);
      this.scanned = s;
      return s;
    });
  }

  /**
   * How many connections the run can use, when the local scan already tells (undefined: as many
   * as the pool allows): an upload job sends at most its local files and lists at most its local
   * folders. Connections are opened ahead of need only up to this: each login costs the server a
   * password hash (vsftpd with Debian's yescrypt: about 0.2 s of CPU), which one big file's
   * upload would only share the cores with. More are still opened when work waits for one.
   */
  connectionsWanted(): number | undefined {
    if (this.ctx.job.direction !== "upload" || !this.scanned) return undefined;
    return Math.max(1, this.scanned.entries.size);
  }

  private noteOwnFiles(found: string[] | undefined): void {
    if (!found?.length || this.ownNoted) return;
    this.ownNoted = true;
    const names = [...new Set(found)].sort();
    this.ctx.warn(`the local folder ${this.ctx.job.local} holds the agent's own files, which are never synced: ${names.slice(0, 8).join(", ")}${names.length > 8 ? ` and ${names.length - 8} more` : ""}`);
  }

  /** The state's rows, loaded at once (when a listing needs them before the turn-by-turn load). */
  stateRows(): Map<string, StateEntry> {
    return (this.loadedState ??= this.scope ? this.scopedRows(this.scope) : this.ctx.state.entries.load(this.ctx.job.name));
  }

  /** The state's rows: already loaded, or in turns while connections open and the listing runs. */
  async loadState(inTurns: boolean): Promise<Map<string, StateEntry>> {
    const { state, job } = this.ctx;
    if (this.scope) return (this.loadedState ??= this.scopedRows(this.scope));
    return this.loadedState ?? (inTurns ? await state.entries.loadInTurns(job.name) : state.entries.load(job.name));
  }

  listRemote(hints: Map<string, number> | undefined): Promise<RemoteListing> {
    const { job, server, logger, opts } = this.ctx;
    const accept = makeJobPathFilter(this.filter);
    // A dry run writes nothing, not even a probe file.
    const measureClock = job.direction === "two-way" && !opts.dryRun;
    const connectionsWanted = this.connectionsWanted();
    return server.listTree(job.remotePath, { accept, retry: job.retries, logger, signal: opts.signal, hints, measureClock, connectionsWanted }).catch((err) => {
      if (!(err instanceof RemoteRootMissing)) throw err;
      return this.missingRoot();
    });
  }

  /** No remote folder: created first (a plan's leading mkdir-remote ""), treated as empty, or the run stops. */
  private missingRoot(): RemoteListing {
    const { job, opts } = this.ctx;
    const tracked = () => [...this.stateRows().values()].filter((s) => s.type === "file").length;
    // An upload job, or a two-way job at its first run (no record in the state), starts
    // with a remote folder that does not exist yet: it is created.
    if (job.direction === "upload" || (job.direction === "two-way" && this.stateRows().size === 0)) {
      // Not a first run: the folder was there and went (renamed, or a mount missing). Nothing is
      // lost by sending the files again, but the user should hear of it.
      if (tracked() > 0) this.ctx.warn(`the remote folder ${job.remotePath} was gone, though ${tracked()} files had been uploaded to it: created again, and the files are sent again`);
      this.remoteRootMissing = true;
      return emptyListing();
    }
    if (opts.force && tracked() > 0) return emptyListing();
    if (tracked() > 0) {
      throw new SafetyGuardError(
        `${job.name}: the remote folder ${job.remotePath} is gone, but ${tracked()} files were synced from it. ` +
          `Check whether it was renamed or the server's folder is not mounted. Nothing was deleted; --force treats it as empty.`,
      );
    }
    throw new AgentError(
      `the remote folder ${job.remotePath} does not exist on the server: check the job's remotePath (a ${job.direction} job does not create it). Nothing was changed`,
      1,
    );
  }
}

/** The connection, the scan and (for the settled shortcut) the listing, started before the state is read. */
export interface UnderWay {
  /** The first connection (and, on an MLSD server, the rest); undefined in a trusted job, which connects only when it must. */
  opening?: Promise<unknown>;
  scanning?: Promise<LocalScan>;
  listing?: Promise<RemoteListing>;
}

/**
 * Starts what does not need the state. A job that lists opens its first connection while the
 * state loads (a login takes the server a while: vsftpd hashes the password), and on an MLSD
 * server the rest too: each folder's listing is a data connection, and the listing uses them all.
 * Without MLSD the listing decides how many (listTree).
 */
export function startGathering(ctx: RunContext, sources: Sources, trustedJob: boolean, earlyScan: LocalScan | undefined): UnderWay {
  const { server } = ctx;
  // The root's listing goes out with the first login.
  if (!trustedJob) server.listSoon?.(ctx.job.remotePath);
  const opening = trustedJob ? undefined : ctx.connect().then(() => server.capabilities?.mlsd && server.warm(sources.connectionsWanted()));
  opening?.catch(() => undefined); // awaited below; until then a failure must not go unhandled
  // The local scan starts at once too: until the first login is through (vsftpd spends ~40 ms
  // hashing the password) the thread would only wait. It yields between folders, so the state
  // load and the listing interleave with it.
  const scanning = earlyScan ? Promise.resolve(earlyScan) : opening ? sources.scan() : undefined;
  scanning?.catch(() => undefined);
  return { opening, scanning };
}

/** Loads the state (in turns, beside the listing), finishes the scan and the listing, and gathers the evidence the diff needs. */
export async function finishGathering(ctx: RunContext, sources: Sources, trustedJob: boolean, underWay: UnderWay): Promise<Gathered> {
  const { job, server, logger, opts } = ctx;
  const stateEntries = await sources.loadState(underWay.opening !== undefined);
  ctx.lap(`loaded ${stateEntries.size} state rows`);
  const trusted = trustedJob && stateEntries.size > 0;
  if (!trusted) await (underWay.opening ?? ctx.connect());

  const [localScan, listed] = await Promise.all([
    underWay.scanning ?? sources.scan(),
    trusted
      ? Promise.resolve(undefined) // built by the plan, and only when the local tree differs from the state
      : (underWay.listing ?? sources.listRemote(stateEntries.size > 0 ? server.listingHints(stateEntries) : undefined)),
  ]);
  ctx.lap(`scanned ${localScan.entries.size} local entries${byWorker(localScan)}${listed ? ` and listed ${listed.entries.size} remote ones` : ""}`);
  if (localScan.failedDirs.includes("")) throw new AgentError(`cannot read the local folder ${job.local}`, 1);
  const landed: Landed[] = [];
  if (listed) {
    const input = { partials: ctx.state.partials.list(job.name), local: localScan.entries, remote: listed, stateEntries };
    // In the plan's view of the state the landed transfers are recorded already: the downloads' check reads the uploads'.
    for (const find of [() => findLandedUploads({ ...input, server }), async () => findLandedDownloads(input)]) {
      for (const l of await find()) {
        // afterTransfer: the stopped run never took its source; recorded as taken, the plan sends it
        // again and takes it (rather than leaving it on the source for good).
        if (takesSource(job)) l.entry = { ...l.entry, sourceTaken: true };
        stateEntries.set(l.entry.path, l.entry);
        landed.push(l);
      }
    }
  }
  // Files the listing dates by day only get their exact time (MDTM) before the diff compares them.
  const refinedDayTimes = listed ? await refineDayTimes(server, job.remotePath, listed, stateEntries, { logger, signal: opts.signal }) : 0;
  return { localScan, listed, stateEntries, trusted, remoteRootMissing: sources.remoteRootMissing, landed, refinedDayTimes };
}

export { byWorker };
