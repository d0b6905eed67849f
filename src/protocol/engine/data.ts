import type { Socket } from "node:net";
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
