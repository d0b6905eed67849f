import { isIP } from "node:net";
import { RemoteError } from "../errors.js";
import { classify } from "./classify.js";
import { ControlConnection } from "./engine/control.js";
import { faultError } from "./engine/faults.js";
import { ReplyError } from "./engine/reply-error.js";
import { fingerprintOfPeer } from "./fingerprint.js";
import { hostPort } from "./host-port.js";
import type { ProxyConfig } from "../config/types.js";

/** How a configured remote is reached: through its proxy, with its client certificate (mutual TLS). */
export interface ReachOptions {
  proxy?: ProxyConfig;
  cert?: string;
  key?: string;
}

export interface ServerCertificate {
  fingerprint: string;
  subject: string;
  issuer: string;
  altNames?: string;
  validFrom: string;
  validTo: string;
  /** Whether the chain verifies (and the name matches) against the system trust store, or `ca` when given. */
  trustedBySystem: boolean;
  protocol: string;
}

/**
 * First contact, like ssh-keyscan: complete a TLS handshake without trusting the certificate,
 * read it, and leave. No user name or password is sent. Each step (connect and greeting, AUTH TLS
 * and the handshake) has `timeoutMs`.
 */
export async function fetchServerCertificate(
  host: string,
  port: number,
  implicit: boolean,
  timeoutMs = 15000,
  ca?: string[],
  reach: ReachOptions = {},
): Promise<ServerCertificate> {
  const options = {
    host,
    servername: isIP(host) ? undefined : host,
    rejectUnauthorized: false,
    minVersion: "TLSv1.2" as const,
    ...(ca !== undefined && { ca }),
    ...(reach.cert && reach.key && { cert: reach.cert, key: reach.key }),
  };
  const { control, greeting } = ControlConnection.open(host, port, timeoutMs, implicit ? options : undefined, reach.proxy);
  try {
    control.step = implicit ? "waiting for the TLS handshake and the server's greeting" : "waiting for the connection and the server's greeting";
    const hello = await greeting;
    if (hello.code >= 400) throw new ReplyError(hello);
    if (!implicit) {
      control.step = "waiting for the reply to AUTH TLS and the TLS handshake";
      const auth = await control.request("AUTH TLS");
      if (auth.code !== 234) throw new ReplyError(auth.code >= 400 ? auth : { code: 534, message: auth.message });
      await control.upgrade(options);
    }
    const socket = control.tlsSocket;
    if (!socket) throw faultError("protocol", "no TLS connection");
    const cert = socket.getPeerCertificate();
    const fingerprint = fingerprintOfPeer(cert);
    if (!fingerprint) throw new Error("the server presented no certificate");
    const name = (o: object | undefined) => (o ? Object.entries(o).map(([k, v]) => `${k}=${v}`).join(", ") : "");
    return {
      fingerprint,
      subject: name(cert.subject),
      issuer: name(cert.issuer),
      altNames: cert.subjectaltname,
      validFrom: cert.valid_from,
      validTo: cert.valid_to,
      trustedBySystem: socket.authorized,
      protocol: socket.getProtocol() ?? "unknown",
    };
  } catch (err) {
    const c = classify(err);
    throw new RemoteError(`cannot read the certificate of ${hostPort(host, port)} (${implicit ? "implicit" : "explicit"} TLS): ${(err as Error).message}`, {
      code: c.code,
      kind: c.kind,
      fault: err instanceof RemoteError ? err.fault : undefined,
      phase: "connect",
    });
  } finally {
    control.close();
  }
}
