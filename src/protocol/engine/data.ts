import { read } from "node:fs";
import type { Socket } from "node:net";
import { finished, type Writable } from "node:stream";
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from "node:tls";
import { addressKind, isLoopbackAddress, type AddressKind } from "./addresses.js";
import type { ControlConnection } from "./control.js";
import { dial } from "./dial.js";
import { faultError, timeoutError } from "./faults.js";

/** How data connections are secured; one per remote, shared by its connections. */
export interface DataTls {
  options: ConnectionOptions;
  /** Called with each data socket before its handshake completes (pin check, key info skip). */
  guard?: (socket: TLSSocket) => void;
  /** The session to resume, trimmed (see session-trim.ts). */
  trim?: (session: Buffer) => Buffer;
}

/** The port of a 229 reply: "Entering Extended Passive Mode (|||6446|)". */
export function parseEpsvReply(message: string): number | undefined {
  const m = /\((.)\1\1(\d+)\1\)/.exec(message);
  const port = m ? Number(m[2]) : NaN;
  return port > 0 && port < 65536 ? port : undefined;
}

/** Host and port of a 227 reply: "Entering Passive Mode (h1,h2,h3,h4,p1,p2)". */
export function parsePasvReply(message: string): { host: string; port: number } | undefined {
  // Whole numbers only: "1127,0,0,1,..." is not 127.0.0.1 read from its last digits.
  const m = /(?<!\d)(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3})(?!\d)/.exec(message);
  if (!m) return undefined;
  const n = m.slice(1).map(Number);
  if (n.some((x) => x > 255)) return undefined;
  const port = n[4] * 256 + n[5];
  return port > 0 ? { host: n.slice(0, 4).join("."), port } : undefined;
}

/** The control connection's peer address, without the IPv4-mapped prefix. */
export function controlHost(control: ControlConnection): string {
  const address = control.remoteAddress;
  if (!address) throw faultError("closed", "the control connection is closed");
  return address.replace(/^::ffff:/i, "");
}

/** Where a PASV reply sends the data connection, and the address it named when that is not used. */
export interface PasvTarget {
  host: string;
  port: number;
  /** The reply named another address than the control host's (not used), and what kind it is. */
  ignored?: { named: string; kind: AddressKind };
}

/**
 * Where a PASV reply may send the data connection: the control connection's host only, whatever
 * address the reply names. A server behind NAT names its private address (10.x, 192.168.x), one
 * that is misconfigured an unroutable one; a hostile one may name a foreign host (FTP bounce). None
 * of those is connected to: the port is taken, the address is not (as curl and lftp do). Any
 * loopback address stands for a loopback control host without a word.
 */
export function pasvTarget(control: ControlConnection, named: { host: string; port: number }): PasvTarget {
  const host = controlHost(control);
  if (named.host === host || (isLoopbackAddress(host) && isLoopbackAddress(named.host))) return { host, port: named.port };
  return { host, port: named.port, ignored: { named: named.host, kind: addressKind(named.host) } };
}

const KIND_WORDS: Record<AddressKind, string> = {
  private: "a private address (a server behind NAT)",
  unroutable: "an unroutable address",
  loopback: "a loopback address",
  public: "another host than the one connected to",
};

/** Why PASV's address is not used, for the log and the server's capability profile. */
export function describeIgnoredPasvAddress(target: PasvTarget): string | undefined {
  if (!target.ignored) return undefined;
  return `PASV replies name ${target.ignored.named}, ${KIND_WORDS[target.ignored.kind]}: data connections go to the control connection's host (${target.host}) instead, never to another host`;
}

/** The session a data connection offers: the latest the server gave, trimmed (see DataTls.trim). */
export function sessionToResume(control: ControlConnection, tls: DataTls): Buffer | undefined {
  const latest = control.session ?? control.tlsSocket?.getSession();
  return latest && tls.trim ? tls.trim(latest) : latest;
}

