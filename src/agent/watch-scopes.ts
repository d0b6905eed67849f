import type { RunScope } from "../plan/filter.js";
import type { FolderChange } from "./folder-watch.js";

/** More named folders than this and the run looks at the whole tree: as fast, and simpler. */
export const MAX_SCOPED_FOLDERS = 200;

/**
 * The folders watch events named for each job since its last run started. A run whose every
 * trigger was a watch event looks at those folders only (run-job's `scope`); any other trigger
 * (start-up, schedule, poll, a restart's resume) makes it a full run, which also catches what
 * the events missed. Kept in memory: after a restart the start-up run is a full one.
 */
export class WatchScopes {
  private readonly pending = new Map<string, Map<string, boolean>>();

  add(job: string, changes: FolderChange[]): void {
    let folders = this.pending.get(job);
    if (!folders) this.pending.set(job, (folders = new Map()));
    for (const c of changes) folders.set(c.folder, c.deep || (folders.get(c.folder) ?? false));
  }

  /** The scope of a run of `job` starting now with `triggers`; undefined: a full run. */
  take(job: string, triggers: string[]): RunScope | undefined {
    const folders = this.pending.get(job);
    this.pending.delete(job);
    if (!folders || folders.size === 0 || folders.size > MAX_SCOPED_FOLDERS || !triggers.every((t) => t === "watch")) return undefined;
    const entries = [...folders];
    return { folders: entries.filter(([, deep]) => !deep).map(([f]) => f), deep: entries.filter(([, deep]) => deep).map(([f]) => f) };
  }
}
