import { ReplyError } from "./engine/reply-error.js";
import type { Reply } from "./engine/reply-parser.js";
import type { FtpsConnection } from "./connect.js";

import type { RemoteStamp } from "../remote/remote-folder.js";

export type { RemoteStamp };

/** "YYYYMMDDHHMMSS[.sss]" (RFC 3659 time-val, UTC) to epoch ms; undefined if malformed. */
export function parseTimeVal(text: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d{1,3})\d*)?$/.exec(text.trim());
  if (!m) return undefined;
  const ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6], m[7] ? Number(m[7].padEnd(3, "0")) : 0);
  return Number.isNaN(ms) ? undefined : ms;
}

/** An MDTM reply ("213 20261205143041") to epoch ms. */
export function parseMdtmReply(message: string): number | undefined {
  const m = /^213[ -](\S+)/.exec(message.trim().split(/\r?\n/).at(-1) ?? "");
  return m ? parseTimeVal(m[1]) : undefined;
}

/** The facts line of an MLST reply (" type=file;size=5;modify=...; /path") to size and time. */
export function parseMlstReply(message: string): RemoteStamp {
  const line = message.split(/\r?\n/).find((l) => l.startsWith(" ") && l.includes("="));
  if (!line) return {};
  const facts = new Map<string, string>();
  const factsText = line.trim().split(" ")[0] ?? "";
  for (const f of factsText.split(";")) {
    const eq = f.indexOf("=");
    if (eq > 0) facts.set(f.slice(0, eq).toLowerCase(), f.slice(eq + 1));
  }
  const size = facts.has("size") ? Number(facts.get("size")) : undefined;
  return {
    size: size !== undefined && Number.isSafeInteger(size) ? size : undefined,
    modifyMs: facts.has("modify") ? parseTimeVal(facts.get("modify")!) : undefined,
  };
}

/** MDTM: the exact modification time, or undefined when the server does not offer it. */
export async function remoteModifyTime(c: FtpsConnection, path: string): Promise<number | undefined> {
  if (!c.capabilities.mdtm) return undefined;
  const res = await c.client.send(`MDTM ${path}`);
  return parseMdtmReply(res.message);
}

/**
 * SIZE and MDTM in one write, one round trip; both replies are read before returning. A fact the
 * server refuses is left out; the file counts as missing (the 550 is thrown) only when both are
 * refused and one with 550.
 */
async function sizeAndTime(c: FtpsConnection, path: string): Promise<RemoteStamp> {
  const [size, mdtm] = await c.client.sendAll([`SIZE ${path}`, `MDTM ${path}`]);
  if (size.code >= 400 && mdtm.code >= 400) {
    const missing = size.code === 550 ? size : mdtm.code === 550 ? mdtm : undefined;
    if (missing) throw new ReplyError(missing);
    return {};
  }
  const n = size.code >= 400 ? NaN : parseInt(size.message.slice(4), 10);
  return { size: Number.isNaN(n) ? undefined : n, modifyMs: mdtm.code >= 400 ? undefined : parseMdtmReply(mdtm.message) };
}

/**
 * The commands that ask for a file's stamp in one write with others (behind a transfer, answered
 * once it is complete): MLST, or SIZE and MDTM. None when the server offers neither.
 */
export function stampCommands(c: FtpsConnection, path: string): string[] {
  if (c.capabilities.mlsd) return [`MLST ${path}`];
  if (c.capabilities.size && c.capabilities.mdtm) return [`SIZE ${path}`, `MDTM ${path}`];
  return [];
}

/**
 * The stamp in the replies to stampCommands; undefined unless it holds every fact asked (the
 * caller then asks with remoteStamp, which knows the fallbacks and what a refusal means).
 */
export function readStampReplies(replies: Reply[]): RemoteStamp | undefined {
  if (replies.length === 1 && replies[0].code >= 200 && replies[0].code < 300) {
    const stamp = parseMlstReply(replies[0].message);
    return stamp.size !== undefined && stamp.modifyMs !== undefined ? stamp : undefined;
  }
  if (replies.length === 2 && replies.every((r) => r.code === 213)) {
    const size = Number(replies[0].message.slice(4).trim());
    const modifyMs = parseMdtmReply(replies[1].message);
    return Number.isSafeInteger(size) && modifyMs !== undefined ? { size, modifyMs } : undefined;
  }
  return undefined;
}

/**
 * What the server says of one file now: MLST where offered (one reply with both facts), else
 * SIZE and MDTM. A missing file rejects with the server's 550.
 */
export async function remoteStamp(c: FtpsConnection, path: string): Promise<RemoteStamp> {
  const caps = c.capabilities;
  if (caps.mlsd) {
    const res = await c.client.sendIgnoringError(`MLST ${path}`);
    const stamp = res.code >= 200 && res.code < 300 ? parseMlstReply(res.message) : {};
    if (stamp.size !== undefined || stamp.modifyMs !== undefined) return stamp;
  }
  if (caps.size && caps.mdtm) return sizeAndTime(c, path);
  if (caps.size) return { size: await c.client.size(path) };
  return { modifyMs: await remoteModifyTime(c, path) };
}
