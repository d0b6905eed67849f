/**
 * A self-signed X.509 certificate made on the spot with node:crypto alone: no openssl CLI and no
 * extra package. An ECDSA P-256 key signs a minimal v3 certificate (subject = issuer, SAN for the
 * given names and addresses, serverAuth) encoded in DER by the few ASN.1 helpers below.
 * Only for the demo's embedded server: real servers get their certificates from their admins.
 */
import { generateKeyPairSync, randomBytes, sign, X509Certificate } from "node:crypto";
import { isIPv4 } from "node:net";

export interface DemoCertificate {
  certPem: string;
  keyPem: string;
  /** Pinning form: "sha256:AB:CD:..." (what "fingerprint" in agent.config.json takes). */
  fingerprint: string;
  validTo: string;
}

// --- DER ----------------------------------------------------------------------------------------

function length(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v >>= 8) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, content: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), length(content.length), content]);
}

const seq = (...items: Buffer[]) => tlv(0x30, Buffer.concat(items));
const set = (...items: Buffer[]) => tlv(0x31, Buffer.concat(items));
const octets = (b: Buffer) => tlv(0x04, b);
const utf8 = (s: string) => tlv(0x0c, Buffer.from(s, "utf8"));
const bool = (v: boolean) => tlv(0x01, Buffer.from([v ? 0xff : 0]));
/** Context-specific tag: constructed (EXPLICIT) or primitive (IMPLICIT). */
const ctx = (n: number, content: Buffer, constructed: boolean) => tlv((constructed ? 0xa0 : 0x80) | n, content);

function integer(bytes: Buffer): Buffer {
  // DER integers are signed and minimal: drop leading zeros, keep one if the top bit is set.
  let b = bytes;
  while (b.length > 1 && b[0] === 0 && (b[1] & 0x80) === 0) b = b.subarray(1);
  if (b[0] & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return tlv(0x02, b);
}

function oid(dotted: string): Buffer {
  const parts = dotted.split(".").map(Number);
  const out: number[] = [parts[0] * 40 + parts[1]];
  for (const p of parts.slice(2)) {
    const chunk: number[] = [p & 0x7f];
    for (let v = p >>> 7; v > 0; v >>>= 7) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

/** UTCTime (years 1950-2049) as RFC 5280 requires, else GeneralizedTime. */
function time(d: Date): Buffer {
  const p = (n: number) => String(n).padStart(2, "0");
  const rest = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  const y = d.getUTCFullYear();
  return y < 2050 ? tlv(0x17, Buffer.from(`${String(y % 100).padStart(2, "0")}${rest}`)) : tlv(0x18, Buffer.from(`${y}${rest}`));
}

const OID = {
  ecdsaWithSha256: "1.2.840.10045.4.3.2",
  commonName: "2.5.4.3",
  organization: "2.5.4.10",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  keyUsage: "2.5.29.15",
  extKeyUsage: "2.5.29.37",
  serverAuth: "1.3.6.1.5.5.7.3.1",
};

function name(cn: string): Buffer {
  return seq(set(seq(oid(OID.organization), utf8("ftps-sync demo"))), set(seq(oid(OID.commonName), utf8(cn))));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [bool(true)] : []), octets(value));
}

function subjectAltName(hosts: string[]): Buffer {
  return seq(
    ...hosts.map((h) =>
      isIPv4(h) ? ctx(7, Buffer.from(h.split(".").map(Number)), false) : ctx(2, Buffer.from(h, "ascii"), false),
    ),
  );
}

// --- certificate --------------------------------------------------------------------------------

/** A fresh key and self-signed certificate for `hosts` (default 127.0.0.1 and localhost), valid `days`. */
export function makeSelfSignedCertificate(hosts: string[] = ["127.0.0.1", "localhost"], days = 7): DemoCertificate {
  const { privateKey, publicKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const now = Date.now();
  const notBefore = new Date(now - 60 * 60 * 1000); // an hour of slack for clock skew
  const notAfter = new Date(now + days * 86_400_000);
  const serial = randomBytes(16);
  serial[0] &= 0x7f;
  const algorithm = seq(oid(OID.ecdsaWithSha256));

  const tbs = seq(
    ctx(0, integer(Buffer.from([2])), true), // version: v3
    integer(serial),
    algorithm,
    name(hosts[0]),
    seq(time(notBefore), time(notAfter)),
    name(hosts[0]),
    publicKey.export({ type: "spki", format: "der" }),
    ctx(
      3,
      seq(
        extension(OID.basicConstraints, true, seq()), // cA: FALSE (the default, so empty)
        extension(OID.keyUsage, true, tlv(0x03, Buffer.from([0x07, 0x80]))), // digitalSignature
        extension(OID.extKeyUsage, false, seq(oid(OID.serverAuth))),
        extension(OID.subjectAltName, false, subjectAltName(hosts)),
      ),
      true,
    ),
  );
  const signature = sign("sha256", tbs, privateKey); // DER-encoded ECDSA signature
  const der = seq(tbs, algorithm, tlv(0x03, Buffer.concat([Buffer.from([0]), signature])));

  const certPem = `-----BEGIN CERTIFICATE-----\n${der.toString("base64").replace(/.{1,64}/g, "$&\n")}-----END CERTIFICATE-----\n`;
  const keyPem = privateKey.export({ type: "pkcs8", format: "pem" }).toString();
  const x509 = new X509Certificate(certPem);
  if (!x509.verify(publicKey)) throw new Error("internal error: the generated certificate does not verify");
  return { certPem, keyPem, fingerprint: "sha256:" + x509.fingerprint256.toUpperCase(), validTo: x509.validTo };
}
