import { createHash } from "node:crypto";
import type { PeerCertificate } from "node:tls";

/**
 * Pinning form of a certificate fingerprint: SHA-256 of the DER, upper-case hex bytes joined
 * by ":", prefixed "sha256:" (what `openssl x509 -noout -fingerprint -sha256` prints).
 */
export function fingerprintOfDer(der: Buffer): string {
  const hex = createHash("sha256").update(der).digest("hex").toUpperCase();
  return "sha256:" + hex.match(/../g)!.join(":");
}

export function fingerprintOfPeer(cert: PeerCertificate): string | undefined {
  return cert && cert.raw ? fingerprintOfDer(cert.raw) : undefined;
}
