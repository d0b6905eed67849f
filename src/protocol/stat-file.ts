import { ReplyError } from "./engine/reply-error.js";
import type { Reply } from "./engine/reply-parser.js";
import { parseListKeepingSplitNames } from "./listing-lines.js";
import { RemoteError } from "../errors.js";
import { parseDosLine, parseMlsdLine as parseFactsLine, parseUnixLine, type ListEntry as FileInfo } from "./listing-parse.js";
import { LIST_PATH, listInside, type ListingLearning } from "./folder-listing.js";
import type { FtpsConnection } from "./connect.js";
import type { RemoteEntry } from "../plan/types.js";
import { remoteTimeOf } from "./list-times.js";

/** What the server says of one file now, in the terms of its folder listing. */
import type { RemoteFileNow } from "../remote/remote-folder.js";

export type { RemoteFileNow };
export { sameRemoteVersion } from "../remote/same-version.js";

const baseOf = (path: string) => path.slice(path.lastIndexOf("/") + 1);

function toFileNow(info: FileInfo): RemoteFileNow | undefined {
  const type = info.type === "dir" ? "dir" : info.type === "file" ? "file" : undefined;
  if (!type) return undefined;
  const t = remoteTimeOf(info);
  return { type, size: type === "file" ? info.size : 0, modifyMs: t.modifyMs, precision: t.precision };
}

/** A reply that says the file is not there: 550 (RFC 959, "file unavailable"). */
const NOT_THERE = 550;

/** A refusal that says nothing of the file: a transient reply is an error to retry. */
function refused(verb: string, path: string, code: number, message: string): RemoteError {
  return new RemoteError(`${verb} ${path}: ${message.trim()}`, { code, kind: code < 500 ? "transient" : "path", phase: "operation" });
}

/** What a reply to MLST or STAT -a says of a file: its entry, not there, or ask another way. */
type Read = FileInfo | undefined | "ask-otherwise";

/**
 * MLST's reply (RFC 3659): the same facts as the MLSD listing. Undefined: not there. A server that
 * does not take MLST (500, 502, ...) is to be asked with a LIST line.
 */
function readMlst(path: string, res: Reply): Read {
  if (res.code === NOT_THERE) return undefined;
  if (res.code >= 500) return "ask-otherwise";
  if (res.code >= 300) throw refused("MLST", path, res.code, res.message);
  const facts = res.message.split(/\r?\n/).find((line) => line.startsWith(" "));
  const info = facts ? parseFactsLine(facts.trimStart()) : undefined;
  if (!info) throw new Error(`MLST ${path}: no facts in the reply`);
  return info;
}

/**
 * The file's line in a `STAT -a <path>` reply (a listing over the control connection, no data
 * connection; vsftpd answers it). Servers list a file path as its own line, named by its base
 * name or the path given; vsftpd takes `*` and `?` as a pattern, so only an exact name counts. A
 * reply that is no listing is to be asked with LIST.
 */
function readStatLine(path: string, res: Reply): Read {
  const lines = res.message.split("\n");
  if (!(res.code >= 211 && res.code <= 213 && lines.length >= 2 && /^21[123]-/.test(lines[0]))) return "ask-otherwise";
  const body = lines.slice(1, -1).map((l) => l.replace(/\r$/, ""));
  // Unix lines (vsftpd, pyftpdlib), or DOS ones (IIS-style servers list that way here too).
  const infos = body.map((l) => parseUnixLine(l) ?? parseDosLine(l)).filter((i): i is FileInfo => i !== undefined);
  // Lines none of which is a listing entry say nothing of the file: not "not there".
  if (infos.length === 0 && body.some((l) => l.trim() !== "")) return "ask-otherwise";
  return named(infos, path);
}

function named(infos: FileInfo[], path: string): FileInfo | undefined {
  const name = baseOf(path);
  return infos.find((i) => i.name === name || i.name === path);
}

/**
 * The file's line of a `LIST <path>`; on a server known to refuse LIST with a path
 * (folder-listing.ts), its line in the listing of its folder, entered with CWD.
 */
async function listLine(c: FtpsConnection, path: string, learning?: ListingLearning): Promise<FileInfo | undefined> {
  if (learning?.techniques.known[LIST_PATH] && !c.capabilities.mlsd) return lineInFolder(c, path);
  try {
    return named(parseListKeepingSplitNames(await c.client.list(path, c.listCommand)), path);
  } catch (err) {
    // Servers answer a LIST of a missing path with 550 (or 450); anything else stays an error.
    if (err instanceof ReplyError && err.code === NOT_THERE) return undefined;
    throw err;
  }
}

async function lineInFolder(c: FtpsConnection, path: string): Promise<FileInfo | undefined> {
  const slash = path.lastIndexOf("/");
  const folder = slash <= 0 ? "/" : path.slice(0, slash);
  let text: string;
  try {
    text = await listInside(c, folder);
  } catch (err) {
    if (err instanceof ReplyError && err.code === NOT_THERE) return undefined; // its folder is gone
    throw err;
  }
  return named(parseListKeepingSplitNames(text), path);
}

/**
 * The command that asks for one file the way the tree listing saw it: MLST on an MLSD server,
 * else STAT -a (a LIST line). Sent alone (statRemoteFile) or in a write with others (ops.ts).
 */
export function statCommand(c: FtpsConnection, path: string): string {
  return c.capabilities.mlsd ? `MLST ${path}` : `STAT -a ${path}`;
}

/**
 * The file at `path` from the reply to statCommand, asked again another way when that reply could
 * not say (MLST refused, no STAT listing): undefined when it is not there.
 */
export async function readStatReply(c: FtpsConnection, path: string, res: Reply, learning?: ListingLearning): Promise<RemoteFileNow | undefined> {
  let info = c.capabilities.mlsd ? readMlst(path, res) : readStatLine(path, res);
  if (info === "ask-otherwise" && c.capabilities.mlsd) info = readStatLine(path, await c.client.sendIgnoringError(`STAT -a ${path}`));
  if (info === "ask-otherwise") info = await listLine(c, path, learning);
  return info && toFileNow(info);
}

/**
 * The file at `path` as the server lists it now, or undefined when it is not there. Read the same
 * way as the tree listing (MLST on an MLSD server, a LIST line otherwise), so that what it says
 * compares exactly with what the listing said.
 */
export async function statRemoteFile(c: FtpsConnection, path: string, learning?: ListingLearning): Promise<RemoteFileNow | undefined> {
  return readStatReply(c, path, await c.client.sendIgnoringError(statCommand(c, path)), learning);
}
