/**
 * A reviewed plan (`plan --out`, `apply`): the plan's actions, and what each was based on, so that
 * `apply` can tell whether either side (or the state) changed since. Pure: building the basis,
 * comparing it with what a later run sees, and checking a plan file read back (it may have been
 * edited by hand: its paths are checked like names from a server).
 */
import { LineDigest } from "./digest.js";
import { unsafeNameReason } from "./names.js";
import type { Action, EntryType, LocalEntry, RemoteEntry, StateEntry } from "./types.js";

export const PLAN_FILE_SCHEMA = "ftps-sync/plan-file/v1";

/** The job's settings a plan depends on: apply refuses a plan for a job whose settings here changed. */
export interface JobIdentity {
  direction: string;
  local: string;
  remotePath: string;
  remote: { name: string; host: string; port: number; user: string };
}

/** What one side held at a path: folders by their type alone (a folder's time says nothing the diff uses). */
export type LocalSig = { type: EntryType; size?: number; mtimeMs?: number };
export type RemoteSig = { type: EntryType; size?: number; modifyMs?: number | null; precision?: string };
export type StateSig = Omit<StateEntry, "path" | "remoteModifyMs"> & { remoteModifyMs: number | null };

/** What the plan saw at one path it acts on; `localBelow`/`remoteBelow` digest what a folder it deletes held. */
export interface PathBasis {
  path: string;
  local: LocalSig | null;
  remote: RemoteSig | null;
  state: StateSig | null;
  localBelow?: string;
  remoteBelow?: string;
}

export interface SavedPlan {
  schema: typeof PLAN_FILE_SCHEMA;
  createdAt: string;
  job: string;
  /** The agent config file the plan was made with. */
  config: string;
  identity: JobIdentity;
  /** The plan was made with --force: apply lets the same guards pass. */
  force: boolean;
  actions: Action[];
  basis: PathBasis[];
  skippedDeletes: number;
  warnings: string[];
}

/** What a run saw: the inputs of the diff. */
export interface PlanSides {
  local: Map<string, LocalEntry>;
  remote: Map<string, RemoteEntry>;
  state: Map<string, StateEntry>;
}

export function jobIdentity(job: { direction: string; local: string; remotePath: string }, remote: { name: string; host: string; port: number; user: string }): JobIdentity {
  return { direction: job.direction, local: job.local, remotePath: job.remotePath, remote: { name: remote.name, host: remote.host, port: remote.port, user: remote.user } };
}

/** The settings that differ, worded "direction: upload -> download"; empty when none does. */
export function identityChanges(saved: JobIdentity, now: JobIdentity): string[] {
  const flat = (i: JobIdentity): Record<string, string> => ({
    direction: i.direction,
    "local folder": i.local,
    remotePath: i.remotePath,
    remote: `${i.remote.name} (${i.remote.user}@${i.remote.host}:${i.remote.port})`,
  });
  const a = flat(saved);
  const b = flat(now);
  return Object.keys(a).filter((k) => a[k] !== b[k]).map((k) => `${k}: ${a[k]} -> ${b[k]}`);
}

const localSig = (e: LocalEntry | undefined): LocalSig | null =>
  e === undefined ? null : e.type === "dir" ? { type: "dir" } : { type: e.type, size: e.size, mtimeMs: e.mtimeMs };

const remoteSig = (e: RemoteEntry | undefined): RemoteSig | null =>
  e === undefined ? null : e.type === "dir" ? { type: "dir" } : { type: e.type, size: e.size, modifyMs: e.modifyMs ?? null, precision: e.precision };

const stateSig = (s: StateEntry | undefined): StateSig | null =>
  s === undefined
    ? null
    : {
        type: s.type, localSize: s.localSize, localMtimeMs: s.localMtimeMs, remoteSize: s.remoteSize, remoteModifyMs: s.remoteModifyMs ?? null,
        remotePrecision: s.remotePrecision, placedRemote: s.placedRemote, placedLocal: s.placedLocal,
      };

/** Every path an action touches: its own, and the name a keep-both conflict gives the remote copy. */
export function actionPaths(a: Action): string[] {
  const paths = [a.path];
  if (a.kind === "conflict" && a.conflictName !== undefined) paths.push(a.conflictName);
  if (a.kind === "compare" && a.ifDifferent.conflictName !== undefined) paths.push(a.ifDifferent.conflictName);
  return paths;
}

/** A folder the action removes: everything below it on both sides is part of the basis. */
const deletesFolder = (a: Action) => (a.kind === "delete-local" || a.kind === "delete-remote" || a.kind === "held-delete") && a.type === "dir";

