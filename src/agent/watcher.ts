import { statSync } from "node:fs";
import { basename } from "node:path";
import type { AgentConfig, JobConfig } from "../config/types.js";
import type { Logger } from "../log.js";
import { ownFilesIn, realLocalFolder } from "../local/own-files.js";
import { isTempName } from "../local/temp-names.js";
import { makePathFilter } from "../plan/filter.js";
import { makeOwnPathTest } from "../plan/own-paths.js";
import { debounce } from "./debounce.js";
import { FolderWatch, type FolderChange } from "./folder-watch.js";
import { setLongInterval, type LongTimer } from "./long-timer.js";
import type { RequestRun } from "./scheduler.js";

/** How often the watched folder itself is looked at: gone, back, or another folder (a remount). */
const ROOT_CHECK_MS = 2000;

/** How often a job whose watches ran out (the system's inotify limit) looks at its folder instead. */
export const WATCH_FALLBACK_POLL_MS = 60_000;

/** What the watch of a job is doing, for the log, `status` and /readyz. */
export type WatchState =
  | { mode: "watching"; watches: number }
  | { mode: "polling"; pollMs: number; reason: string };

export interface JobWatcher {
  close(): Promise<void>;
  /** Watches held now (one per folder). */
  readonly watches: number;
  readonly state: WatchState | undefined;
  /** Resolves when the folders present at the start are all watched (or the watch gave up). */
  readonly ready: Promise<void>;
}

export interface WatchOptions {
  /** The agent's config: its own files in the job's folder are not watched (their writes would trigger runs). */
  agent?: AgentConfig;
  /** How often to look at the folder itself (tests). */
  rootCheckMs?: number;
  /** At most this many watches: a test hook standing for a low fs.inotify.max_user_watches. */
  maxWatches?: number;
  /** The polling interval once the watches ran out (tests). */
  fallbackPollMs?: number;
  /** Told when the watch starts, and when it falls back to polling. */
  onState?: (job: string, state: WatchState) => void;
  /** Told, just before each run request, which folders the events named since the last one. */
  onFolders?: (job: string, changes: FolderChange[]) => void;
}

