import { basename, relative, sep } from "node:path";
import { watch, type FSWatcher } from "chokidar";
import type { JobConfig } from "../config/types.js";
import type { Logger } from "../log.js";
import { isTempName } from "../local/temp-names.js";
import { makePathFilter } from "../plan/filter.js";
import { debounce } from "./debounce.js";
import type { RequestRun } from "./scheduler.js";

/** Waits for a file to stop growing before reporting it: a half-copied file is not synced. */
const WRITE_FINISH = { stabilityThreshold: 300, pollInterval: 100 };

export interface JobWatcher {
  close(): Promise<void>;
}

/**
 * Watch trigger: changes in the job's local folder request a run, debounced so that a burst of
 * writes becomes one run. Our own temporary files and excluded paths are ignored, or every
 * download would trigger another run.
 */
export function watchJob(job: JobConfig, request: RequestRun, logger: Logger): JobWatcher | undefined {
  if (!job.watch) return undefined;
  const accept = makePathFilter(job.include, job.exclude);
  const ignored = (path: string, stats?: { isFile(): boolean; isDirectory(): boolean }): boolean => {
    if (isTempName(basename(path))) return true;
    const rel = relative(job.local, path).split(sep).join("/").normalize("NFC");
    if (rel === "" || rel.startsWith("..")) return false;
    if (job.doneMarker && rel === job.doneMarker) return true;
    // Without stats chokidar asks before it knows the type: only an excluded folder is certain.
    if (!stats) return !accept(rel, "dir");
    return !accept(rel, stats.isDirectory() ? "dir" : "file");
  };
  const trigger = debounce(() => request(job.name, "watch"), job.watchDebounceMs);
  const watcher: FSWatcher = watch(job.local, {
    ignoreInitial: true,
    ignored,
    awaitWriteFinish: WRITE_FINISH,
    followSymlinks: job.followSymlinks,
  });
  watcher.on("all", (event, path) => {
    logger.debug(`watch: ${event} ${path}`, { job: job.name });
    trigger.call();
  });
  watcher.on("error", (err) => logger.warn(`watching ${job.local}: ${(err as Error).message}`, { job: job.name }));
  return {
    close: async () => {
      trigger.cancel();
      await watcher.close();
    },
  };
}
