import type { ListEntry as FileInfo } from "./listing-parse.js";
import { ReplyError } from "./engine/reply-error.js";
import { parseListKeepingSplitNames } from "./listing-lines.js";
import type { Logger } from "../log.js";
import type { RemoteListing } from "../plan/types.js";
import { remoteTimeReader, type RemoteTime } from "./list-times.js";
import { ListingCollector, walkFolders, type ListedItem } from "../remote/listing-collector.js";
import type { FtpsConnection } from "./connect.js";
import { errorClassOf } from "./classify.js";
import { RemoteRootMissing, type ListTreeOptions as FolderListTreeOptions } from "../remote/remote-folder.js";
import { narrowUse, type FtpsPool } from "./pool.js";
import { withRetry, type RetryPolicy } from "../remote/retry.js";
import { listFolderText, type ListingLearning } from "./folder-listing.js";
import { FAR_SERVER_MS, STAT_REPLY_BUDGET, StatFolderNotOpened, statListing, statListings, statListingWidth, StatListingUnusable, StatRepliesOutOfStep } from "./stat-listing.js";

export { RemoteRootMissing };

/** The interface's options (remote-folder.ts), the hints under their FTPS name. */
export type ListTreeOptions = Omit<FolderListTreeOptions, "hints"> & {
  /**
   * Estimated STAT reply length per folder (estimateStatReplies over the state's paths). Given, a
   * server without MLSD has the folders known to be small listed over the control connection.
   */
  statReplyEstimates?: Map<string, number>;
};

/** Folders listed by STAT in one write, at most (200 folders over 4 connections: 0.14 s -> 0.10 s). */
const STAT_BATCH = 8;

/**
 * Lists the whole job tree, folders in parallel over the pool (one listing per connection at a
 * time). A folder that cannot be listed after retries marks the listing incomplete, and an
 * incomplete listing never turns into deletions. Names are hostile until checked: anything that
 * is not a single safe path segment is refused and logged, never used (listing-collector.ts).
 */
