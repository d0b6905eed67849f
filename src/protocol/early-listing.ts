import type { TechniquesOff } from "../remote/remote-folder.js";
import type { RemoteConfig } from "../config/types.js";
import type { Reply } from "./engine/reply-parser.js";
import { ReplyError } from "./engine/reply-error.js";
import type { FtpsConnection } from "./connect.js";
import { LIST_PATH, type ListingLearning } from "./folder-listing.js";

/**
 * The first listing of a run, sent in the login's own write (USER ... PROT P, EPSV, MLSD <root>):
 * the run's first byte of data comes one round trip sooner. Its data connection opens only once
 * the login (230) and PROT P (200) are confirmed (see connect.ts).
 */
export interface EarlyListing {
  /** The folder listed, as the server is asked for it. */
  path: string;
  /** "MLSD" or "LIST -a". */
  command: string;
  /** The listing's text; rejects as a listing does (a ReplyError for a refusal). */
  text: Promise<string>;
  /** When it was sent (performance.now()): a listing left unused this long is not used any more. */
  at: number;
}

/** In the capability profile (techniques off): the server refused a listing sent in the login's write. */
export const LIST_IN_LOGIN = "listInLogin";
/** In the capability profile: FEAT offers no MLSD (the first listing is sent as LIST with the login). */
export const NO_MLSD = "mlsd";
/** An early listing older than this is stale: listed again. */
export const EARLY_LISTING_FRESH_MS = 30_000;

/**
 * The listing command sent with the login, or undefined when none is: MLSD unless the server is
 * known to be LIST-only (remembered from its FEAT) or says it is vsftpd (which has never had
 * MLSD), where a refused MLSD would cost a round trip; a guess that is wrong costs only a listing
 * of the other kind. None on a server known to drop commands sent together, to refuse the early
 * listing or LIST with a path, and in active mode (its EPRT is waited for, nothing to save).
 */
export function earlyListingCommand(remote: RemoteConfig, greeting: Reply, off: TechniquesOff): string | undefined {
  if (off.pipelining || off[LIST_IN_LOGIN] || off[LIST_PATH] || remote.dataConnections === "active") return undefined;
  if (off[NO_MLSD] || /\bvsftpd\b/i.test(greeting.message)) return "LIST -a";
  return "MLSD";
}

/** The early listing of `c` for `serverDir`, if it is that folder's, in the connection's listing command, and fresh; taken once. */
export function takeEarlyListing(c: FtpsConnection, serverDir: string, now = performance.now()): Promise<string> | undefined {
  const early = c.early;
  if (!early) return undefined;
  c.early = undefined;
  if (early.path !== serverDir || early.command !== c.listCommand || now - early.at > EARLY_LISTING_FRESH_MS) return undefined;
  return early.text;
}

/**
 * The early listing's text. A refusal other than 550 (a missing or unreadable folder, said the
 * same way at any time) may be the server's objection to a listing sent with the login: the
 * folder is listed again the usual way, and when that works the technique is remembered off for
 * the server (said once).
 */
export async function earlyListingText(c: FtpsConnection, serverDir: string, early: Promise<string>, learning?: ListingLearning): Promise<string> {
  try {
    return await early;
  } catch (err) {
    if (!(err instanceof ReplyError) || err.code === 550 || c.client.closed) throw err;
    const text = await c.client.list(serverDir, c.listCommand);
    if (learning) rememberEarlyRefused(learning, `${c.listCommand} ${serverDir}: ${err.message.trim()}`);
    return text;
  }
}

function rememberEarlyRefused(learning: ListingLearning, refusal: string): void {
  const { techniques } = learning;
  if (techniques.known[LIST_IN_LOGIN]) return;
  const reason = `the server refused the listing sent with the login (${refusal}), but listed the folder afterwards`;
  techniques.known[LIST_IN_LOGIN] = reason;
  learning.logger?.warn(`${learning.name}: ${reason}: listing after the login from now on (remembered for this server)`);
  techniques.onTurnedOff?.(LIST_IN_LOGIN, reason);
}
