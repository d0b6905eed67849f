import { ReplyError } from "./engine/reply-error.js";
import type { Reply } from "./engine/reply-parser.js";
import { closeSync, createReadStream, openSync, readSync } from "node:fs";
import { Readable, type Transform, type Writable } from "node:stream";
import type { FtpsConnection } from "./connect.js";
import type { UploadBytes } from "./engine/client.js";
import { readStreamOf } from "../local/safe-open.js";
import { RemoteError } from "../errors.js";
import { RenameRefused } from "../remote/rename-refused.js";
import { tempNameFor } from "../local/temp-names.js";
import type { Downloaded, PlaceOptions, Placed, Uploaded } from "../remote/remote-folder.js";
import { parseMdtmReply, readStampReplies, stampCommands } from "./exact-times.js";
import { readStatReply, statCommand, statRemoteFile } from "./stat-file.js";
import type { ListingLearning } from "./folder-listing.js";
import { mfmtReplyTime } from "./server-clock.js";

/** FTP commands for one connection, with the quirks handled. */

function mdtmStamp(ms: number): string {
  const d = new Date(ms);
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${d.getUTCFullYear()}${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}`;
}

export async function remoteSize(c: FtpsConnection, path: string): Promise<number> {
  return c.client.size(path);
}

/** MFMT (RFC draft, offered by ProFTPD and Pure-FTPd): sets the remote modification time. */
export async function setRemoteMtime(c: FtpsConnection, path: string, ms: number): Promise<boolean> {
  if (!c.capabilities.mfmt) return false;
  const res = await c.client.sendIgnoringError(`MFMT ${mdtmStamp(ms)} ${path}`);
  return res.code >= 200 && res.code < 300;
}

/** RNTO refused after RNFR was accepted: the server would not rename onto an existing file. */
class RenameTargetRefused extends Error {
  constructor(readonly reply: ReplyError) {
    super(reply.message);
  }
}

/** RNFR and RNTO sent together: one round trip per renamed file instead of two. */
async function renamePipelined(c: FtpsConnection, from: string, to: string): Promise<void> {
  const [rnfr, rnto] = await sendAll(c, [`RNFR ${from}`, `RNTO ${to}`]);
  // After a refused RNFR, RNTO's reply is only "503 RNFR first": report the RNFR reply.
  if (rnfr.code >= 400) throw new ReplyError(rnfr);
  if (rnto.code >= 400) throw new RenameTargetRefused(new ReplyError(rnto));
}

/** Sends `commands` in one write and reads a reply to each (errors as replies; a closed connection rejects). */
function sendAll(c: FtpsConnection, commands: string[]): Promise<Reply[]> {
  return c.client.sendAll(commands);
}

const ok = (r: { code: number }) => r.code >= 200 && r.code < 400;

/**
 * Renames `from` onto `to`. Servers differ on renaming onto an existing file (ProFTPD without
 * AllowOverwrite, Pure-FTPd refuse it). When RNTO alone is refused, the old file is first renamed
 * aside (a temporary name beside it) and the new one renamed into place, in one write; only once
 * the new one is in place (and, with `expectedSize`, its size checked) is the aside copy deleted.
 * If the new one cannot be put in place, the aside copy is renamed back: the old file is never
 * removed before its replacement is there. A refused RNFR (the source is missing) never touches
 * the target. Returns the aside copy's path if it could not be deleted (a temporary name, which
 * scans and listings skip).
 */
export async function renameOver(c: FtpsConnection, from: string, to: string, expectedSize?: number, refusedAlready?: ReplyError): Promise<string | undefined> {
  let refused: ReplyError;
  try {
    // RNTO already refused by the caller's own RNFR and RNTO (placeFile): not asked again.
    if (refusedAlready) throw new RenameTargetRefused(refusedAlready);
    await renamePipelined(c, from, to);
    return undefined;
  } catch (err) {
    if (!(err instanceof RenameTargetRefused)) throw err;
    if (err.reply.code < 500) throw err.reply;
    refused = err.reply;
  }
  // Only a file is moved aside: RNTO onto a folder is refused by every server, and a folder moved
  // aside under a temporary name would vanish from listings with all it holds (a partner may have
  // made one of that name since the listing). SIZE answers 213 for a file only; a server that does
  // not know SIZE (500/502) cannot tell, and is taken at its word as before.
  const target = await c.client.sendIgnoringError(`SIZE ${to}`);
  if (target.code !== 213 && target.code !== 500 && target.code !== 502) {
    throw new RenameRefused(to, { code: refused.code, message: `${refused.message.trim()} (${to} is not a file: ${target.code} to SIZE)` });
  }
  const slash = to.lastIndexOf("/");
  const aside = to.slice(0, slash + 1) + tempNameFor(to.slice(slash + 1));
  const steps = [`RNFR ${to}`, `RNTO ${aside}`, `RNFR ${from}`, `RNTO ${to}`];
  if (expectedSize !== undefined) steps.push(`SIZE ${to}`);
  // If the old file cannot be moved aside, the second rename is refused like the first (the
  // target is still there); if the server takes it anyway, it replaced the file as asked.
  const [, movedAside, , placed, size] = await sendAll(c, steps);
  if (!ok(placed)) {
    if (!ok(movedAside)) throw new RenameRefused(to, refused);
    const back = await sendAll(c, [`RNFR ${aside}`, `RNTO ${to}`]);
    throw new RenameRefused(to, placed, ok(back[1]) ? undefined : aside);
  }
  if (size && size.code === 213 && Number(size.message.trim().split(/\s+/).at(-1)) !== expectedSize) {
    // In place by the server's word but not what was sent: put both back rather than lose the old one.
    const undo = ok(movedAside) ? [`RNFR ${to}`, `RNTO ${from}`, `RNFR ${aside}`, `RNTO ${to}`] : [];
    const r = undo.length ? await sendAll(c, undo) : [];
    throw new RenameRefused(to, { code: size.code, message: `${size.message.trim()} after the rename, expected ${expectedSize}` }, undo.length && !ok(r[3]) ? aside : undefined);
  }
  if (!ok(movedAside)) return undefined;
  const removed = await c.client.sendIgnoringError(`DELE ${aside}`);
  return ok(removed) ? undefined : aside;
}

/**
 * Puts an uploaded temporary file in place in one write: MFMT on the temporary name (where the
 * server has it), RNFR and RNTO, and, when there is no MFMT, the file's listing line or facts
 * (statCommand), each read from its own reply. None depends on another's success: a refused MFMT
 * leaves the server's time (read back afterwards), and the listing of a target the rename did not
 * reach is not used. A rename refused because the target exists goes the long way (renameOver).
 */
export async function placeFile(c: FtpsConnection, temp: string, target: string, opts: PlaceOptions, learning?: ListingLearning): Promise<Placed & { mfmtReplyMs?: number }> {
  const mfmt = opts.mtimeMs !== undefined && c.capabilities.mfmt;
  const commands = [`RNFR ${temp}`, `RNTO ${target}`];
  if (mfmt) commands.unshift(`MFMT ${mdtmStamp(opts.mtimeMs!)} ${temp}`);
  else commands.push(statCommand(c, target));
  const replies = await c.client.sendAll(commands);
  const mtimeSet = mfmt && replies[0].code >= 200 && replies[0].code < 300;
  const [rnfr, rnto, stat] = mfmt ? replies.slice(1) : replies;
  if (rnfr.code >= 400) throw new ReplyError(rnfr);
  let leftover: string | undefined;
  let statReply: Reply | undefined = stat;
  if (rnto.code >= 400) {
    leftover = await renameOver(c, temp, target, opts.expectedSize, new ReplyError(rnto));
    statReply = undefined;
  }
  // The time MFMT's reply shows, for the caller to compare with what was sent (server-clock.ts).
  if (mtimeSet) return { mtimeSet, leftover, mfmtReplyMs: mfmtReplyTime(replies[0].message) };
  const listed = await (statReply ? readStatReply(c, target, statReply, learning) : statRemoteFile(c, target, learning)).catch(() => undefined);
  return { mtimeSet, leftover, listed };
}

/** MKD that tolerates "already exists" (checked with CWD, since servers word it differently). */
export async function ensureRemoteDir(c: FtpsConnection, path: string): Promise<void> {
  const res = await c.client.sendIgnoringError("MKD " + path);
  if (res.code >= 200 && res.code < 300) return;
  const cwd = await c.client.sendIgnoringError("CWD " + path);
  if (cwd.code >= 200 && cwd.code < 300) return;
  throw new ReplyError(res);
}

export async function removeRemoteFile(c: FtpsConnection, path: string): Promise<void> {
  await c.client.send("DELE " + path);
}

export async function removeRemoteDir(c: FtpsConnection, path: string): Promise<void> {
  await c.client.send("RMD " + path);
}

/**
 * An empty upload whose end comes a moment later. Closing a TLS data connection the instant its
 * handshake completes makes vsftpd 3.0.3 abort the whole session ("500 OOPS" in plaintext on the
 * control connection); a 50 ms pause lets the server finish its side of the handshake first.
 */
export function emptyUploadSource(): Readable {
  return new Readable({
    read() {
      setTimeout(() => this.push(null), 50);
    },
  });
}

export interface StreamOptions {
  /** The source has no bytes (see emptyUploadSource). */
  empty?: boolean;
  /** Upload: the source's size when the transfer began. */
  size?: number;
  startAt?: number;
  /** Upload: APPE (after what the file holds) rather than STOR; by default when `startAt` > 0. */
  append?: boolean;
  throttle?: () => Transform;
}

/**
 * STOR (or APPE) from a stream, with SIZE asked in the same write where the server has it: its
 * reply comes once the transfer is complete, and saves the round trip of asking after.
 */
export async function uploadStream(c: FtpsConnection, source: UploadBytes, remotePath: string, append: boolean): Promise<Uploaded> {
  const { after } = await c.client.uploadThen(source, remotePath, append, c.capabilities.size ? [`SIZE ${remotePath}`] : []);
  if (after.length === 0) return {};
  const size = await after[0];
  const n = size.code === 213 ? Number(size.message.slice(4).trim()) : NaN;
  return Number.isSafeInteger(n) ? { sizeAfter: n } : {};
}

/**
 * RETR (REST `startAt`) into `sink`, with the file's stamp asked in the same write (stampCommands):
 * answered once the last byte has been sent, it is the stamp after the transfer. With
 * `onTimeBefore`, MDTM goes first in that write, answered before the transfer starts.
 */
export async function downloadStream(c: FtpsConnection, sink: Writable, remotePath: string, startAt: number, onTimeBefore?: (ms: number | undefined) => void): Promise<Downloaded> {
  const first = onTimeBefore && c.capabilities.mdtm ? [`MDTM ${remotePath}`] : [];
  if (onTimeBefore && first.length === 0) onTimeBefore(undefined);
  const { after } = await c.client.downloadThen(sink, remotePath, startAt, stampCommands(c, remotePath), first, (replies) =>
    onTimeBefore?.(replies[0].code === 213 ? parseMdtmReply(replies[0].message) : undefined),
  );
  if (after.length === 0) return {};
  const stampAfter = readStampReplies(await Promise.all(after));
  return stampAfter ? { stampAfter } : {};
}

/** Files up to this size are read in one synchronous call: a read stream costs four thread-pool round trips. */
const SMALL_FILE = 64 * 1024;

/** At most `max` bytes from the start of a file (fewer if it shrank meanwhile); a descriptor stays open. */
function readPrefixSync(file: string | number, max: number): Buffer {
  const fd = typeof file === "number" ? file : openSync(file, "r");
  try {
    const buf = Buffer.allocUnsafe(max);
    let got = 0;
    for (let n = 1; got < max && n > 0; got += n) n = readSync(fd, buf, got, max - got, got);
    return buf.subarray(0, got);
  } finally {
    if (fd !== file) closeSync(fd);
  }
}

/**
 * STOR (or APPE to resume) from a local file: a path, or a descriptor already opened and checked
 * (read at explicit offsets and left open, so a retry can read it again). Its two read buffers
 * (or the read stream's, behind a throttle) are the only ones: memory stays flat.
 */
export async function uploadFile(c: FtpsConnection, local: string | number, remotePath: string, opts: StreamOptions = {}): Promise<Uploaded> {
  // Read no further than the size the file had when the transfer was planned: a file that grows
  // meanwhile is caught by the caller's stat-after-transfer check, not sent half-updated.
  const end = opts.size !== undefined && opts.size > 0 ? opts.size - 1 : undefined;
  const small = end !== undefined && end < SMALL_FILE && !opts.startAt && !opts.empty;
  // A small file with nothing in its way goes as its bytes (no stream: see FtpClient.upload).
  if (small && !opts.throttle) return uploadStream(c, readPrefixSync(local, end + 1), remotePath, !!opts.append);
  // An open file with nothing in its way goes straight from the descriptor (see sendFileRange).
  const append = !!(opts.append ?? (opts.startAt && opts.startAt > 0));
  if (typeof local === "number" && !small && !opts.throttle && !opts.empty) {
    return uploadStream(c, { fd: local, start: opts.startAt ?? 0, end: end === undefined ? undefined : end + 1 }, remotePath, append);
  }
  let source: Readable = small
    ? Readable.from([readPrefixSync(local, end + 1)])
    : typeof local === "number"
      ? readStreamOf(local, { start: opts.startAt ?? 0, end, highWaterMark: 1024 * 1024 })
      : createReadStream(local, { start: opts.startAt ?? 0, end, highWaterMark: 1024 * 1024 });
  if (opts.empty) source = emptyUploadSource();
  const file = source;
  if (opts.throttle) source = source.pipe(opts.throttle());
  try {
    return await uploadStream(c, source, remotePath, append);
  } finally {
    // A cut transfer leaves the source streams paused, not closed: close them (file handle, throttle timers).
    source.destroy();
    file.destroy();
  }
}
