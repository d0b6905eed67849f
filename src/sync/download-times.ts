import type { RemoteEntry } from "../plan/types.js";
import type { ServerClock } from "../remote/remote-folder.js";

/** The time a downloaded file gets, and the server's time when that was in the future (clamped). */
export interface DownloadTime {
  ms?: number;
  /** The server's time (in UTC) that lay ahead of this machine's clock, when the file got `nowMs` instead. */
  futureMs?: number;
}

/**
 * The local time of a downloaded file: the server's time of the version fetched, in UTC.
 * - MLSD's time (to the second) where the listing gave one, else MDTM's exact one (`exactBefore`:
 *   a LIST shows only the minute, in the server's zone), else the listing's;
 * - less the server's clock offset where it is known (server-clock.ts): a server in local time
 *   east of UTC shows times hours ahead;
 * - never in the future: a time ahead of `nowMs` is clamped to it (a file dated tomorrow would
 *   look newer than any local edit, and `make`-style tools would trip on it).
 * Remote times stay as the server shows them everywhere else (the state, the diff): they are only
 * compared with what the same server showed before.
 */
export function downloadTimeOf(remote: Pick<RemoteEntry, "modifyMs" | "precision">, exactBefore: number | undefined, clock: ServerClock | undefined, nowMs: number): DownloadTime {
  const fromListing = remote.precision === "second" || remote.precision === "ms";
  let ms: number | undefined;
  if (exactBefore !== undefined) ms = exactBefore - (fromListing ? (clock?.listingMs ?? 0) : (clock?.exactMs ?? 0));
  else if (remote.modifyMs !== undefined) ms = remote.modifyMs - (clock?.listingMs ?? 0);
  if (ms === undefined || ms <= nowMs) return { ms };
  return { ms: nowMs, futureMs: ms };
}