/** One digest of what a side holds below each of `folders` (sorted entries: path, type, size, time). */
function digestsBelow<E extends LocalEntry | RemoteEntry>(entries: Map<string, E>, folders: Set<string>, sig: (e: E) => unknown): Map<string, string> {
  const below = new Map<string, string[]>([...folders].map((f) => [f, []]));
  for (const [path, e] of entries) {
    for (let slash = path.lastIndexOf("/"); slash > 0; slash = path.lastIndexOf("/", slash - 1)) {
      below.get(path.slice(0, slash))?.push(`${path}\0${JSON.stringify(sig(e))}`);
    }
  }
  const out = new Map<string, string>();
  for (const [folder, lines] of below) {
    const d = new LineDigest();
    for (const line of lines.sort()) d.add(line);
    out.set(folder, d.hex());
  }
  return out;
}

/** What the plan's actions were based on, path by path (each path once). */
export function planBasis(actions: readonly Action[], sides: PlanSides): PathBasis[] {
  const folders = new Set(actions.filter(deletesFolder).map((a) => a.path));
  const localBelow = digestsBelow(sides.local, folders, localSig);
  const remoteBelow = digestsBelow(sides.remote, folders, remoteSig);
  const seen = new Set<string>();
  const basis: PathBasis[] = [];
  for (const a of actions) {
    for (const path of actionPaths(a)) {
      if (seen.has(path)) continue;
      seen.add(path);
      basis.push({
        path,
        local: localSig(sides.local.get(path)),
        remote: remoteSig(sides.remote.get(path)),
        state: stateSig(sides.state.get(path)),
        ...(folders.has(path) ? { localBelow: localBelow.get(path), remoteBelow: remoteBelow.get(path) } : {}),
      });
    }
  }
  return basis;
}

/** A path whose basis no longer holds: which side (or the state) and how. */
export interface BasisChange {
  path: string;
  side: "local" | "remote" | "state";
  was: string;
  now: string;
}

const describe = (sig: LocalSig | RemoteSig | null): string => {
  if (sig === null) return "absent";
  if (sig.type === "dir") return "folder";
  const time = "mtimeMs" in sig ? sig.mtimeMs : "modifyMs" in sig ? sig.modifyMs : undefined;
  return `file of ${sig.size} bytes${typeof time === "number" ? ` dated ${new Date(time).toISOString()}` : ""}`;
};

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

/** Every way the sides and the state differ from the plan's basis; empty when the plan still holds. */
export function basisChanges(basis: readonly PathBasis[], sides: PlanSides): BasisChange[] {
  const folders = new Set(basis.filter((b) => b.localBelow !== undefined || b.remoteBelow !== undefined).map((b) => b.path));
  const localBelow = digestsBelow(sides.local, folders, localSig);
  const remoteBelow = digestsBelow(sides.remote, folders, remoteSig);
  const changes: BasisChange[] = [];
  for (const b of basis) {
    const local = localSig(sides.local.get(b.path));
    const remote = remoteSig(sides.remote.get(b.path));
    const state = stateSig(sides.state.get(b.path));
    if (!same(local, b.local)) changes.push({ path: b.path, side: "local", was: describe(b.local), now: describe(local) });
    if (!same(remote, b.remote)) changes.push({ path: b.path, side: "remote", was: describe(b.remote), now: describe(remote) });
    if (b.localBelow !== undefined && localBelow.get(b.path) !== b.localBelow) changes.push({ path: b.path, side: "local", was: "the folder's contents at the plan", now: "other contents" });
    if (b.remoteBelow !== undefined && remoteBelow.get(b.path) !== b.remoteBelow) changes.push({ path: b.path, side: "remote", was: "the folder's contents at the plan", now: "other contents" });
    if (!same(state, b.state)) changes.push({ path: b.path, side: "state", was: b.state ? "a record of the last sync" : "no record", now: state ? "another record (a sync ran since)" : "no record" });
  }
  return changes;
}

/** Why a path from a plan file cannot be used (it would leave the job folder, or is no name at all); undefined when safe. */
export function unsafePlanPath(path: string): string | undefined {
  if (typeof path !== "string") return "not a string";
  if (path.startsWith("/")) return "an absolute path";
  for (const segment of path.split("/")) {
    const why = unsafeNameReason(segment);
    if (why) return why;
  }
  return undefined;
}

/** What identifies an action when a plan is matched against a fresh one: its kind, path and how it resolves. */
export function actionKey(a: Action): string {
  const parts: unknown[] = [a.kind, a.path];
  if (a.kind === "conflict") parts.push(a.resolution, a.conflictName ?? null);
  if (a.kind === "compare") parts.push(a.ifDifferent.resolution, a.ifDifferent.conflictName ?? null);
  if (a.kind === "held-delete") parts.push(a.side);
  return JSON.stringify(parts);
}
