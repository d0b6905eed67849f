import { FileType, FTPError, type FileInfo } from "basic-ftp";
import type { Logger } from "../log.js";
import type { RemoteEntry, RemoteListing } from "../plan/types.js";
import { isTempName } from "../local/temp-names.js";
import { remoteTimeReader } from "./list-times.js";
import { escapeName, remoteJoin, toNfc, twinWarning, unsafeNameReason } from "./names.js";
import { parseListKeepingSplitNames } from "./listing-lines.js";
import type { FtpsConnection } from "../ftps/connect.js";
import { RemoteRootMissing } from "./remote-folder.js";
import { narrowUse, type FtpsPool } from "./pool.js";
import { withRetry, type RetryPolicy } from "./retry.js";
import { FAR_SERVER_MS, STAT_REPLY_BUDGET, StatFolderNotOpened, statListing, statListings, statListingWidth, StatListingUnusable, StatRepliesOutOfStep } from "./stat-listing.js";

export { RemoteRootMissing };

export interface ListTreeOptions {
  /** Whether a relative path (and, for dirs, what is below it) is part of the job. */
  accept: (path: string, type: "file" | "dir") => boolean;
  retry: RetryPolicy;
  logger?: Logger;
  signal?: AbortSignal;
  now?: Date;
  /**
   * Estimated STAT reply length per folder (estimateStatReplies over the state's paths). Given, a
   * server without MLSD has the folders known to be small listed over the control connection.
   */
  statReplyEstimates?: Map<string, number>;
}

const MAX_DEPTH = 200;
/** Folders listed by STAT in one write, at most (200 folders over 4 connections: 0.14 s -> 0.10 s). */
const STAT_BATCH = 8;
const MAX_ENTRIES = 2_000_000;


/**
 * Lists the whole job tree, folders in parallel over the pool (one listing per connection at a
 * time). A folder that cannot be listed after retries marks the listing incomplete, and an
 * incomplete listing never turns into deletions. Names are hostile until checked: anything that
 * is not a single safe path segment is refused and logged, never used.
 */
