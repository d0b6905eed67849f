import { isIP } from "node:net";
import { connect as tlsConnect } from "node:tls";
import type { ProxyConfig } from "../config/types.js";
import { dial } from "./engine/dial.js";

/**
 * Telling the two FTPS modes apart from the bytes, for a configuration that names the wrong one:
 * an explicit FTPS port greets in plain text first ("220 ..."), an implicit one says nothing and
 * waits for a TLS ClientHello. Both probes send no secret: a plain connection that only reads, or
 * a TLS handshake that is closed as soon as it is done.
 */
export type PortSpeaks = "plain-ftp" | "tls";

/** How long the explicit path waits for a greeting before it asks whether the port speaks TLS. */
export const GREETING_GRACE_MS = 3000;
/** The longest a probe may take. */
export const PROBE_MS = 5000;

/** A TLS record's header: content type 20..23 (handshake 22, alert 21), then major version 3. */
export function looksLikeTlsRecord(bytes: Buffer): boolean {
  return bytes.length >= 2 && bytes[0] >= 0x14 && bytes[0] <= 0x17 && bytes[1] === 0x03;
}

/** An FTP reply's start: three digits, then a space or a hyphen. */
export function looksLikeFtpReply(bytes: Buffer): boolean {
  return /^[1-5]\d\d[ -]/.test(bytes.subarray(0, 4).toString("latin1"));
}

/**
 * A handshake failure that means the server's first bytes were not TLS (OpenSSL read a plain
 * greeting as a record), or that it cut the connection during the handshake.
 */
export function isNotTlsFailure(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return (
    code === "ERR_SSL_WRONG_VERSION_NUMBER" ||
    code === "ERR_SSL_PACKET_LENGTH_TOO_LONG" ||
    code === "ERR_SSL_UNEXPECTED_EOF_WHILE_READING" ||
    code === "ERR_SSL_RECORD_LAYER_FAILURE" ||
    code === "ECONNRESET"
  );
}

/**
 * Opens a plain connection and reads what the port says first, within `ms`: "plain-ftp" for an
 * FTP reply, "tls" for a TLS record, undefined for silence, a close or anything else.
 */
export function probePlainGreeting(host: string, port: number, ms = PROBE_MS, proxy?: ProxyConfig): Promise<PortSpeaks | undefined> {
  return new Promise((resolve) => {
    const socket = dial({ host, port }, ms, proxy);
    let seen = Buffer.alloc(0);
    const done = (speaks: PortSpeaks | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(speaks);
    };
    const timer = setTimeout(() => done(undefined), ms);
    socket.on("data", (chunk: Buffer) => {
      seen = Buffer.concat([seen, chunk]);
      if (seen.length < 4) return;
      done(looksLikeFtpReply(seen) ? "plain-ftp" : looksLikeTlsRecord(seen) ? "tls" : undefined);
    });
    socket.on("error", () => done(undefined));
    socket.on("close", () => done(undefined));
  });
}

/**
 * Whether the port completes a TLS handshake at once (implicit FTPS), within `ms`. Nothing is
 * trusted or sent over it: the certificate is not checked here (the real connection checks it),
 * and the connection is closed as soon as the handshake is done. A TLS alert from the server
 * (a version or cipher it refuses) also proves that it speaks TLS.
 */
export function probeTlsHandshake(host: string, port: number, ms = PROBE_MS, proxy?: ProxyConfig): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tlsConnect({
      host,
      port,
      servername: isIP(host) ? undefined : host,
      rejectUnauthorized: false,
      // Through the remote's proxy, like every connection to it.
      ...(proxy && { socket: dial({ host, port }, ms, proxy) }),
    });
    const done = (tls: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(tls);
    };
    const timer = setTimeout(() => done(false), ms);
    socket.once("secureConnect", () => done(true));
    socket.on("error", (err: { code?: unknown }) => done(typeof err.code === "string" && /^ERR_SSL_.*ALERT/.test(err.code)));
    socket.on("close", () => done(false));
  });
}

const tlsRecordsAtGreeting = new WeakSet<Error>();

/** A plain control connection whose first bytes were a TLS record: the port speaks TLS from the first byte. */
export function tlsRecordAtGreetingError(): Error {
  const err = new Error("the server sent a TLS record where a plain FTP greeting was expected");
  tlsRecordsAtGreeting.add(err);
  return err;
}

export function isTlsRecordAtGreeting(err: unknown): boolean {
  return err instanceof Error && tlsRecordsAtGreeting.has(err);
}
