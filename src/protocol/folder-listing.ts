import { ReplyError } from "./engine/reply-error.js";
import type { FtpsConnection } from "./connect.js";
import type { Logger } from "../log.js";
import type { ServerTechniques } from "../remote/remote-folder.js";
import { earlyListingText } from "./early-listing.js";

/** In the capability profile (techniques off): the server refuses LIST with a path. */
export const LIST_PATH = "list-path";

/** What a listing may learn about the server, and where it is remembered. */
export interface ListingLearning {
  techniques: ServerTechniques;
  logger?: Logger;
  /** The remote's name, for the log line. */
  name: string;
}

/**
 * The raw listing of one folder. MLSD and `LIST -a <folder>` name the folder; a LIST-only server
 * that refuses LIST with a path (550: some appliances, old pyftpdlib, which takes "-a <folder>"
 * for a name) is listed the way every server allows: CWD to the folder, then LIST without a path.
 * A LIST refused with 550 is tried that way once: when CWD and the LIST then work, the refusal
 * was of the path, which is remembered in the capability profile and logged once; when they do
 * not, the folder cannot be listed and the first refusal is what is thrown.
 *
 * CWD changes the connection's current folder: harmless, as every path the agent sends is
 * absolute (remotePath must start with "/", and every path is built from it).
 */
export async function listFolderText(c: FtpsConnection, serverDir: string, learning?: ListingLearning, early?: Promise<string>): Promise<string> {
  // `early`: this folder's listing, sent with the login (early-listing.ts).
  const list = () => (early ? earlyListingText(c, serverDir, early, learning) : c.client.list(serverDir, c.listCommand));
  if (c.capabilities.mlsd || !learning) return list();
  if (learning.techniques.known[LIST_PATH]) return listInside(c, serverDir);
  try {
    return await list();
  } catch (err) {
    if (!(err instanceof ReplyError) || err.code !== 550) throw err;
    let text: string;
    try {
      text = await listInside(c, serverDir);
    } catch {
      throw err;
    }
    learnListPathRefused(learning, `${c.listCommand} ${serverDir}: ${err.message.trim()}`);
    return text;
  }
}

/** CWD to the folder, then LIST without a path. A folder CWD cannot enter is refused with its reply. */
export async function listInside(c: FtpsConnection, serverDir: string): Promise<string> {
  const cwd = await c.client.sendIgnoringError(`CWD ${serverDir}`);
  if (cwd.code >= 300) throw new ReplyError(cwd.code >= 400 ? cwd : { code: 550, message: `CWD ${serverDir}: ${cwd.message}` });
  return c.client.list("", c.listCommand);
}

function learnListPathRefused(learning: ListingLearning, refusal: string): void {
  const { techniques } = learning;
  // Connections listing in parallel may all learn it: said and remembered once.
  if (techniques.known[LIST_PATH]) return;
  const reason = `the server refused LIST with a path (${refusal}), but listed the folder after CWD`;
  techniques.known[LIST_PATH] = reason;
  learning.logger?.warn(`${learning.name}: ${reason}: listing each folder with CWD, then LIST, from now on`);
  techniques.onTurnedOff?.(LIST_PATH, reason);
}
