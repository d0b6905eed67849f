/**
 * The diff: from what each side holds now and what the state says they held at the last sync,
 * decide what to do with every path. Pure: no I/O, no clock of its own (`now` names conflicts
 * and tells newer-wins which times lie in the future).
 *
 * Inputs are already filtered and keyed by NFC path. Scanners may or may not list folders:
 * every folder a listed path lives in is taken to exist on that side.
 */
import type { JobConfig } from "../config/types.js";
import { localChanged, remoteChanged, sameAcrossSides, sameWithinPrecision } from "./signatures.js";
import type { Action, ConflictAction, LocalEntry, RemoteEntry, RemoteListing, StateEntry } from "./types.js";

export type DiffPolicy = Pick<JobConfig, "direction" | "delete" | "onConflict"> & Partial<Pick<JobConfig, "futureToleranceMs">>;

/** How far ahead of this machine's clock a file's time may be and still win newer-wins (the job's default). */
export const DEFAULT_FUTURE_TOLERANCE_MS = 5 * 60_000;

export interface DiffInput {
  local: Map<string, LocalEntry>;
  remote: RemoteListing;
  state: Map<string, StateEntry>;
  policy: DiffPolicy;
  now: Date;
  /**
   * How far ahead of UTC the server's listed times are (a server in local time, server-clock.ts);
   * taken off only where a remote time meets this machine's clock (newer-wins, the first sync's match).
   */
  remoteClockMs?: number;
  /** Files the job's filters hold back (file-filters.ts): no action at all, and their folders are not empty. */
  heldBack?: Set<string>;
}

type Side = "local" | "remote";

/** Everything the rules need to know about one path. */
interface PathCase {
  path: string;
  l?: LocalEntry;
  r?: RemoteEntry;
  s?: StateEntry;
}

/** Everything the rules need to know about the whole job. */
interface Ctx {
  policy: DiffPolicy;
  localView: SideView<LocalEntry>;
  remoteView: SideView<RemoteEntry>;
  failedDirs: string[];
  stamp: string;
  usedNames: Set<string>;
  nowMs: number;
  remoteClockMs: number;
}

export function diff(input: DiffInput): Action[] {
  const localView = new SideView<LocalEntry>(input.local, (path) => ({ path, type: "dir", size: 0, mtimeMs: 0 }));
  const remoteView = new SideView<RemoteEntry>(input.remote.entries, (path) => ({ path, type: "dir", size: 0, precision: "none" }));
  const ctx: Ctx = {
    policy: input.policy,
    localView,
    remoteView,
    failedDirs: input.remote.failedDirs,
    stamp: conflictStamp(input.now),
    usedNames: new Set(),
    nowMs: input.now.getTime(),
    remoteClockMs: input.remoteClockMs ?? 0,
  };

  // Sorted by UTF-16 code units (the default sort): a folder comes before everything below it.
  const all = new Set<string>(localView.keys());
  for (const path of remoteView.keys()) all.add(path);
  for (const path of input.state.keys()) all.add(path);
  const paths = Array.from(all).sort();

  const b: Buckets = { mkdirs: [], transfers: [], fileDeletes: [], dirDeletes: [], forgets: [], reports: [], deleted: { local: new Set(), remote: new Set() }, held: { local: new Set(), remote: new Set() } };
  /** Roots of type mismatches: nothing at or below them is touched. */
  const frozen: string[] = [];

  const dirCases: PathCase[] = [];
  for (const path of paths) {
    // Below a folder whose listing failed we do not know what the server holds: act on nothing.
    if (ctx.failedDirs.length > 0 && isBelowAny(path, ctx.failedDirs)) continue;
    const c: PathCase = { path, l: localView.get(path), r: remoteView.get(path), s: input.state.get(path) };
    if (!c.l && !c.r) {
      if (c.s) b.forgets.push({ kind: "forget", path, reason: "gone from both sides" });
      continue;
    }
    if (frozen.length > 0 && isBelowAny(path, frozen)) continue;
    // A file on one side, a folder on the other: left to the user, and the path is frozen (paths
    // are sorted, so everything below it comes later and is skipped above).
    if (isTypeMismatch(c)) {
      b.reports.push(typeMismatch(c));
      frozen.push(path);
      continue;
    }
    if (c.l?.type === "dir" || c.r?.type === "dir") {
      dirCases.push(c);
      continue;
    }
    if (input.heldBack?.has(path)) continue;
    const action = decideFile(c, ctx);
    if (!action) continue;
    if (action.kind === "delete-local" || action.kind === "delete-remote") {
      b.fileDeletes.push(action);
      b.deleted[action.kind === "delete-local" ? "local" : "remote"].add(path);
    } else if (action.kind === "held-delete") {
      b.reports.push(action);
      b.held[action.side].add(path);
    } else {
      b.transfers.push(action);
    }
  }
  decideFolders(dirCases, ctx, b);
  return [
    ...b.mkdirs.sort((x, y) => depth(x.path) - depth(y.path) || byPath(x.path, y.path)),
    ...b.transfers.sort((x, y) => byPath(x.path, y.path)),
    ...b.fileDeletes.sort((x, y) => byPath(x.path, y.path)),
    ...b.dirDeletes,
    ...b.reports.sort((x, y) => byPath(x.path, y.path)),
    ...b.forgets,
  ];
}

