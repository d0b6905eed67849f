/**
 * The JSON contract of the CLI (README "JSON output") for tests: the zod shapes of src/cli/json-contract.ts
 * (from which schemas/ is generated), and the reading of a command's one object, which also checks it
 * against the committed schema file.
 */
import { z } from "zod";
import { FAILURE_CODES } from "../../src/cli/failure.js";
import { failureShape, schemaField } from "../../src/cli/json-contract.js";
import { assertOutputSchema } from "./json-schemas.js";

export {
  applyFailedShape, applyShape, bareFailure, checkShape, failureShape, historyShape, isoTime, planTotalsShape, runFailedShape, runRecordShape, runSummaryShape, statusShape, validateShape,
} from "../../src/cli/json-contract.js";
export { FAILURE_CODES };

/** Any failure of any command: the envelope and the error, whatever else the object holds. */
export const failureOf = (command: string, code?: (typeof FAILURE_CODES)[number], exitCode?: number) =>
  z.object({
    schema: schemaField(command),
    ok: z.literal(false),
    error: failureShape.extend({
      code: code ? z.literal(code) : failureShape.shape.code,
      exitCode: exitCode !== undefined ? z.literal(exitCode) : failureShape.shape.exitCode,
    }),
  });

/**
 * Every time in the object is ISO text: no key ending in "At" holds a number, and no number
 * anywhere is in the range of epoch milliseconds (after 2001).
 */
export function epochMillisIn(value: unknown, path = "$"): string[] {
  if (typeof value === "number") return value > 1e12 ? [path] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => epochMillisIn(v, `${path}[${i}]`));
  if (value && typeof value === "object") {
    return Object.entries(value).flatMap(([k, v]) => [
      ...(/At$/.test(k) && v !== null && typeof v !== "string" ? [`${path}.${k}`] : []),
      ...epochMillisIn(v, `${path}.${k}`),
    ]);
  }
  return [];
}

/** stdout of a --json command: exactly one line, one JSON object. */
export function theOneObject(stdout: string, context = ""): Record<string, unknown> {
  const lines = stdout.split("\n").filter((l) => l.trim() !== "");
  if (lines.length !== 1) throw new Error(`expected exactly one line of JSON on stdout, got ${lines.length}:\n${stdout}\n${context}`);
  const value = JSON.parse(lines[0]) as unknown;
  if (!value || typeof value !== "object" || Array.isArray(value)) throw new Error(`expected a JSON object, got: ${lines[0]}`);
  // Whatever else the test checks, the object is valid against the committed schema file.
  assertOutputSchema(value as Record<string, unknown>);
  return value as Record<string, unknown>;
}
