import { ReplyError } from "./engine/reply-error.js";
import type { FtpsConnection } from "./connect.js";

/**
 * The server's checksum of a file, by the best command it offers: the draft `HASH` command
 * (draft-bryan-ftpext-hash), or the older non-standard `XSHA256`, `XSHA512`, `XSHA1`/`XSHA` and
 * `XMD5` (Serv-U, ProFTPD's mod_digest and others). One home for the choice, so that the check
 * after a transfer (verify: "hash") and the two-way content comparison agree.
 *
 * A server's reply is hostile text: only a hex string of exactly the algorithm's length is
 * taken, anything else is "no answer" (undefined), never a guess.
 */

import type { HashAlgorithm, HashMethod, ServerHash } from "../remote/remote-folder.js";
import { chooseHashMethod, hexLength } from "../remote/hash-methods.js";

export type { HashAlgorithm, HashMethod, ServerHash };
export { chooseHashMethod };

/** "HASH SHA-256" or "XSHA256 (SHA-256)", for messages. */
export function describeHashMethod(m: HashMethod): string {
  return m.command === "HASH" ? `HASH ${m.algorithm}` : `${m.command} (${m.algorithm})`;
}

const isHex = (s: string, length: number) => s.length === length && /^[0-9a-fA-F]+$/.test(s);

/** The last line of a (possibly multi-line) reply, e.g. ProFTPD's "213-Computing ..." first. */
function lastLine(message: string): string {
  return message.trim().split(/\r?\n/).at(-1)?.trim() ?? "";
}

/**
 * HASH's reply: "213 <algorithm> <start>-<end> <hex> <path>". The hex must be of the algorithm
 * asked for, and cover the file from its start.
 */
export function parseHashReply(message: string, algorithm: HashAlgorithm): string | undefined {
  const m = /^213\s+(\S+)\s+(\d+)-(\d+)\s+(\S+)/.exec(lastLine(message));
  if (!m || m[1].toUpperCase() !== algorithm || m[2] !== "0" || !isHex(m[4], hexLength(algorithm))) return undefined;
  return m[4].toLowerCase();
}

/**
 * An X-command's reply: "250 <hex>" or "213 <hex>", some servers adding the file name (before or
 * after) or the algorithm's name. The first word of the right length that is all hex and is not
 * the file's own name is the hash.
 */
export function parseXHashReply(message: string, algorithm: HashAlgorithm, path: string): string | undefined {
  const line = lastLine(message);
  if (!/^2\d\d[ -]/.test(line)) return undefined;
  const name = path.slice(path.lastIndexOf("/") + 1);
  const words = line
    .slice(4)
    .split(/\s+/)
    .map((w) => w.replace(/^"|"$/g, ""));
  const hex = words.find((w) => isHex(w, hexLength(algorithm)) && w !== name && w !== path);
  return hex?.toLowerCase();
}

/**
 * The argument for an X-command. Servers split its arguments on spaces (ProFTPD's mod_digest
 * reads "XSHA256 /a 0 10" as bytes 0 to 10 of /a), so a path with white space is quoted, which
 * mod_digest and Serv-U accept; a server that does not answers 550, taken as no answer. A path
 * that holds a quote too cannot be sent unambiguously: not asked.
 */
function xCommandArgument(path: string): string | undefined {
  if (!/\s/.test(path)) return path;
  if (path.includes('"')) return undefined;
  return `"${path}"`;
}

/**
 * Asks the server for `path`'s hash with `method` (by default the best this connection offers).
 * Undefined when it cannot say: nothing offered, a refusal (5xx: not a file it will hash, too big,
 * not allowed), or a reply that holds no hash of the right form. A 4xx (busy) is thrown, for the
 * caller's retry.
 */
export async function serverHash(c: FtpsConnection, path: string, method = chooseHashMethod(c.capabilities)): Promise<ServerHash | undefined> {
  if (!method) return undefined;
  const ask = async (command: string) => {
    const res = await c.client.sendIgnoringError(command);
    if (res.code >= 400 && res.code < 500) throw new ReplyError(res);
    return res.code >= 200 && res.code < 300 ? res.message : undefined;
  };
  let hex: string | undefined;
  if (method.command === "HASH") {
    if (!c.capabilities.hash.includes(method.algorithm)) return undefined;
    if ((await ask(`OPTS HASH ${method.algorithm}`)) === undefined) return undefined;
    const reply = await ask(`HASH ${path}`);
    hex = reply === undefined ? undefined : parseHashReply(reply, method.algorithm);
  } else {
    if (!c.capabilities.hashCommands.includes(method.command)) return undefined;
    const arg = xCommandArgument(path);
    if (arg === undefined) return undefined;
    const reply = await ask(`${method.command} ${arg}`);
    hex = reply === undefined ? undefined : parseXHashReply(reply, method.algorithm, path);
  }
  return hex === undefined ? undefined : { algorithm: method.algorithm, hex, command: method.command };
}
