import { ReplyError } from "./engine/reply-error.js";
import { parseListKeepingSplitNames } from "./listing-lines.js";
import { RemoteError } from "../errors.js";
import { parseMlsdLine as parseFactsLine, parseUnixLine, type ListEntry as FileInfo } from "./listing-parse.js";
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

/**
 * MLST (RFC 3659): one control-connection round trip, the same facts as the MLSD listing.
 * Undefined: not there. A server that does not take MLST (500, 502, ...) is asked with a LIST line.
 */
async function mlst(c: FtpsConnection, path: string): Promise<FileInfo | undefined | "refused"> {
  const res = await c.client.sendIgnoringError(`MLST ${path}`);
  if (res.code === NOT_THERE) return undefined;
  if (res.code >= 500) return "refused";
  if (res.code >= 300) throw refused("MLST", path, res.code, res.message);
  const facts = res.message.split(/\r?\n/).find((line) => line.startsWith(" "));
  const info = facts ? parseFactsLine(facts.trimStart()) : undefined;
  if (!info) throw new Error(`MLST ${path}: no facts in the reply`);
  return info;
}

/**
 * The file's line of a LIST-style listing: `STAT -a <path>` over the control connection (no data
 * connection; vsftpd answers it), else `LIST <path>`. Servers list a file path as its own line,
 * named by its base name or the path given; vsftpd takes `*` and `?` as a pattern, so only an
 * exact name counts.
 */
async function listLine(c: FtpsConnection, path: string): Promise<FileInfo | undefined> {
  const name = baseOf(path);
  const named = (infos: FileInfo[]) => infos.find((i) => i.name === name || i.name === path);
  const res = await c.client.sendIgnoringError(`STAT -a ${path}`);
  const lines = res.message.split("\n");
  if (res.code >= 211 && res.code <= 213 && lines.length >= 2 && /^21[123]-/.test(lines[0])) {
    const infos = lines.slice(1, -1).map((l) => parseUnixLine(l.replace(/\r$/, ""))).filter((i): i is FileInfo => i !== undefined);
    return named(infos);
  }
  try {
    return named(parseListKeepingSplitNames(await c.client.list(path, c.listCommand)));
  } catch (err) {
    // Servers answer a LIST of a missing path with 550 (or 450); anything else stays an error.
    if (err instanceof ReplyError && err.code === NOT_THERE) return undefined;
    throw err;
  }
}

/**
 * The file at `path` as the server lists it now, or undefined when it is not there. Read the same
 * way as the tree listing (MLST on an MLSD server, a LIST line otherwise), so that what it says
 * compares exactly with what the listing said.
 */
export async function statRemoteFile(c: FtpsConnection, path: string): Promise<RemoteFileNow | undefined> {
  let info = c.capabilities.mlsd ? await mlst(c, path) : await listLine(c, path);
  if (info === "refused") info = await listLine(c, path);
  return info && toFileNow(info);
}
