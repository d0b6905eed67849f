/**
 * Where the installed package's JSON Schemas are, for the `$schema` that `init` writes into the
 * files it creates (editors then complete and check them). The schemas/ folder sits next to
 * package.json, two folders above this module wherever it runs from: src/cli, dist/cli, or the
 * bundle in dist/bin.
 */
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

/** The agent config's and a job file's schema file names, under schemas/. */
export const CONFIG_SCHEMA_FILE = "agent-config.schema.json";
export const JOB_SCHEMA_FILE = "job.schema.json";

/** A file:// URL of schemas/<file> in the installed package, or undefined when the package has no such file. */
export function schemaRef(file: string): string | undefined {
  const path = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "schemas", file);
  return existsSync(path) ? pathToFileURL(path).href : undefined;
}
