/**
 * TLS sessions for data connections, without the server certificate.
 *
 * Every FTPS data connection resumes the control connection's TLS session. Node takes the session
 * as OpenSSL's DER encoding and parses it again for each connection, and that encoding carries the
 * server's certificate: decoding its public key (OpenSSL 3.0 sets up a decoder each time) was
 * about 9% of the agent's CPU in a small-file upload. A resumed connection does not need it: the
 * server proved its identity on the control connection, and resuming proves it holds that
 * session's secret. So the certificate is cut out of the encoding. TLS 1.2 sessions only with a
 * pinned fingerprint: Node accepts a resumed TLS 1.3 connection without a certificate, but reports
 * a resumed TLS 1.2 one as unverified, which only a pinned remote (where the pin decides, and a
 * resumed data connection needs no check) lets through. A data connection that is not resumed
 * makes a full handshake with a certificate, checked as before.
 */

/** Reads a DER tag-length header at `at`: [tag, header length, content length], or undefined. */
function header(der: Buffer, at: number): [number, number, number] | undefined {
  if (at + 2 > der.length) return undefined;
  const tag = der[at];
  const first = der[at + 1];
  if (first < 0x80) return [tag, 2, first];
  const n = first & 0x7f;
  if (n === 0 || n > 3 || at + 2 + n > der.length) return undefined;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + der[at + 2 + i];
  return [tag, 2 + n, len];
}

function lengthBytes(len: number): Buffer {
  if (len < 0x80) return Buffer.from([len]);
  const bytes: number[] = [];
  for (let l = len; l > 0; l = Math.floor(l / 256)) bytes.unshift(l % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

const SEQUENCE = 0x30;
const INTEGER = 0x02;
/** `peer [3] EXPLICIT Certificate OPTIONAL` in OpenSSL's SSL_SESSION_ASN1. */
const PEER = 0xa3;
const TLS1_3 = 0x0304;

/**
 * The session without its `peer` field if it is a TLS 1.3 session (or any session, with
 * `anyVersion`); otherwise, or if the encoding is not as expected, the session as given.
 */
export function withoutPeerCertificate(der: Buffer<ArrayBuffer>, anyVersion = false): Buffer<ArrayBuffer> {
  const outer = header(der, 0);
  if (!outer || outer[0] !== SEQUENCE || outer[1] + outer[2] !== der.length) return der;
  const kept: Buffer<ArrayBuffer>[] = [];
  let at = outer[1];
  let field = 0;
  let removed = false;
  while (at < der.length) {
    const h = header(der, at);
    if (!h || at + h[1] + h[2] > der.length) return der;
    const end = at + h[1] + h[2];
    // Second field: ssl_version, an INTEGER such as 0x0304.
    if (field === 1 && (h[0] !== INTEGER || (!anyVersion && der.readUIntBE(at + h[1], Math.min(h[2], 6)) !== TLS1_3))) return der;
    if (h[0] === PEER) removed = true;
    else kept.push(der.subarray(at, end));
    at = end;
    field++;
  }
  if (!removed) return der;
  const body = Buffer.concat(kept);
  return Buffer.concat([Buffer.from([SEQUENCE]), lengthBytes(body.length), body]);
}