/**
 * Opens an encrypted data connection to `host:port` (see dial.ts), resuming the control connection's TLS session
 * (servers such as vsftpd with require_ssl_reuse refuse a fresh one, and it saves a full
 * handshake). Inactivity for `timeoutMs` destroys it with a timeout: while it opens, or while no
 * byte moves (a socket paused because its reader is slow is not stalled).
 */
export function openDataSocket(control: ControlConnection, host: string, port: number, tls: DataTls): TLSSocket {
  // Through the control connection's proxy, when it has one.
  const raw = dial({ host, port }, control.timeoutMs, control.proxy);
  return secureDataSocket(control, raw, tls);
}

/**
 * TLS over a data connection's socket, as its client (RFC 4217, in active mode too: the server
 * connected, yet it is the TLS server), with the guards and the deadline openDataSocket describes.
 */
export function secureDataSocket(control: ControlConnection, raw: Socket, tls: DataTls): TLSSocket {
  const socket = tlsConnect({ ...tls.options, socket: raw, session: sessionToResume(control, tls) });
  socket.on("session", (s: Buffer) => {
    control.session = s;
  });
  tls.guard?.(socket);
  let open = false;
  socket.once("secureConnect", () => (open = true));
  socket.setTimeout(control.timeoutMs);
  socket.on("timeout", () => {
    if (open && socket.isPaused()) return;
    socket.destroy(timeoutError(open ? "on the data connection: no byte moved" : "opening the data connection", control.timeoutMs));
  });
  return socket;
}

/** Bytes `start` to `end` (exclusive; to the end of the file when undefined) of an open file. */
export interface FileRange {
  fd: number;
  start: number;
  end?: number;
}

/** What sendFileRange reads at a time: two buffers of this size serve a whole transfer. */
const FILE_CHUNK = 1024 * 1024;

/**
 * Writes `range` of a file into the data connection and ends it; `done` once the end has been sent
 * (or with the socket's or the read's error). A file that is shorter than the range ends early (the
 * caller's size check says so). Two buffers take turns for the whole file, each read again only
 * once the socket's callback says its bytes were taken: a read stream allocates a new buffer for
 * every chunk, each page of which the kernel faults in and zeroes before the read fills it, and
 * whose memory the garbage collector then tracks.
 */
export function sendFileRange(socket: Writable, range: FileRange, done: (err?: Error | null) => void, chunk = FILE_CHUNK): void {
  const end = range.end ?? Infinity;
  const buffers = [Buffer.allocUnsafeSlow(chunk), Buffer.allocUnsafeSlow(chunk)];
  const writing = [false, false];
  let position = range.start;
  let turn = 0;
  let reading = false;
  let atEnd = position >= end;
  let over = false;
  const finish = (err?: Error | null) => {
    if (over) return;
    over = true;
    done(err);
  };
  // Called back once the end was sent, or at once with the socket's failure (a cut, a reset).
  finished(socket, { readable: false }, finish);
  const next = () => {
    if (over || reading || socket.destroyed) return;
    if (atEnd) {
      if (!writing[0] && !writing[1] && !socket.writableEnded) socket.end();
      return;
    }
    const slot = turn;
    if (writing[slot]) return; // read again once its bytes were taken
    reading = true;
    read(range.fd, buffers[slot], 0, Math.min(chunk, end - position), position, (err, n) => {
      reading = false;
      if (over) return;
      if (err) {
        socket.destroy();
        return finish(err);
      }
      if (socket.destroyed) return; // finished() reports why
      if (n === 0) atEnd = true;
      else {
        position += n;
        atEnd = position >= end;
        writing[slot] = true;
        turn = 1 - slot;
        socket.write(buffers[slot].subarray(0, n), (writeErr) => {
          writing[slot] = false;
          if (!writeErr) next();
        });
      }
      next();
    });
  };
  next();
}
