/**
 * The JSON contract of the CLI (README "JSON output"): with --json a command prints exactly one
 * object on stdout, whatever the outcome. Every object carries `schema` ("ftps-sync/<command>/v1")
 * and `ok`; a failure carries `error` ({ code, exitCode, message, hint }, see failure.ts); every
 * time is an ISO 8601 UTC string, never epoch milliseconds.
 */
import type { Failure } from "./failure.js";

export const schemaOf = (command: string): string => `ftps-sync/${command}/v1`;

/** Epoch milliseconds as ISO 8601 UTC; null when there is no time. */
export const isoTime = (ms: number | undefined | null): string | null => (ms === undefined || ms === null ? null : new Date(ms).toISOString());

let written = false;

/** Has this process printed its JSON object? (main prints a failure object only when not.) */
export const jsonWritten = (): boolean => written;

/**
 * The command's one object: `ok` is true exactly when the command exits 0; a failure names it.
 * `body` cannot override schema, ok and error.
 */
export function jsonObject(command: string, body: Record<string, unknown>, failure?: Failure): Record<string, unknown> {
  const out: Record<string, unknown> = { schema: schemaOf(command), ok: failure === undefined, ...body };
  out.schema = schemaOf(command);
  out.ok = failure === undefined;
  if (failure) out.error = failure;
  else delete out.error;
  return out;
}

/** Prints the command's one object (see jsonObject) as one line of stdout. */
export function writeJson(command: string, body: Record<string, unknown>, failure?: Failure): void {
  written = true;
  process.stdout.write(JSON.stringify(jsonObject(command, body, failure)) + "\n");
}