/** The diff's actions by kind, and the paths each side deletes or holds back (folders look at their children's). */
interface Buckets {
  mkdirs: Action[];
  transfers: Action[];
  fileDeletes: Action[];
  dirDeletes: Action[];
  forgets: Action[];
  /** Held-back deletions and paths for the user: nothing is done, the run reports them. */
  reports: Action[];
  deleted: Record<Side, Set<string>>;
  held: Record<Side, Set<string>>;
}

/** Folders after files, deepest first, so a folder knows whether all its subfolders go too. */
function decideFolders(dirCases: PathCase[], ctx: Ctx, b: Buckets): void {
  // Built only when a folder is on one side alone (an unchanged tree has none).
  let index: Record<Side, Map<string, string[]>> | undefined;
  const children = () => (index ??= { local: childIndex(ctx.localView.keys()), remote: childIndex(ctx.remoteView.keys()) });
  for (const c of dirCases.sort(deepestFirst)) {
    const action = decideDir(c, ctx, b.deleted, b.held, children);
    if (!action) continue;
    if (action.kind === "delete-local" || action.kind === "delete-remote") {
      b.dirDeletes.push(action);
      b.deleted[action.kind === "delete-local" ? "local" : "remote"].add(c.path);
    } else if (action.kind === "held-delete") {
      b.reports.push(action);
      b.held[action.side].add(c.path);
    } else {
      b.mkdirs.push(action);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Files

function decideFile(c: PathCase, ctx: Ctx): Action | undefined {
  switch (ctx.policy.direction) {
    case "upload":
      return oneWay(c, ctx, "local");
    case "download":
      return oneWay(c, ctx, "remote");
    case "two-way":
      return twoWay(c, ctx);
  }
}

function lChanged(c: PathCase): boolean {
  return c.l !== undefined && (c.s === undefined || localChanged(c.l, c.s));
}

function rChanged(c: PathCase): boolean {
  return c.r !== undefined && (c.s === undefined || remoteChanged(c.r, c.s));
}

/** We uploaded it last run and never learned the server's time: record it now. */
function isPendingAdopt(c: PathCase): boolean {
  return c.s?.remotePrecision === "pending" && c.l !== undefined && c.r !== undefined && c.l.size === c.r.size;
}

/**
 * upload / download. `source` is the side whose contents the job copies; the other is the target.
 * Someone else's change on the target is left alone unless delete=mirror.
 */
function oneWay(c: PathCase, ctx: Ctx, source: Side): Action | undefined {
  const target: Side = source === "local" ? "remote" : "local";
  const src = source === "local" ? c.l : c.r;
  const tgt = source === "local" ? c.r : c.l;
  const srcChanged = source === "local" ? lChanged(c) : rChanged(c);
  const tgtChanged = source === "local" ? rChanged(c) : lChanged(c);
  const mode = ctx.policy.delete;
  const transfer = (reason: string) => transferTo(target, c, reason);

  if (src && !tgt) return transfer(c.s ? `missing on ${target}` : `new on ${source}`);
  // afterTransfer took the source away once its copy was recorded: that is no deletion. A file
  // there again under the name is a new one, sent; the same one (its taking failed or was cut
  // short) is only taken, not sent again (execute.ts tells the two apart the same way).
  if (c.s?.sourceTaken) {
    if (!src) return undefined;
    return transfer(tgt && !srcChanged && !tgtChanged ? "afterTransfer did not take it after its transfer: taken now, not sent again" : `on ${source} again after afterTransfer took it`);
  }
  if (src && tgt) {
    if (!c.s) {
      return sameAcrossSides(c.l!, inUtc(c.r!, ctx))
        ? adopt(c, "same size and time on both sides (first sync)")
        : transfer(`differs on ${target} (first sync); ${source} is the source`);
    }
    if (srcChanged) return transfer(`changed on ${source} since last sync`);
    if (tgtChanged) {
      // The target changed under us: that is the partner's edit, unless we mirror.
      return mode === "mirror" ? transfer(`changed on ${target}; delete=mirror restores the ${source} version`) : undefined;
    }
    return isPendingAdopt(c) ? adopt(c, "uploaded last run; recording the server's time") : undefined;
  }
  // Only on the target.
  if (!c.s) return mode === "mirror" ? deleteOn(target, c, `not on ${source}; delete=mirror`) : undefined;
  if (mode === "mirror") return deleteOn(target, c, `deleted on ${source}; delete=mirror`);
  if (mode === "tracked") {
    const placed = target === "remote" ? c.s.placedRemote : c.s.placedLocal;
    // Only what this job put there, and only if nobody edited it since.
    if (placed && !tgtChanged) return deleteOn(target, c, `deleted on ${source}; delete=tracked`);
  }
  // The run does nothing with it, but says so: a deletion the policy holds back is reported
  // (plan, skippedDeletes), not silently dropped.
  if (mode === "never") return holdDelete(target, c, `deleted on ${source}; delete=never keeps the ${target} copy`);
  return undefined;
}

function twoWay(c: PathCase, ctx: Ctx): Action | undefined {
  const lc = lChanged(c);
  const rc = rChanged(c);
  if (c.l && c.r) {
    // Equal only on evidence: a size and a time that match prove nothing (two edits within the
    // server's time precision look alike), so files of the same size are compared by content
    // when the plan is carried out. A copy a stopped run made but did not record is recognised
    // there too, or, for an upload, before the diff from its partial-transfer row (landed-uploads.ts).
    if (!c.s) return compareOrConflict(c, "on both sides at the first sync", ctx);
    if (lc && rc) return compareOrConflict(c, "changed on both sides since last sync", ctx);
    if (lc) return transferTo("remote", c, "changed on local since last sync");
    if (rc) return transferTo("local", c, "changed on remote since last sync");
    return isPendingAdopt(c) ? adopt(c, "uploaded last run; recording the server's time") : undefined;
  }
  const present: Side = c.l ? "local" : "remote";
  const missing: Side = c.l ? "remote" : "local";
  if (!c.s) return transferTo(missing, c, `new on ${present}`);
  if (present === "local" ? lc : rc) {
    return transferTo(missing, c, `deleted on ${missing} but edited on ${present}: edit kept`);
  }
  if (ctx.policy.delete === "never") return transferTo(missing, c, `deleted on ${missing}; delete=never restores it`);
  if (ctx.policy.delete === "tracked" && !(present === "local" ? c.s.placedLocal : c.s.placedRemote)) {
    // tracked: only a copy this job put there goes (and unchanged since, checked above).
    return holdDelete(present, c, `deleted on ${missing}; delete=tracked keeps the ${present} copy: this job did not put it there`);
  }
  return deleteOn(present, c, `deleted on ${missing}; delete=${ctx.policy.delete}`);
}

// ---------------------------------------------------------------------------------------------
// Folders

/**
 * A folder on one side only is created on the other side, unless the policy removes it: it goes
 * only when every entry in it goes in this same plan, so a folder with anything we keep stays.
 */
function decideDir(
  c: PathCase,
  ctx: Ctx,
  deleted: Record<Side, Set<string>>,
  held: Record<Side, Set<string>>,
  children: () => Record<Side, Map<string, string[]>>,
): Action | undefined {
  if (c.l && c.r) return undefined;
  const present: Side = c.l ? "local" : "remote";
  const missing: Side = c.l ? "remote" : "local";
  const { direction, delete: mode } = ctx.policy;

  const kids = children()[present].get(c.path) ?? [];
  const emptied = kids.every((k) => deleted[present].has(k));
  const removedSome = kids.some((k) => deleted[present].has(k));
  // Below a failed listing we cannot see what the folder still holds.
  const listingKnown = present === "local" || !ctx.failedDirs.includes(c.path);
  const canEmpty = mode !== "never" && emptied && listingKnown;

  const oneWaySource: Side | undefined = direction === "upload" ? "local" : direction === "download" ? "remote" : undefined;
  if (oneWaySource) {
    if (present === oneWaySource) return mkdirOn(missing, c, c.s ? `folder missing on ${missing}` : `new folder on ${present}`);
    const placed = c.s?.type === "dir" && (present === "remote" ? c.s.placedRemote : c.s.placedLocal);
    const allowed = mode === "mirror" || (mode === "tracked" && (placed || removedSome));
    return canEmpty && allowed ? deleteOn(present, c, `folder not on ${oneWaySource}; delete=${mode}`) : undefined;
  }

  // two-way: a folder we knew (state) or whose contents the other side deleted was deleted there.
  if (canEmpty && (c.s !== undefined || removedSome)) return deleteOn(present, c, `folder deleted on ${missing}; delete=${mode}`);
  // What is left in it is held back (delete=tracked): the folder stays as it is on both sides,
  // not created again where it was deleted.
  const heldSome = kids.some((k) => held[present].has(k));
  if (heldSome && kids.every((k) => deleted[present].has(k) || held[present].has(k))) {
    return holdDelete(present, c, `folder deleted on ${missing}; delete=tracked keeps what this job did not put there`);
  }
  if (!c.s && !removedSome) return mkdirOn(missing, c, `new folder on ${present}`);
  return mkdirOn(
    missing,
    c,
    mode === "never" ? `folder deleted on ${missing}; delete=never restores it` : `folder deleted on ${missing} but ${present} still holds entries in it: kept`,
  );
}

// ---------------------------------------------------------------------------------------------
// Conflicts

function isTypeMismatch(c: PathCase): boolean {
  return c.l !== undefined && c.r !== undefined && c.l.type !== c.r.type;
}

/**
 * A file on one side, a folder on the other. Either way out deletes a whole side's version (a
 * file cannot be renamed over a folder), so the user settles it; nothing at or below it is done.
 */
function typeMismatch(c: PathCase): Action {
  const what = (t: string) => (t === "dir" ? "folder" : "file");
  return {
    kind: "needs-user",
    path: c.path,
    reason: `type mismatch: ${what(c.l!.type)} on local, ${what(c.r!.type)} on remote; rename or remove one of them, nothing at or below this path is synced until then`,
  };
}

/** Two files of the same size may be the same: compared at the sync (see the "compare" action). */
function compareOrConflict(c: PathCase, why: string, ctx: Ctx): Action {
  if (c.l!.size !== c.r!.size) return conflict(c, `${why}, sizes differ`, ctx);
  return {
    kind: "compare",
    path: c.path,
    reason: `${why}, same size: contents compared at the sync`,
    local: c.l!,
    remote: c.r!,
    ifDifferent: conflict(c, `${why}, contents differ`, ctx),
  };
}

/** Both sides changed the same file: resolve per onConflict. */
function conflict(c: PathCase, why: string, ctx: Ctx): ConflictAction {
  const l = c.l!;
  const r = c.r!;
  const base = { kind: "conflict" as const, path: c.path, local: l, remote: r };
  switch (ctx.policy.onConflict) {
    case "local-wins":
      return { ...base, reason: `${why}; onConflict=local-wins`, resolution: "upload" };
    case "remote-wins":
      return { ...base, reason: `${why}; onConflict=remote-wins`, resolution: "download" };
    case "newer-wins": {
      const ru = inUtc(r, ctx);
      const newer = newerSide(l, ru);
      if (!newer) return keepBoth(c, `${why}; cannot tell which is newer, keeping both`, ctx);
      // A time ahead of this machine's clock is a wrong clock or a touched file, not a later
      // edit: it must not overwrite the other side's version.
      const ahead = (newer === "local" ? l.mtimeMs : ru.modifyMs!) - ctx.nowMs;
      const tolerance = ctx.policy.futureToleranceMs ?? DEFAULT_FUTURE_TOLERANCE_MS;
      if (ahead > tolerance) {
        const by = ahead >= 3_600_000 ? `${(ahead / 3_600_000).toFixed(1)} h` : `${Math.ceil(ahead / 60_000)} min`;
        return keepBoth(c, `${why}; the ${newer} time is ${by} ahead of this machine's clock (futureTolerance ${Math.round(tolerance / 1000)} s), not trusted by newer-wins: keeping both`, ctx);
      }
      return { ...base, reason: `${why}; ${newer} is newer (onConflict=newer-wins)`, resolution: newer === "local" ? "upload" : "download" };
    }
    case "keep-both":
      return keepBoth(c, `${why}; keeping both`, ctx);
  }
}

/** A remote entry with its time in UTC, for comparison with this machine's clock. */
function inUtc(r: RemoteEntry, ctx: Ctx): RemoteEntry {
  return ctx.remoteClockMs === 0 || r.modifyMs === undefined ? r : { ...r, modifyMs: r.modifyMs - ctx.remoteClockMs };
}

/** Which side is newer, or undefined when the remote has no time or the two are within its precision. */
function newerSide(l: LocalEntry, r: RemoteEntry): Side | undefined {
  if (r.modifyMs === undefined || r.precision === "none" || r.precision === "pending") return undefined;
  if (sameWithinPrecision(l.mtimeMs, "ms", r.modifyMs, r.precision)) return undefined;
  return l.mtimeMs > r.modifyMs ? "local" : "remote";
}

function keepBoth(c: PathCase, reason: string, ctx: Ctx): ConflictAction {
  const taken = (p: string) => ctx.localView.has(p) || ctx.remoteView.has(p) || ctx.usedNames.has(p);
  const name = conflictName(c.path, ctx.stamp, taken);
  ctx.usedNames.add(name);
  return { kind: "conflict", path: c.path, reason, resolution: "keep-both", conflictName: name, local: c.l!, remote: c.r! };
}

/** "20261124T020000" in UTC. */
export function conflictStamp(now: Date): string {
  return now.toISOString().replace(/\.\d+Z$/, "").replace(/[-:]/g, "");
}

/**
 * The new name of the remote version in a keep-both conflict: `.conflict-<stamp>-remote` goes
 * before the extension of the base name (a leading dot is not an extension), then `-2`, `-3`...
 * until the name is free.
 */
export function conflictName(path: string, stamp: string, taken: (path: string) => boolean): string {
  const slash = path.lastIndexOf("/");
  const dir = path.slice(0, slash + 1);
  const base = path.slice(slash + 1);
  const dot = base.lastIndexOf(".");
  const [stem, ext] = dot > 0 ? [base.slice(0, dot), base.slice(dot)] : [base, ""];
  for (let n = 1; ; n++) {
    const candidate = `${dir}${stem}.conflict-${stamp}-remote${n > 1 ? `-${n}` : ""}${ext}`;
    if (!taken(candidate)) return candidate;
  }
}

// ---------------------------------------------------------------------------------------------
// Action builders

function transferTo(target: Side, c: PathCase, reason: string): Action {
  if (target === "remote") return { kind: "upload", path: c.path, reason, local: c.l!, remote: c.r, placedRemote: true };
  return { kind: "download", path: c.path, reason, remote: c.r!, local: c.l, placedLocal: true };
}

function deleteOn(side: Side, c: PathCase, reason: string): Action {
  const type = (side === "local" ? c.l : c.r)!.type;
  return { kind: side === "local" ? "delete-local" : "delete-remote", path: c.path, reason, type };
}

function mkdirOn(side: Side, c: PathCase, reason: string): Action {
  return { kind: side === "local" ? "mkdir-local" : "mkdir-remote", path: c.path, reason };
}

function holdDelete(side: Side, c: PathCase, reason: string): Action {
  return { kind: "held-delete", path: c.path, reason, side, type: (side === "local" ? c.l : c.r)!.type };
}

function adopt(c: PathCase, reason: string): Action {
  return { kind: "adopt", path: c.path, reason, local: c.l!, remote: c.r! };
}

// ---------------------------------------------------------------------------------------------
// Paths

/**
 * One side's entries plus a folder entry for every folder a listed path lives in. The listed map
 * is not copied (100 000 entries): the implied folders are kept beside it.
 */
class SideView<E extends { path: string }> {
  private readonly implied = new Map<string, E>();

  constructor(
    private readonly listed: Map<string, E>,
    makeDir: (path: string) => E,
  ) {
    // Entries come folder by folder: the folder just checked is the next entry's too, most often.
    let checked: string | undefined;
    for (const path of listed.keys()) {
      const parent = parentPath(path);
      if (parent === checked) continue;
      checked = parent;
      // Walk up until a folder we already know: its own parents are (or will be) added from it.
      for (let dir = parent; dir !== "" && !this.has(dir); dir = parentPath(dir)) this.implied.set(dir, makeDir(dir));
    }
  }

  get(path: string): E | undefined {
    return this.listed.get(path) ?? this.implied.get(path);
  }

  has(path: string): boolean {
    return this.listed.has(path) || this.implied.has(path);
  }

  *keys(): IterableIterator<string> {
    yield* this.listed.keys();
    yield* this.implied.keys();
  }
}

function parentPath(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash === -1 ? "" : path.slice(0, slash);
}

/** folder -> its direct entries. */
function childIndex(paths: Iterable<string>): Map<string, string[]> {
  const index = new Map<string, string[]>();
  for (const path of paths) {
    const slash = path.lastIndexOf("/");
    if (slash === -1) continue;
    const parent = path.slice(0, slash);
    const list = index.get(parent);
    if (list) list.push(path);
    else index.set(parent, [path]);
  }
  return index;
}

function isBelow(path: string, dir: string): boolean {
  return dir === "" || path.startsWith(dir + "/");
}

function isBelowAny(path: string, dirs: string[]): boolean {
  return dirs.some((dir) => isBelow(path, dir));
}

function depth(path: string): number {
  return path.split("/").length;
}

function byPath(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function deepestFirst(a: PathCase, b: PathCase): number {
  return depth(b.path) - depth(a.path) || byPath(a.path, b.path);
}
