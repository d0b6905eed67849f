/**
 * What a failure means for a script: one stable machine code, the exit code, the message and a
 * hint, the same for every command (the `error` object of the JSON output; README "Exit codes").
 */
import { CommanderError } from "commander";
import { AgentError, ConfigError, ExitCode, HttpListenError, PlanChangedError, RemoteError, SafetyGuardError } from "../errors.js";
import { redact } from "../redact.js";
import { UsageError } from "./usage.js";

export type FailureCode =
  | "usage"
  | "config"
  | "failures"
  | "error"
  | "internal"
  | "safety-guard"
  | "connect"
  | "already-running"
  | "job-failing"
  | "job-stale"
  | "http-listen"
  | "plan-changed"
  | "job-late";

export interface Failure {
  code: FailureCode;
  exitCode: number;
  message: string;
  hint: string;
}

const HINTS: Record<FailureCode, string> = {
  usage: "see `ftps-sync <command> --help`",
  config: "fix the file and field the message names; nothing was changed",
  failures: "see the errors and the log; the next run takes up what failed",
  error: "nothing more was done; see the message and README.md, \"Troubleshooting\"",
  internal: "an unexpected error: please report it with the log",
  "safety-guard": "nothing was deleted; check the source side, then run again with --force if the deletions are intended",
  connect: "run `ftps-sync check` for the TLS, certificate and login details; see README.md, \"Troubleshooting\"",
  "already-running": "another run of this job holds its lock (`ftps-sync status` shows it); try again when it has finished",
  "job-failing": "see each job's problem, and `ftps-sync history <job>`",
  "job-stale": "no successful run as recent as the job's maxAge: check that the agent runs (`ftps-sync run`) and what its log says",
  "plan-changed": "make a new plan (`ftps-sync plan <job> --out FILE`), review it, and apply that one",
  "job-late": "the file the job's \"expect\" waits for has not arrived: check with the partner, and the job's history (`ftps-sync history <job>`)",
  "http-listen": "free the port (another agent or service may hold it) or change http.listen; nothing was run",
};

export const hintFor = (code: FailureCode): string => HINTS[code];

/** Every failure code, in the order of HINTS (for the JSON Schemas of the outputs). */
export const FAILURE_CODES = Object.keys(HINTS) as [FailureCode, ...FailureCode[]];

/** The job's lock is held by another process: exit 5. */
export class AlreadyRunningError extends AgentError {
  constructor(message: string) {
    super(message, ExitCode.AlreadyRunning);
  }
}

function codeOf(err: unknown): { code: FailureCode; exitCode: number } {
  if (err instanceof CommanderError) return { code: "usage", exitCode: ExitCode.Usage };
  if (err instanceof UsageError) return { code: "usage", exitCode: ExitCode.Usage };
  if (err instanceof ConfigError) return { code: "config", exitCode: ExitCode.Usage };
  if (err instanceof SafetyGuardError) return { code: "safety-guard", exitCode: ExitCode.SafetyGuard };
  if (err instanceof AlreadyRunningError) return { code: "already-running", exitCode: ExitCode.AlreadyRunning };
  if (err instanceof HttpListenError) return { code: "http-listen", exitCode: ExitCode.HttpListen };
  if (err instanceof PlanChangedError) return { code: "plan-changed", exitCode: ExitCode.PlanChanged };
  if (err instanceof RemoteError && err.exitCode === ExitCode.Connect) return { code: "connect", exitCode: ExitCode.Connect };
  if (err instanceof AgentError) {
    const byExit: Partial<Record<number, FailureCode>> = { [ExitCode.Usage]: "config", [ExitCode.SafetyGuard]: "safety-guard", [ExitCode.Connect]: "connect" };
    return { code: byExit[err.exitCode] ?? "error", exitCode: err.exitCode };
  }
  return { code: "internal", exitCode: ExitCode.Failures };
}

/** A thrown error as a Failure; the message has every registered secret scrubbed. */
export function failureOf(err: unknown): Failure {
  const { code, exitCode } = codeOf(err);
  const message = redact(err instanceof Error ? err.message : String(err)).replace(/^error: /, "");
  return { code, exitCode, message, hint: hintFor(code) };
}
