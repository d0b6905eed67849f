/**
 * Shortcuts: a run that finds both sides as an earlier run left them, with the state unwritten
 * since, has nothing to do, and decides so from a memo (UnchangedScanStore) without reading the
 * state or planning. Two memos: a trusted run's (its local scan alone: trusted-remote.ts) and a
 * listing run's (the scan and the listing: settled-run.ts).
 */
import type { LocalScan } from "../local/scan.js";
import { parseSettledMemo, remoteSideDigest } from "../plan/settled-run.js";
import { localMatchesState, scanFingerprint } from "../plan/trusted-remote.js";
import type { RemoteListing } from "../plan/types.js";
import { byWorker, type Gathered, type Sources, type UnderWay } from "./gather.js";
import type { RunContext } from "./run-context.js";

/** Entries from which a local scan is split over two threads: below that, this thread has walked
 * the tree before the worker (some 50 ms to start) claims a folder. */
const PARALLEL_SCAN_FROM = 20_000;

/** The memo of the job's last run, read before anything else. */
export interface Memo {
  generation: number;
  fingerprint?: string;
  statEstimates?: Map<string, number>;
  /** No partial transfer waits: a memo alone may decide. */
  noPartials: boolean;
}

/** Nothing to do: what the run saw, for its summary, and a memo to keep for the next run, if any. */
export interface NothingToDo {
  localScan: LocalScan;
  remote?: RemoteListing;
  /** A settled memo from before STAT estimates were kept gets them (migration 005). */
  refreshMemo?: { fingerprint: string; statEstimates: Map<string, number> | undefined };
}

export function readMemo(ctx: RunContext): Memo {
  const { state, job } = ctx;
  const generation = state.unchangedScans.generation(job.name);
  const memo = state.unchangedScans.current(job.name);
  return { generation, fingerprint: memo?.fingerprint, statEstimates: memo?.statEstimates, noPartials: state.partials.list(job.name).length === 0 };
}

/** Both sides seen whole: a run may remember them as settled, or match them against a memo. */
export function settledListing(localScan: LocalScan, remote: RemoteListing): boolean {
  return localScan.failedDirs.length === 0 && remote.complete && remote.failedDirs.length === 0;
}

/**
 * A trusted run (no listing) whose tree is exactly what an earlier run found matching the state,
 * with the state unwritten since, has nothing to do and need not read the state. It scans before
 * anything else (no connection is opened); the scan, if it differs, serves the rest of the run.
 */
export async function trustedShortcut(ctx: RunContext, sources: Sources, memo: Memo): Promise<{ done?: NothingToDo; earlyScan?: LocalScan }> {
  if (memo.fingerprint === undefined || !memo.noPartials) return {};
  // Two threads walk a big tree (the memo counts its entries; below PARALLEL_SCAN_FROM starting a
  // worker costs more than it saves). Only here: beside a listing the split saved nothing, and
  // the worker's heap took a 100 000-file run's peak memory over 200 MB.
  const earlyScan = await sources.scan(Number.parseInt(memo.fingerprint, 10) >= PARALLEL_SCAN_FROM);
  if (earlyScan.failedDirs.length === 0 && scanFingerprint(earlyScan.entries) === memo.fingerprint) {
    ctx.lap(`scanned ${earlyScan.entries.size} local entries${byWorker(earlyScan)}: as at the last run, state unchanged since`);
    return { done: { localScan: earlyScan } };
  }
  return { earlyScan };
}

/**
 * Both sides settled at the last run (see settled-run.ts): scan and list before reading the
 * state, which a run that finds both sides as they were does not need. The STAT reply
 * estimates come from the memo (the last run's listing), so the listing starts at the login
 * and interleaves with the scan; failing those, from the scan. When the scan already differs,
 * the state loads while the listing is under way (`underWay.listing` is left to the gathering).
 */
export async function settledShortcut(ctx: RunContext, sources: Sources, memo: Memo, underWay: UnderWay): Promise<NothingToDo | undefined> {
  const { server, job } = ctx;
  const settled = memo.fingerprint === undefined ? undefined : parseSettledMemo(memo.fingerprint);
  const { opening, scanning } = underWay;
  if (!settled || !memo.noPartials || !opening || !scanning) return undefined;
  await opening;
  const withoutMlsd = server.capabilities?.mlsd === false;
  const estimates = withoutMlsd ? memo.statEstimates : undefined;
  if (estimates || !withoutMlsd) underWay.listing = sources.listRemote(estimates);
  const localScan = await scanning;
  const listing = (underWay.listing ??= sources.listRemote(server.listingHints(localScan.entries)));
  listing.catch(() => undefined); // awaited below, or by the gathering
  if (localScan.failedDirs.length > 0 || scanFingerprint(localScan.entries) !== settled.local) return undefined;
  const remote = await listing;
  // A remote folder gone since is to be created again, however empty both sides look.
  if (sources.remoteRootMissing) return undefined;
  if (!settledListing(localScan, remote) || remoteSideDigest(localScan.entries, remote.entries, job) !== settled.remote) return undefined;
  ctx.lap(`scanned ${localScan.entries.size} local entries and listed ${remote.entries.size} remote ones: both as at the last run, state unchanged since`);
  const refreshMemo = withoutMlsd && !estimates ? { fingerprint: memo.fingerprint!, statEstimates: server.listingHints(remote.entries) } : undefined;
  return { localScan, remote, refreshMemo };
}

/**
 * A trusted run over a local tree that matches the state has an empty plan: no diff needed
 * (localMatchesState). Its scan is then remembered for the trusted shortcut of the next run.
 */
export function trustedTreeUnchanged(g: Gathered): boolean {
  return g.trusted && g.localScan.failedDirs.length === 0 && localMatchesState(g.localScan.entries, g.stateEntries);
}
