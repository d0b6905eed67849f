import { FTPError } from "basic-ftp";
import { FtpsError, type ErrorClass } from "../errors.js";

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
  errorClass: ErrorClass;
  code?: number;
  stopsJob: boolean;
}

function isTlsVerificationError(code: string | undefined): boolean {
  return !!code && (/CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS_CERT_ALTNAME|DEPTH_ZERO/.test(code) || code === "PIN_MISMATCH");
}

/**
 * Decides whether a failure is worth retrying, from its type and code only: FtpsError's own
 * class (connection faults are typed where they happen, see connection-faults.ts), the reply
 * code, or Node's error code. Unknown errors are treated as permanent.
 */
export function classify(err: unknown): Classification {
  if (err instanceof FtpsError) return { errorClass: err.errorClass, code: err.code, stopsJob: err.stopsJob };
  if (err instanceof FTPError) {
    const code = err.code;
    if (TRANSIENT_CODES.has(code)) return { errorClass: "transient", code, stopsJob: false };
    if (OUT_OF_SPACE_CODES.has(code)) return { errorClass: "permanent", code, stopsJob: true };
    // 530 (login), 550 (no such file / permission), 553 (bad name) and other 5xx: permanent.
    if (code >= 500) return { errorClass: "permanent", code, stopsJob: code === 530 };
    return { errorClass: "transient", code, stopsJob: false };
  }
  const e = err as { code?: string; message?: string } | undefined;
  if (isTlsVerificationError(e?.code)) return { errorClass: "permanent", stopsJob: true };
  if (e?.code && TRANSIENT_NODE_CODES.has(e.code)) return { errorClass: "transient", stopsJob: false };
  // Anything else (a local I/O error, a bug) would fail the same way again.
  return { errorClass: "permanent", stopsJob: false };
}

/** A step that got no answer in time (our own timeouts, or the system's), however it was wrapped. */
export function isTimeout(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof FtpsError && e.kind === "timeout") return true;
    if ((e as { code?: unknown }).code === "ETIMEDOUT") return true;
  }
  return false;
}

/** A failure of TLS itself (handshake, certificate, pin): another attempt would meet the same server. */
export function isTlsFailure(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string" && (isTlsVerificationError(code) || /^ERR_(SSL|TLS)_/.test(code))) return true;
  }
  return false;
}
