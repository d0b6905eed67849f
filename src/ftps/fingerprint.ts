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

/** Accepts "sha256:AB:CD..", "AB:CD..", or bare hex, any case; undefined when malformed. */
export function normalizeFingerprint(input: string): string | undefined {
  const hex = input.trim().replace(/^sha256:/i, "").replace(/:/g, "");
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) return undefined;
  return "sha256:" + hex.toUpperCase().match(/../g)!.join(":");
}
