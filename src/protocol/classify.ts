import { ReplyError } from "./engine/reply-error.js";
import { RemoteError, type ErrorClass, type RemoteErrorKind } from "../errors.js";

export { isTimeout } from "../errors.js";

/** Reply codes worth another attempt: the server or the network may recover. */
const TRANSIENT_CODES = new Set([421, 425, 426, 450, 451]);
/** Out of space or quota: retrying cannot help and the whole job must stop. */
const OUT_OF_SPACE_CODES = new Set([452, 552]);

/**
 * Node's codes for a connection that failed or was cut: another connection may work. A TLS
 * record cut short or garbled on the way (ERR_SSL_WRONG_VERSION_NUMBER: vsftpd's plaintext
 * "500 OOPS" on a TLS connection, or a cut) counts too; on the first connection of a run, TLS
 * failures are not retried (see connect.ts).
 */
const TRANSIENT_NODE_CODES = new Set([
  "ECONNRESET", "ECONNREFUSED", "ECONNABORTED", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH",
  "ENETDOWN", "EAI_AGAIN", "ERR_SOCKET_CLOSED", "ERR_STREAM_PREMATURE_CLOSE", "ERR_STREAM_DESTROYED",
  "ERR_STREAM_WRITE_AFTER_END", "ERR_SSL_WRONG_VERSION_NUMBER",
]);

export interface Classification {
  kind: RemoteErrorKind;
  errorClass: ErrorClass;
  code?: number;
  stopsJob: boolean;
}

function isTlsVerificationError(code: string | undefined): boolean {
  return !!code && (/CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS_CERT_ALTNAME|DEPTH_ZERO/.test(code) || code === "PIN_MISMATCH");
}

const of = (kind: RemoteErrorKind, code?: number): Classification => ({
  kind,
  code,
  errorClass: kind === "transient" ? "transient" : "permanent",
  stopsJob: kind === "auth" || kind === "tls" || kind === "space",
});

/** What a reply code means for the run (see RemoteErrorKind). */
export function kindOfReply(code: number): RemoteErrorKind {
  if (TRANSIENT_CODES.has(code)) return "transient";
  if (OUT_OF_SPACE_CODES.has(code)) return "space";
  if (code === 530) return "auth";
  // 550 (no such file / permission), 553 (bad name) and other 5xx: permanent for this path.
  return code >= 500 ? "path" : "transient";
}

/**
 * Decides what a failure means, from its type and code only: RemoteError's own kind (connection
 * faults are typed where they happen, see connection-faults.ts), the reply code, or Node's error
 * code. Unknown errors are treated as permanent for the path.
 */
export function classify(err: unknown): Classification {
  if (err instanceof RemoteError) return of(err.kind, err.code);
  if (err instanceof ReplyError) return of(kindOfReply(err.code), err.code);
  const e = err as { code?: string; message?: string } | undefined;
  if (isTlsVerificationError(e?.code)) return of("tls");
  if (e?.code && TRANSIENT_NODE_CODES.has(e.code)) return of("transient");
  // Anything else (a local I/O error, a bug) would fail the same way again.
  return of("path");
}

/** A failure of TLS itself (handshake, certificate, pin): another attempt would meet the same server. */
export function isTlsFailure(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && (isTlsVerificationError(code) || /^ERR_(SSL|TLS)_/.test(code))) return true;
  }
  return false;
}

/** classify()'s retry class alone, for withRetry's `classify` in code that sees raw failures. */
export function errorClassOf(err: unknown): ErrorClass {
  return classify(err).errorClass;
}