export async function listTree(pool: FtpsPool, root: string, opts: ListTreeOptions): Promise<RemoteListing> {
  const entries = new Map<string, RemoteEntry>();
  const failedDirs: string[] = [];
  const nameProblems: string[] = [];
  const twins = new Set<string>();
  const timeOf = remoteTimeReader(opts.now ?? new Date());
  // NFC path of a folder -> its spelling on the server, for the commands that list it.
  const dirServerPath = new Map<string, string>();


  // A LIST of a folder that does not exist comes back empty on some servers (vsftpd), which
  // would look like "everything was deleted". CWD tells the difference.
  const cwdStarted = performance.now();
  await withRetry(
    () =>
      pool.use(async (c) => {
        try {
          await c.client.send("CWD " + root);
        } catch (err) {
          if (err instanceof FTPError && err.code === 550) throw new RemoteRootMissing(`remote folder ${root} does not exist`);
          throw err;
        }
      }),
    opts.retry,
    { signal: opts.signal },
  );

  let roundTripMs = performance.now() - cwdStarted;

  // STAT listings (stat-listing.ts): decided by the first folder listed both ways.
  let statWanted = !!opts.statReplyEstimates && pool.first?.capabilities.mlsd === false;
  // The thread may have been busy when the reply came (the local scan runs beside the listing,
  // a folder at a time): a round trip that looks far is timed again with NOOPs, and the quickest
  // counts. Loopback round trips of 5 to 7 ms were seen that way, which took all four connections.
  for (let i = 0; statWanted && i < 2 && roundTripMs > FAR_SERVER_MS; i++) {
    const started = performance.now();
    const ok = await pool.use((c) => c.client.send("NOOP")).then(() => true, () => false);
    if (ok) roundTripMs = Math.min(roundTripMs, performance.now() - started);
  }
  const width = statWanted ? statListingWidth(opts.statReplyEstimates!.size, pool.size, roundTripMs) : pool.size;
  if (statWanted) opts.logger?.debug(`${pool.remote.name}: listing ${opts.statReplyEstimates!.size} known folders over ${width} connection(s) (first round trip ${roundTripMs.toFixed(2)} ms)`);
  pool.prefill(width);
  const use = narrowUse(pool, width);
  let statAgreed: Promise<boolean> | undefined;
  /** STAT agreed with LIST: from then on, folders are listed by STAT in batches. */
  let statOn = false;
  const statEligible = (dir: string) => {
    const estimate = opts.statReplyEstimates?.get(dir);
    return estimate !== undefined && estimate <= STAT_REPLY_BUDGET;
  };

  const queue: string[] = [""];
  let active = 0;
  await new Promise<void>((resolve, reject) => {
    const pump = () => {
      if (opts.signal?.aborted) return reject(opts.signal.reason);
      while (queue.length > 0 && active < width) {
        const batch = takeStatBatch();
        active++;
        (batch ? listBatch(batch) : listOne(queue.shift()!))
          .then((subdirs) => queue.push(...subdirs))
          .finally(() => {
            active--;
            if (queue.length === 0 && active === 0) resolve();
            else pump();
          });
      }
    };
    pump();
  });

  function failed(dir: string, err: unknown): void {
    failedDirs.push(dir);
    opts.logger?.warn(`cannot list remote folder ${remoteJoin(root, dir)}: ${(err as Error).message}`);
  }

  /**
   * Folders from the front of the queue to list by STAT in one write: enough to share the queue
   * over the connections, at most STAT_BATCH (one write and one round trip instead of one per folder).
   */
  function takeStatBatch(): string[] | undefined {
    if (!statOn || !statWanted) return undefined;
    const size = Math.min(STAT_BATCH, Math.ceil(queue.length / width));
    let n = 0;
    while (n < size && n < queue.length && statEligible(queue[n])) n++;
    return n > 0 ? queue.splice(0, n) : undefined;
  }

  /** Lists one folder; a folder that cannot be listed is reported, and has no subfolders. */
  async function listOne(dir: string, list = listFolder): Promise<string[]> {
    try {
      checkBounds(dir);
      return addListing(dir, await list(dir, serverDirOf(dir)));
    } catch (err) {
      failed(dir, err);
      return [];
    }
  }

  function checkBounds(dir: string): void {
    // Bounds against a server that invents folders without end (each listing is capped on its own).
    if (dir.split("/").length > MAX_DEPTH) throw new Error(`more than ${MAX_DEPTH} folder levels: not listed`);
    if (entries.size > MAX_ENTRIES) throw new Error(`more than ${MAX_ENTRIES} entries in the tree: not listed`);
  }

  function serverDirOf(dir: string): string {
    return dir === "" ? root : remoteJoin(root, dirServerPath.get(dir) ?? dir);
  }

  /** Adds a folder's entries; returns its subfolders. */
  function addListing(dir: string, infos: FileInfo[]): string[] {
    const subdirs: string[] = [];
    for (const info of infos) {
      const entry = toEntry(dir, info);
      if (!entry) continue;
      if (!opts.accept(entry.path, entry.type)) continue;
      if (twins.has(entry.path)) continue;
      const prior = entries.get(entry.path);
      const spelling = entry.serverPath ?? entry.path;
      if (prior && (prior.serverPath ?? prior.path) !== spelling) {
        // Two names that differ only in normalisation: one path to the diff. The run leaves the
        // path alone on both sides (withoutTwins), and neither twin folder is listed. The first
        // stays an entry: a folder holding only twins is not an empty folder to the guards.
        twins.add(entry.path);
        const listed = subdirs.indexOf(entry.path);
        if (listed >= 0) subdirs.splice(listed, 1);
        problem(twinWarning("remote", remoteJoin(root, dirServerPath.get(dir) ?? dir) || "/", baseOf(prior.serverPath ?? prior.path), baseOf(spelling)));
        continue;
      }
      entries.set(entry.path, entry);
      if (entry.type === "dir") subdirs.push(entry.path);
    }
    return subdirs;
  }

  function problem(message: string): void {
    nameProblems.push(message);
    opts.logger?.warn(message);
  }

  /** Lists several folders by STAT in one write; each folder STAT cannot list is listed with LIST. */
  async function listBatch(dirs: string[]): Promise<string[]> {
    const subdirs: string[] = [];
    const needLIST: string[] = [];
    let results: (FileInfo[] | StatListingUnusable)[] | undefined;
    try {
      for (const dir of dirs) checkBounds(dir);
      results = await use((c) => statListings(c, dirs.map(serverDirOf)));
    } catch (err) {
      if (opts.signal?.aborted) {
        for (const dir of dirs) failed(dir, err);
        return [];
      }
      noteOutOfStep(err, serverDirOf(dirs[0]));
    }
    dirs.forEach((dir, k) => {
      const listed = results?.[k];
      // A folder the server could not open is reported as not listed (see listFolder).
      if (listed instanceof StatFolderNotOpened) failed(dir, listed);
      else if (listed === undefined || listed instanceof StatListingUnusable) needLIST.push(dir);
      else subdirs.push(...addListing(dir, listed));
    });
    const byLIST = (_dir: string, serverDir: string) => listWithRetry(serverDir);
    for (const more of await Promise.all(needLIST.map((dir) => listOne(dir, byLIST)))) subdirs.push(...more);
    return subdirs;
  }

  function listWithRetry(serverDir: string): Promise<FileInfo[]> {
    return withRetry(() => use((c) => listChecked(c, serverDir)), opts.retry, { signal: opts.signal });
  }

  /** After replies out of step (a file name with a line break?), STAT is off for the rest of the run. */
  function noteOutOfStep(err: unknown, serverDir: string): void {
    if (err instanceof StatRepliesOutOfStep && statWanted) {
      statWanted = false;
      opts.logger?.warn(`${pool.remote.name}: a STAT reply came back out of step (a file name with a line break in ${serverDir}?): listing over data connections for the rest of this run`);
    }
  }

  async function listFolder(dir: string, serverDir: string): Promise<FileInfo[]> {
    const list = () => listWithRetry(serverDir);
    if (!statWanted || !statEligible(dir)) return list();
    if (!statAgreed) {
      const both = Promise.all([list(), use((c) => statListing(c, serverDir)).catch((err: Error) => err)]);
      statAgreed = both.then(
        ([listed, stated]) => {
          const agree = !(stated instanceof Error) && sameListing(listed, stated);
          statOn = agree;
          opts.logger?.debug(`${pool.remote.name}: STAT listings ${agree ? "match LIST: used" : "do not match LIST: not used"} (${serverDir}${stated instanceof Error ? `: ${stated.message}` : ""})`);
          return agree;
        },
        () => false,
      );
      return (await both)[0];
    }
    if (!(await statAgreed) || !statWanted) return list();
    let listed: FileInfo[] | StatFolderNotOpened;
    try {
      listed = await use(async (c) => {
        try {
          return await statListing(c, serverDir);
        } catch (err) {
          // Still in step: the connection goes on. A folder the server could not open is reported
          // as not listed (vsftpd's LIST shows it as holding an entry of its own name); anything
          // else unusable is listed the usual way.
          if (err instanceof StatFolderNotOpened) return err;
          if (err instanceof StatListingUnusable) return await listChecked(c, serverDir);
          throw err;
        }
      });
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      noteOutOfStep(err, serverDir);
      return list();
    }
    if (listed instanceof StatFolderNotOpened) throw listed;
    return listed;
  }

  function toEntry(dir: string, info: FileInfo): RemoteEntry | undefined {
    if (info.name === "." || info.name === "..") return undefined;
    // Our own transfers in progress (or left by a crash, resumed or removed through the partials
    // table): never part of the synced tree, or a two-way job would copy them back.
    if (isTempName(info.name)) return undefined;
    const why = unsafeNameReason(info.name);
    if (why) {
      problem(`refused a remote name in ${escapeName(remoteJoin(root, dir) || "/")}: "${escapeName(info.name)}" (${why}); skipped`);
      return undefined;
    }
    const type = info.type === FileType.Directory ? "dir" : info.type === FileType.File ? "file" : undefined;
    if (!type) {
      opts.logger?.debug(`skipped remote ${info.type === FileType.SymbolicLink ? "symlink" : "entry"} ${info.name}`);
      return undefined;
    }
    const parentServer = dir === "" ? "" : dirServerPath.get(dir) ?? dir;
    const serverPath = parentServer ? parentServer + "/" + info.name : info.name;
    const path = toNfc(serverPath);
    if (type === "dir") dirServerPath.set(path, serverPath);
    const t = timeOf(info);
    return {
      path,
      type,
      size: type === "file" ? info.size : 0,
      modifyMs: t.modifyMs,
      precision: t.precision,
      ...(serverPath !== path ? { serverPath } : {}),
    };
  }

  return {
    entries,
    complete: failedDirs.length === 0,
    failedDirs,
    ...(nameProblems.length > 0 ? { nameProblems } : {}),
    ...(twins.size > 0 ? { twins: [...twins] } : {}),
  };
}

