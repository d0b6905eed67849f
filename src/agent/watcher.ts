import { statSync } from "node:fs";
import { basename, relative, sep } from "node:path";
import { watch, type FSWatcher } from "chokidar";
import type { AgentConfig, JobConfig } from "../config/types.js";
import type { Logger } from "../log.js";
import { ownFilesIn, realLocalFolder } from "../local/own-files.js";
import { isTempName } from "../local/temp-names.js";
import { makePathFilter } from "../plan/filter.js";
import { makeOwnPathTest } from "../plan/own-paths.js";
import { debounce } from "./debounce.js";
import type { RequestRun } from "./scheduler.js";

/** Waits for a file to stop growing before reporting it: a half-copied file is not synced. */
const WRITE_FINISH = { stabilityThreshold: 300, pollInterval: 100 };

/** How often the watched folder itself is looked at: gone, back, or another folder (a remount). */
const ROOT_CHECK_MS = 2000;

export interface JobWatcher {
  close(): Promise<void>;
}

export interface WatchOptions {
  /** The agent's config: its own files in the job's folder are not watched (their writes would trigger runs). */
  agent?: AgentConfig;
  /** How often to look at the folder itself (tests). */
  rootCheckMs?: number;
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
 * writes becomes one run. Our own temporary files, the agent's own files and excluded paths are
 * ignored, or every download (or state write) would trigger another run.
 *
 * A watcher is tied to the folder it was started on: when that folder is deleted and made again,
 * or another disk is mounted over it, it sees nothing more. So the folder itself is looked at
 * every few seconds (and at once when the watcher sees it go); while it is missing a warning
 * says so, and when it is back (or replaced) the watcher is started again on it and a run is
 * requested, since files may have arrived with it.
 */
export function watchJob(job: JobConfig, request: RequestRun, logger: Logger, opts: WatchOptions = {}): JobWatcher | undefined {
  if (!job.watch) return undefined;
  const accept = makePathFilter(job.include, job.exclude);
  const trigger = debounce(() => request(job.name, "watch"), job.watchDebounceMs);
  const meta = { job: job.name };

  let watcher: FSWatcher | undefined;
  /** The identity of the folder the watcher runs on. */
  let watching: string | undefined;
  /** The folder is not there (a warning was logged); the watcher is closed. */
  let missing = false;
  /** The watcher saw the folder go: whatever is there now is another folder. */
  let rootGone = false;
  let closed = false;

  const arm = (id: string) => {
    let isOwn: ((path: string) => boolean) | undefined;
    try {
      isOwn = opts.agent ? makeOwnPathTest(ownFilesIn(opts.agent, realLocalFolder(job.local))) : undefined;
    } catch (err) {
      logger.warn(`watching ${job.local}: cannot tell the agent's own files apart: ${(err as Error).message}`, meta);
    }
    const ignored = (path: string, stats?: { isFile(): boolean; isDirectory(): boolean }): boolean => {
      if (isTempName(basename(path))) return true;
      const rel = relative(job.local, path).split(sep).join("/").normalize("NFC");
      if (rel === "" || rel.startsWith("..")) return false;
      if (job.doneMarker && rel === job.doneMarker) return true;
      if (job.backup && (rel === job.backup.dir || rel.startsWith(job.backup.dir + "/"))) return true;
      if (isOwn?.(rel)) return true;
      // Without stats chokidar asks before it knows the type: only an excluded folder is certain.
      if (!stats) return !accept(rel, "dir");
      return !accept(rel, stats.isDirectory() ? "dir" : "file");
    };
    const w = watch(job.local, { ignoreInitial: true, ignored, awaitWriteFinish: WRITE_FINISH, followSymlinks: job.followSymlinks });
    w.on("all", (event, path) => {
      logger.debug(`watch: ${event} ${path}`, meta);
      if (event === "unlinkDir" && path === job.local && w === watcher) {
        rootGone = true;
        checkRoot();
      }
      trigger.call();
    });
    w.on("error", (err) => logger.warn(`watching ${job.local}: ${(err as Error).message}`, meta));
    watcher = w;
    watching = id;
    rootGone = false;
  };

  const disarm = () => {
    const w = watcher;
    watcher = undefined;
    watching = undefined;
    w?.close().catch(() => undefined);
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
        trigger.call();
      }
      return;
    }
    if (!missing && !rootGone && id === watching) return;
    // Back, or another folder in its place: watch that one, and look at what it holds.
    disarm();
    arm(id);
    missing = false;
    logger.info(`local folder ${job.local} is back: watching it again`, meta);
    trigger.call();
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
      trigger.cancel();
      await watcher?.close();
    },
  };
}
