import { isIP } from "node:net";
import { rootCertificates, type ConnectionOptions, TLSSocket } from "node:tls";
import type { RemoteConfig } from "../config/types.js";
import { RemoteError } from "../errors.js";
import { fingerprintOfPeer } from "./fingerprint.js";

/**
 * TLS options for the control connection and every data connection (engine/data.ts).
 * Without a pin: the chain is verified against the system store plus the remote's `ca`, and
 * the name against `host`. With a pin: only the pin counts (checked by `verifyPin`), so a
 * self-signed certificate or one for another name is accepted when, and only when, it matches.
 */
export function tlsOptionsFor(remote: Pick<RemoteConfig, "host" | "ca" | "fingerprint" | "maxTlsVersion">): ConnectionOptions {
  return {
    // `host` is also the identity under which the TLS session is cached and resumed by the data
    // connections (servers such as vsftpd with require_ssl_reuse refuse a fresh session).
    host: remote.host,
    servername: isIP(remote.host) ? undefined : remote.host,
    minVersion: "TLSv1.2",
    maxVersion: remote.maxTlsVersion === "1.2" ? "TLSv1.2" : "TLSv1.3",
    ca: caFor(remote),
    rejectUnauthorized: !remote.fingerprint,
  };
}

/**
 * With a pin the chain is not what decides (`rejectUnauthorized` is off and `verifyPin` checks the
 * certificate itself), so the context gets an empty trust store: left undefined, Node parses its
 * ~140 bundled root certificates for the first context of every run (about 30 ms per start here).
 */
function caFor(remote: Pick<RemoteConfig, "ca" | "fingerprint">): string[] | undefined {
  if (remote.fingerprint) return [];
  return remote.ca ? [...rootCertificates, remote.ca] : undefined;
}

export function pinMismatch(expected: string, got: string | undefined, what: string): RemoteError {
  return new RemoteError(
    `${what}: the server certificate's fingerprint ${got ?? "(none)"} does not match the pinned fingerprint ${expected}. ` +
      `If the server's certificate was replaced on purpose, check the new one out of band and update "fingerprint".`,
    { kind: "tls", phase: "connect" },
  );
}

/** Throws unless the socket's peer certificate matches the pin. */
export function verifyPin(socket: TLSSocket, expected: string, what: string): void {
  const got = fingerprintOfPeer(socket.getPeerCertificate());
  if (got !== expected) throw pinMismatch(expected, got, what);
}

/**
 * A data connection that resumed the control connection's TLS session is talking to the server
 * that holds that session's keys, which the pin already vouched for. One that negotiated a fresh
 * session presents a certificate, and with rejectUnauthorized off (pinning) nobody else checks
 * it: so check it here, before any byte of the transfer is read or written.
 */
export function guardDataSocket(socket: TLSSocket, expected: string): void {
  socket.once("secureConnect", () => {
    if (socket.isSessionReused()) return;
    try {
      verifyPin(socket, expected, "data connection");
    } catch (err) {
      socket.destroy(err as Error);
    }
  });
}
