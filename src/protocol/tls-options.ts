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
export function tlsOptionsFor(remote: Pick<RemoteConfig, "host" | "ca" | "fingerprint" | "maxTlsVersion" | "clientCert" | "clientKey">): ConnectionOptions {
  return {
    ...clientCertificateOf(remote),
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
 * Mutual TLS: the client certificate and its key (decrypted when the config was loaded), offered
 * on the control connection and on every data connection, when the remote has them.
 */
function clientCertificateOf(remote: Pick<RemoteConfig, "clientCert" | "clientKey">): Pick<ConnectionOptions, "cert" | "key"> {
  return remote.clientCert && remote.clientKey ? { cert: remote.clientCert, key: remote.clientKey.reveal() } : {};
}

/** What the shared TLS context of a remote's connections is made of (see connect.ts). */
export function contextOptionsOf(options: ConnectionOptions): ConnectionOptions {
  return { ca: options.ca, minVersion: options.minVersion, maxVersion: options.maxVersion, cert: options.cert, key: options.key };
}

/**
 * A TLS failure that says the server wanted a client certificate, or did not accept the one given:
 * the message an operator needs ("set clientCert and clientKey"), or undefined for any other failure.
 */
export function clientCertificateProblem(remote: Pick<RemoteConfig, "clientCert">, err: unknown): string | undefined {
  const text = `${(err as { code?: unknown }).code ?? ""} ${(err as Error | undefined)?.message ?? ""}`;
  // TLS 1.3 names it (alert 116); TLS 1.2 servers send a bare handshake failure (alert 40).
  if (/CERTIFICATE_REQUIRED|certificate required/i.test(text)) {
    return remote.clientCert
      ? "the server asked for a client certificate and did not take the one given (clientCert)"
      : 'the server requires a client certificate (mutual TLS): set "clientCert" and "clientKey" for this remote';
  }
  if (!remote.clientCert && /HANDSHAKE_FAILURE|handshake failure/i.test(text)) {
    return 'the server ended the TLS handshake (handshake failure): if it requires a client certificate (mutual TLS), set "clientCert" and "clientKey" for this remote';
  }
  if (remote.clientCert && /UNKNOWN_CA|BAD_CERTIFICATE|CERTIFICATE_UNKNOWN|unknown ca|bad certificate|certificate unknown/i.test(text)) {
    return "the server refused the client certificate (clientCert): it is not signed by a CA the server trusts, or not one it accepts";
  }
  return undefined;
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
