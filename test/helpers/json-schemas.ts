/**
 * The committed JSON Schemas (schemas/, README "JSON output") as a validator, for tests: every
 * --json output a test reads is checked against the schema file its `schema` field names, with a
 * validator that knows nothing of zod (ajv, JSON Schema 2020-12).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import { REPO } from "./cli.js";

const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });
const compiled = new Map<string, ValidateFunction>();

/** The validator of schemas/<file>, compiled once. */
export function schemaValidator(file: string): ValidateFunction {
  let v = compiled.get(file);
  if (!v) {
    v = ajv.compile(JSON.parse(readFileSync(join(REPO, "schemas", file), "utf8")) as object);
    compiled.set(file, v);
  }
  return v;
}

/** Problems of `value` against schemas/<file>, one line each; none when it is valid. */
export function schemaProblems(file: string, value: unknown): string[] {
  const v = schemaValidator(file);
  if (v(value)) return [];
  return (v.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? ""} ${JSON.stringify(e.params)}`);
}

/** Throws unless `obj` is valid against the output schema its own `schema` field ("ftps-sync/<command>/v1") names. */
export function assertOutputSchema(obj: Record<string, unknown>): void {
  const m = /^ftps-sync\/([a-z-]+)\/v1$/.exec(String(obj.schema));
  if (!m) throw new Error(`no "schema": "ftps-sync/<command>/v1" in ${JSON.stringify(obj)}`);
  const problems = schemaProblems(`output/${m[1]}.schema.json`, obj);
  if (problems.length > 0) throw new Error(`not valid against schemas/output/${m[1]}.schema.json:\n${problems.join("\n")}\n${JSON.stringify(obj, null, 2)}`);
}
