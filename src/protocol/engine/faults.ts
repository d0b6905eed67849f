import { RemoteError, type FaultKind } from "../../errors.js";

/** A failure no reply code names, typed where it happens (see RemoteError.fault). */
export function faultError(kind: FaultKind, message: string, cause?: unknown): RemoteError {
  return new RemoteError(message, { fault: kind, kind: kind === "protocol" ? "path" : "transient", phase: "operation", cause });
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/** A step that got no answer within the remote's timeout. `what`: "waiting for the TLS handshake"... */
export function timeoutError(what: string, timeoutMs: number): RemoteError {
  return faultError("timeout", `timeout: no answer within ${seconds(timeoutMs)} ${what}`);
}
