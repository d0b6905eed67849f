import { FTPError } from "basic-ftp";
import { FtpsError, type ErrorClass } from "../errors.js";

/** Reply codes worth another attempt: the server or the network may recover. */
const TRANSIENT_CODES = new Set([421, 425, 426, 450, 451]);
/** Out of space or quota: retrying cannot help and the whole job must stop. */
const OUT_OF_SPACE_CODES = new Set([452, 552]);

const TRANSIENT_NODE_CODES = new Set([
  "ECONNRESET", "ECONNREFUSED", "ECONNABORTED", "EPIPE", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH",
  "ENETDOWN", "EAI_AGAIN", "ERR_SOCKET_CLOSED", "ERR_STREAM_PREMATURE_CLOSE", "ERR_STREAM_DESTROYED",
]);

export interface Classification {
  errorClass: ErrorClass;
  code?: number;
  stopsJob: boolean;
}

function isTlsVerificationError(code: string | undefined): boolean {
  return !!code && (/CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|ERR_TLS_CERT_ALTNAME|DEPTH_ZERO/.test(code) || code === "PIN_MISMATCH");
}

/** Decides whether a failure is worth retrying. Unknown errors are treated as permanent. */
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
  if (e?.message && /timeout|closed|socket hang up|Client is closed|None of the available transfer strategies|ECONNRESET|wrong version number|Can't open data connection/i.test(e.message)) {
    return { errorClass: "transient", stopsJob: false };
  }
  // Anything else (a local I/O error, a bug) would fail the same way again.
  return { errorClass: "permanent", stopsJob: false };
}
