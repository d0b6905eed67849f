import { RemoteError } from "../errors.js";
import type { Logger } from "../log.js";
import type { RemoteEntry, RemoteListing, StateEntry } from "../plan/types.js";
import { remoteJoin } from "../plan/names.js";
import type { RemoteFolder } from "../remote/remote-folder.js";

const FINER_THAN_DAY = new Set(["ms", "second", "minute"]);

/**
 * Listed files whose time the listing shows by day only, while the state knows a finer time for
 * the same size: the diff could not tell a rewrite from no change. A Unix LIST shows a date
 * without a time for files more than six months old or dated in the future (vsftpd: "Dec 05
 * 2026"), and a file rewritten with the same size and a time in the future looks exactly like
 * the old one within a day's tolerance. Pure.
 */
export function dayTimesToRefine(remote: ReadonlyMap<string, RemoteEntry>, state: ReadonlyMap<string, StateEntry>): RemoteEntry[] {
  const out: RemoteEntry[] = [];
  for (const e of remote.values()) {
    if (e.type !== "file" || e.precision !== "day") continue;
    const s = state.get(e.path);
    if (s && s.type === "file" && s.remoteSize === e.size && FINER_THAN_DAY.has(s.remotePrecision)) out.push(e);
  }
  return out;
}

/**
 * Asks the server for the exact time (MDTM) of each listed file dayTimesToRefine picks, and puts
 * it in the listing in place of the day, so the diff compares exact times. A step between the
 * listing and the diff: the diff stays pure. A file whose MDTM fails keeps its listed day.
 * Returns how many entries were refined (a listing with any is not one to remember as settled:
 * the same listing may hide a different file next time).
 */
export async function refineDayTimes(
  remote: RemoteFolder,
  root: string,
  listing: RemoteListing,
  state: ReadonlyMap<string, StateEntry>,
  opts: { logger: Logger; signal?: AbortSignal },
): Promise<number> {
  const todo = dayTimesToRefine(listing.entries, state);
  if (todo.length === 0 || remote.capabilities?.mdtm === false) return 0;
  let refined = 0;
  let next = 0;
  const one = async (e: RemoteEntry) => {
    const path = remoteJoin(root, e.serverPath ?? e.path);
    try {
      const ms = await remote.exactTime(path);
      if (ms === undefined) return;
      listing.entries.set(e.path, { ...e, modifyMs: ms, precision: ms % 1000 === 0 ? "second" : "ms" });
      refined++;
    } catch (err) {
      const why = `MDTM ${path}: ${(err as Error).message}; its listed day is all that is known this run`;
      // A refusal from the server is expected of some files; anything else is worth a warning.
      if (err instanceof RemoteError && err.phase === "operation" && err.code !== undefined) opts.logger.debug(why);
      else opts.logger.warn(why);
    }
  };
  const worker = async () => {
    while (next < todo.length && !opts.signal?.aborted) await one(todo[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(remote.width, todo.length) }, worker));
  opts.logger.debug(`asked the exact time of ${todo.length} file(s) listed by day only`);
  return refined;
}