function baseOf(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1);
}

/**
 * LIST of a folder. vsftpd takes a path it cannot open as a pattern and lists the matching entry of
 * the parent: an unreadable folder "x" looks like a folder holding one folder "x". Such a listing
 * is checked with CWD (a real folder of that shape can be entered; an unreadable one cannot).
 */
async function listChecked(c: FtpsConnection, serverDir: string): Promise<FileInfo[]> {
  // A name with a line break must come out whole (and be refused), not cut at the break.
  c.client.parseList = parseListKeepingSplitNames;
  const infos = await c.client.list(serverDir);
  const self = serverDir.slice(serverDir.lastIndexOf("/") + 1);
  if (!c.capabilities.mlsd && infos.length === 1 && infos[0].isDirectory && infos[0].name === self) {
    const cwd = await c.client.sendIgnoringError(`CWD ${serverDir}`);
    if (cwd.code >= 300) throw new FTPError({ code: 550, message: `the server could not open the folder ${serverDir} (${cwd.code} to CWD)` });
  }
  return infos;
}

function sameListing(a: FileInfo[], b: FileInfo[]): boolean {
  const key = (i: FileInfo) => `${i.name}\0${i.type}\0${i.size}\0${i.rawModifiedAt}`;
  const keys = new Set(a.map(key));
  return a.length === b.length && keys.size === a.length && b.every((i) => keys.has(key(i)));
}