export async function listTree(pool: FtpsPool, root: string, opts: ListTreeOptions): Promise<RemoteListing> {
  const collector = new ListingCollector(root, opts.accept, opts.logger);
  const itemOf = listedItemReader(opts.now ?? new Date());
  const serverDirOf = (dir: string) => collector.serverDirOf(dir);
  const failed = (dir: string, err: unknown) => collector.failed(dir, err);
  const addListing = (dir: string, infos: FileInfo[]) => collector.add(dir, infos, itemOf);
  const listOne = (dir: string, list = listFolder) => collector.listOne(dir, list, itemOf);
  // A server that refuses LIST with a path is listed with CWD, learnt once (folder-listing.ts).
  const learning: ListingLearning = { techniques: pool.techniques, logger: opts.logger, name: pool.remote.name };


  // The root is listed first, on the first connection, as soon as it has logged in (the others
  // log in meanwhile). A LIST of a folder that does not exist comes back empty on some servers
  // (vsftpd), which would look like "everything was deleted", and a refused MLSD looks like any
  // refusal: an empty or failed root listing is checked with CWD, which tells a missing root
  // (RemoteRootMissing: the caller creates it, or says so) from an empty or unlisted one. Asked only
  // then, the CWD costs no round trip before the first byte of a run whose root holds something.
  let statWanted = false;
  let statAgreed: Promise<boolean> | undefined;
  /** STAT agreed with LIST: from then on, folders are listed by STAT in batches. */
  let statOn = false;
  const statEligible = (dir: string) => {
    const estimate = opts.statReplyEstimates?.get(dir);
    return estimate !== undefined && estimate <= STAT_REPLY_BUDGET;
  };
  let firstRoundTrip: Promise<number> | undefined;
  let rootInfos: FileInfo[] | ReplyError | undefined;
  let rootError: unknown;
  // The root's listing sent with the first login, if it was (early-listing.ts): the first attempt
  // prefers that connection, and takes the listing if it got it.
  let firstAttempt = true;
  try {
    rootInfos = await withRetry(
      () => {
        const mayTake = firstAttempt;
        firstAttempt = false;
        return pool.use((c) => {
          const early = mayTake ? pool.takeEarlyListing(serverDirOf(""), c) : undefined;
          firstRoundTrip ??= startWidening(c);
          // The first folder listed both ways decides whether STAT listings can be trusted: on the
          // same connection, in the same flight as the root's LIST.
          const stated = statWanted && !statAgreed && statEligible("") ? statListing(c, serverDirOf("")).catch((err: Error) => err) : undefined;
          const listed = listChecked(c, serverDirOf(""), learning, early);
          if (stated) statAgreed = compareWithStat(serverDirOf(""), listed, stated);
          // A refusal (a missing root's 550) is a reply like any other: returned, not thrown, so
          // that the connection stays in the pool for the CWD and the mkdir that may follow.
          return listed.catch((err: unknown) => {
            if (err instanceof ReplyError && err.code >= 500) return err;
            throw err;
          });
        }, mayTake ? pool.listedEarlyOn : undefined);
      },
      opts.retry,
      { signal: opts.signal, classify: errorClassOf },
    );
  } catch (err) {
    if (opts.signal?.aborted) throw err;
    rootError = err;
  }
  if (rootInfos instanceof ReplyError) [rootError, rootInfos] = [rootInfos, undefined];
  if (rootError !== undefined || rootInfos!.length === 0) {
    // The refusal is a reply like any other: the connection stays in the pool (a failure inside
    // pool.use would close it, and the mkdir that follows would log in again).
    const cwd = await withRetry(
      () =>
        pool.use(async (c) => {
          const reply = await c.client.sendIgnoringError("CWD " + root);
          if (reply.code >= 400 && reply.code !== 550) throw new ReplyError(reply); // retried when transient
          return reply;
        }),
      opts.retry,
      { signal: opts.signal, classify: errorClassOf },
    );
    if (cwd.code === 550) throw new RemoteRootMissing(`remote folder ${root} does not exist`);
  }
  if (rootError !== undefined) {
    failed("", rootError);
    return collector.result();
  }
  const rootSubdirs = await collector.listOne("", async () => rootInfos as FileInfo[], itemOf);

  const width = statWanted ? await statWidth(await firstRoundTrip!) : pool.size;
  const use = narrowUse(pool, width);

  await walkFolders(width, opts.signal, rootSubdirs, (queue) => {
    const batch = takeStatBatch(queue);
    return batch ? listBatch(batch) : listOne(queue.shift()!);
  });
  return collector.result();

  /**
   * Folders from the front of the queue to list by STAT in one write: enough to share the queue
   * over the connections, at most STAT_BATCH (one write and one round trip instead of one per folder).
   */
  function takeStatBatch(queue: string[]): string[] | undefined {
    if (!statOn || !statWanted) return undefined;
    const size = Math.min(STAT_BATCH, Math.ceil(queue.length / width));
    let n = 0;
    while (n < size && n < queue.length && statEligible(queue[n])) n++;
    return n > 0 ? queue.splice(0, n) : undefined;
  }

  /** Lists several folders by STAT in one write; each folder STAT cannot list is listed with LIST. */
  async function listBatch(dirs: string[]): Promise<string[]> {
    const subdirs: string[] = [];
    const needLIST: string[] = [];
    let results: (FileInfo[] | StatListingUnusable)[] | undefined;
    try {
      for (const dir of dirs) collector.checkBounds(dir);
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

  /**
   * On the first connection logged in: every connection lists, except on a LIST-only server with
   * known folders (STAT listings), where the round trip decides; a NOOP sent beside the root's
   * listing times it.
   */
  function startWidening(c: FtpsConnection): Promise<number> {
    statWanted = !!opts.statReplyEstimates && c.capabilities.mlsd === false;
    if (!statWanted) {
      pool.prefill(Math.min(pool.size, opts.connectionsWanted ?? pool.size));
      return Promise.resolve(Infinity);
    }
    const started = performance.now();
    // Written once the root's listing is over, as to every server: vsftpd, which takes writes
    // during a transfer, would answer it only after the listing anyway, and the write would be
    // one more turn on the way to the listing's first byte.
    return c.client.send("NOOP", { betweenTransfers: true }).then(
      () => performance.now() - started,
      () => Infinity,
    );
  }

  /**
   * Connections for a LIST-only server's STAT listings. The thread may have been busy when the
   * reply came (the local scan runs beside the listing, a folder at a time): a round trip that
   * looks far is timed again, and the quickest counts. Loopback round trips of 5 to 7 ms were seen
   * that way, which took all four connections.
   */
  async function statWidth(roundTripMs: number): Promise<number> {
    for (let i = 0; i < 2 && roundTripMs > FAR_SERVER_MS; i++) {
      const started = performance.now();
      const ok = await pool.use((c) => c.client.send("NOOP")).then(() => true, () => false);
      if (ok) roundTripMs = Math.min(roundTripMs, performance.now() - started);
    }
    const width = statListingWidth(opts.statReplyEstimates!.size, pool.size, roundTripMs);
    opts.logger?.debug(`${pool.remote.name}: listing ${opts.statReplyEstimates!.size} known folders over ${width} connection(s) (first round trip ${roundTripMs.toFixed(2)} ms)`);
    pool.prefill(width);
    return width;
  }

  /** STAT listings are used when a folder's STAT listing matches its LIST. */
  function compareWithStat(serverDir: string, listed: Promise<FileInfo[]>, stated: Promise<FileInfo[] | Error>): Promise<boolean> {
    return Promise.all([listed, stated]).then(
      ([infos, statInfos]) => {
        const agree = !(statInfos instanceof Error) && sameListing(infos, statInfos);
        statOn = agree;
        opts.logger?.debug(`${pool.remote.name}: STAT listings ${agree ? "match LIST: used" : "do not match LIST: not used"} (${serverDir}${statInfos instanceof Error ? `: ${statInfos.message}` : ""})`);
        return agree;
      },
      () => false,
    );
  }

  function listWithRetry(serverDir: string): Promise<FileInfo[]> {
    return withRetry(() => use((c) => listChecked(c, serverDir, learning)), opts.retry, { signal: opts.signal, classify: errorClassOf });
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
      const listed = list();
      statAgreed = compareWithStat(serverDir, listed, use((c) => statListing(c, serverDir)).catch((err: Error) => err));
      return listed;
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
          if (err instanceof StatListingUnusable) return await listChecked(c, serverDir, learning);
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

}

/** A listed FileInfo in the collector's terms, times read with `now` fixed (remoteTimeReader). */
function listedItemReader(now: Date): (info: FileInfo) => ListedItem {
  const timeOf = remoteTimeReader(now);
  return (info) => {
    const type = info.type;
    // Only files and folders are entries: the time of anything else is never read.
    const t: RemoteTime = type === "file" || type === "dir" ? timeOf(info) : { precision: "none" };
    return { name: info.name, type, size: info.size, modifyMs: t.modifyMs, precision: t.precision };
  };
}

/**
 * LIST of a folder. vsftpd takes a path it cannot open as a pattern and lists the matching entry of
 * the parent: an unreadable folder "x" looks like a folder holding one folder "x". Such a listing
 * is checked with CWD (a real folder of that shape can be entered; an unreadable one cannot).
 */
export async function listChecked(c: FtpsConnection, serverDir: string, learning?: ListingLearning, early?: Promise<string>): Promise<FileInfo[]> {
  // A name with a line break must come out whole (and be refused), not cut at the break.
  const infos = parseListKeepingSplitNames(await listFolderText(c, serverDir, learning, early));
  const self = serverDir.slice(serverDir.lastIndexOf("/") + 1);
  if (!c.capabilities.mlsd && infos.length === 1 && infos[0].type === "dir" && infos[0].name === self) {
    const cwd = await c.client.sendIgnoringError(`CWD ${serverDir}`);
    if (cwd.code >= 300) throw new ReplyError({ code: 550, message: `the server could not open the folder ${serverDir} (${cwd.code} to CWD)` });
  }
  return infos;
}

function sameListing(a: FileInfo[], b: FileInfo[]): boolean {
  const key = (i: FileInfo) => `${i.name}\0${i.type}\0${i.size}\0${i.rawModifiedAt}`;
  const keys = new Set(a.map(key));
  return a.length === b.length && keys.size === a.length && b.every((i) => keys.has(key(i)));
}
