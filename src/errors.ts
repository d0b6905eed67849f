/** Exit codes of the whole CLI (see README). */
export const ExitCode = {
  Ok: 0,
  Failures: 1,
  Usage: 2,
  SafetyGuard: 3,
  Connect: 4,
  /** The job is already running (a lock held by the agent or another `sync`): nothing was done. */
  AlreadyRunning: 5,
  /** `status`: a job is failing (its last run failed or was stopped, or its local folder is missing). */
  JobFailing: 6,
  /** `status`: a job is stale (no successful run within its maxAge), and none is failing. */
  JobStale: 7,
  /** `run`: the HTTP listener (http.listen) cannot listen: the address is taken or not this machine's. */
  HttpListen: 8,
  /** `apply`: a side, the state or the job changed since the plan was made in a way it did not foresee; nothing was done. */
  PlanChanged: 9,
  /** `status`: a job is late (an expected file has not arrived by its time), and none is failing or stale. */
  JobLate: 10,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** Base class: every error we raise on purpose carries the exit code it maps to. */
export class AgentError extends Error {
  readonly exitCode: ExitCode;
  constructor(message: string, exitCode: ExitCode, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}

/** Invalid configuration or usage: names the file and the field. Exit 2. */
export class ConfigError extends AgentError {
  readonly file?: string;
  readonly field?: string;
  constructor(message: string, details: { file?: string; field?: string } = {}) {
    const where = [details.file, details.field].filter(Boolean).join(": ");
    super(where ? `${where}: ${message}` : message, ExitCode.Usage);
    this.file = details.file;
    this.field = details.field;
  }
}

/** A safety guard stopped the run (nothing was deleted). Exit 3. */
/** `run` cannot serve the configured http.listen (the port taken, the address not this machine's): exit 8, nothing run. */
export class HttpListenError extends AgentError {
  constructor(message: string) {
    super(message, ExitCode.HttpListen);
  }
}

export class SafetyGuardError extends AgentError {
  constructor(message: string) {
    super(message, ExitCode.SafetyGuard);
  }
}

/** `apply`: the plan no longer holds (the paths named changed since it was made); nothing was done. Exit 9. */
export class PlanChangedError extends AgentError {
  readonly changed: { path: string; side: string; was: string; now: string }[];
  constructor(message: string, changed: { path: string; side: string; was: string; now: string }[]) {
    super(message, ExitCode.PlanChanged);
    this.changed = changed;
  }
}

/** How the retry logic should treat a failure. */
export type ErrorClass = "transient" | "permanent";

/**
 * What went wrong on a connection when no reply code says it (see src/protocol/connection-faults.ts):
 * `timeout`: a step got no answer in the remote's `timeoutSeconds` (transient); `closed`: the
 * connection was closed under a command (transient); `protocol`: a reply or a command that cannot
 * be used, such as an unparsable reply or a PASV to another host (permanent).
 */
export type FaultKind = "timeout" | "closed" | "protocol";

/**
 * What a remote failure means for the run, decided once, where the failure happens (the protocol
 * layer, or the remote-folder implementation):
 * - `transient`: worth another attempt (a cut connection, a timeout, 421, 450, 451);
 * - `path`: permanent for this path only (550, 553, a refused rename): the other files go on;
 * - `auth`: the login was refused (530): nothing else can succeed, the job stops;
 * - `tls`: TLS itself failed (certificate, pin, no AUTH TLS, no PROT P): the job stops;
 * - `space`: out of space or quota (452, 552): the job stops.
 */
export type RemoteErrorKind = "transient" | "path" | "auth" | "tls" | "space";

/**
 * A failure of the remote folder (an FTPS server). `code` is the server's reply code when there is
 * one; `fault` says what happened on the connection when there is none. `phase` tells whether we
 * never got a usable session (connect: exit 4) or failed later.
 */
export class RemoteError extends AgentError {
  readonly code?: number;
  readonly kind: RemoteErrorKind;
  readonly fault?: FaultKind;
  readonly phase: "connect" | "operation";
  constructor(
    message: string,
    opts: { kind: RemoteErrorKind; code?: number; fault?: FaultKind; phase: "connect" | "operation"; cause?: unknown },
  ) {
    super(message, opts.phase === "connect" ? ExitCode.Connect : ExitCode.Failures, { cause: opts.cause });
    this.code = opts.code;
    this.kind = opts.kind;
    this.fault = opts.fault;
    this.phase = opts.phase;
  }

  get errorClass(): ErrorClass {
    return this.kind === "transient" ? "transient" : "permanent";
  }

  /** Login, TLS, or out of space: the job must stop, not just this file. */
  get stopsJob(): boolean {
    return this.kind === "auth" || this.kind === "tls" || this.kind === "space";
  }
}

/** A step that got no answer in time (our own timeouts, or the system's), however it was wrapped. */
export function isTimeout(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof RemoteError && e.fault === "timeout") return true;
    if ((e as { code?: unknown }).code === "ETIMEDOUT") return true;
  }
  return false;
}