/** The folder's identity: a folder deleted and made again, or mounted over, is another one. */
function identity(path: string): string | undefined {
  try {
    const st = statSync(path);
    return st.isDirectory() ? `${st.dev}:${st.ino}` : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Watch trigger: changes in the job's local folder request a run, debounced so that a burst of
 * writes becomes one run (each write starts the quiet time again, so a file still being written
 * is waited for). Our own temporary files, the agent's own files and excluded paths are ignored,
 * or every download (or state write) would trigger another run.
 *
 * One watch per folder (folder-watch.ts). When the system's watches run out (ENOSPC from inotify:
 * fs.inotify.max_user_watches), the job polls its folder every WATCH_FALLBACK_POLL_MS instead, and
 * says so in the log and through onState (status, /readyz).
 *
 * A watcher is tied to the folder it was started on: when that folder is deleted and made again,
 * or another disk is mounted over it, it sees nothing more. So the folder itself is looked at
 * every few seconds; while it is missing a warning says so, and when it is back (or replaced) the
 * watcher is started again on it and a run is requested, since files may have arrived with it.
 */
export function watchJob(job: JobConfig, request: RequestRun, logger: Logger, opts: WatchOptions = {}): JobWatcher | undefined {
  if (!job.watch) return undefined;
  const accept = makePathFilter(job.include, job.exclude);
  const meta = { job: job.name };
  /** Folders the events named since the last request; deep: everything under it too. */
  const changed = new Map<string, boolean>();
  const trigger = debounce(() => {
    const changes = [...changed].map(([folder, deep]) => ({ folder, deep }));
    changed.clear();
    opts.onFolders?.(job.name, changes);
    request(job.name, "watch");
  }, job.watchDebounceMs);
  const note = (change: FolderChange) => {
    changed.set(change.folder, change.deep || (changed.get(change.folder) ?? false));
    trigger.call();
  };

  let watcher: FolderWatch | undefined;
  /** The identity of the folder the watcher runs on. */
  let watching: string | undefined;
  /** The folder is not there (a warning was logged); the watcher is closed. */
  let missing = false;
  let closed = false;
  let state: WatchState | undefined;
  let polling: LongTimer | undefined;
  let ready: Promise<void> = Promise.resolve();
  const setState = (s: WatchState) => {
    state = s;
    opts.onState?.(job.name, s);
  };

  const fallBackToPolling = (err: Error) => {
    if (polling || closed) return;
    const pollMs = opts.fallbackPollMs ?? WATCH_FALLBACK_POLL_MS;
    const reason =
      `the system's limit of inotify watches is reached (${err.message}): looking at the folder every ${Math.round(pollMs / 1000)} s instead. ` +
      `Raise fs.inotify.max_user_watches (sysctl -w fs.inotify.max_user_watches=524288, and in /etc/sysctl.d/ to keep it), then reload the agent (SIGHUP)`;
    logger.warn(`watching ${job.local}: ${reason}`, meta);
    setState({ mode: "polling", pollMs, reason });
    polling = setLongInterval(() => request(job.name, "watch-poll"), pollMs);
    // What changed while the watches were being set up is not known: look now.
    request(job.name, "watch-poll");
  };

  const arm = (id: string) => {
    let isOwn: ((path: string) => boolean) | undefined;
    try {
      isOwn = opts.agent ? makeOwnPathTest(ownFilesIn(opts.agent, realLocalFolder(job.local))) : undefined;
    } catch (err) {
      logger.warn(`watching ${job.local}: cannot tell the agent's own files apart: ${(err as Error).message}`, meta);
    }
    const ignored = (rel: string, dir: boolean): boolean => {
      if (isTempName(basename(rel))) return true;
      if (job.doneMarker && rel === job.doneMarker) return true;
      if (job.backup && (rel === job.backup.dir || rel.startsWith(job.backup.dir + "/"))) return true;
      if (isOwn?.(rel)) return true;
      return !accept(rel, dir ? "dir" : "file");
    };
    const w = new FolderWatch({
      root: job.local,
      ignored,
      followSymlinks: job.followSymlinks,
      maxWatches: opts.maxWatches,
      onChange: (change) => {
        logger.debug(`watch: ${change.folder === "" ? "." : change.folder} changed${change.deep ? " (new folder)" : ""}`, meta);
        note(change);
      },
      onLimit: fallBackToPolling,
      onError: (err) => logger.warn(`watching ${job.local}: ${err.message}`, meta),
    }).start();
    ready = w.ready.then(() => {
      if (watcher === w && !polling && w.count > 0) {
        setState({ mode: "watching", watches: w.count });
        logger.debug(`watching ${job.local}: ${w.count} folder(s)`, meta);
      }
    });
    watcher = w;
    watching = id;
  };

  const disarm = () => {
    watcher?.close();
    watcher = undefined;
    watching = undefined;
  };

  const checkRoot = () => {
    if (closed) return;
    const id = identity(job.local);
    if (id === undefined) {
      if (!missing) {
        disarm();
        missing = true;
        logger.warn(`local folder ${job.local} is missing: watching it again when it is back`, meta);
        // Its files went with it: a run records that (it fails, naming the folder) and deletes nothing.
        note({ folder: "", deep: true });
      }
      return;
    }
    if (!missing && id === watching) return;
    if (polling) return; // polling looks at whatever folder is there
    // Back, or another folder in its place: watch that one, and look at what it holds.
    disarm();
    arm(id);
    missing = false;
    logger.info(`local folder ${job.local} is back: watching it again`, meta);
    note({ folder: "", deep: true });
  };

  const first = identity(job.local);
  if (first === undefined) {
    missing = true;
    logger.warn(`local folder ${job.local} is missing: watching it when it appears`, meta);
  } else {
    arm(first);
  }
  const timer = setInterval(checkRoot, opts.rootCheckMs ?? ROOT_CHECK_MS);
  timer.unref();

  return {
    close: async () => {
      closed = true;
      clearInterval(timer);
      polling?.clear();
      trigger.cancel();
      disarm();
    },
    get watches() {
      return watcher?.count ?? 0;
    },
    get state() {
      return state;
    },
    get ready() {
      return ready;
    },
  };
}
