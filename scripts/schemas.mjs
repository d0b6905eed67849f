#!/usr/bin/env node
// Writes schemas/ (the JSON Schemas of the config files and of each --json output) from the zod
// schemas in src/ (src/cli/schema-files.ts). `--check`: write nothing, exit 1 if a file differs.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const check = process.argv.includes("--check");
const { build } = await import("esbuild");
const out = join(repo, ".cache", "schemas-generator.mjs");
await build({
  absWorkingDir: repo,
  entryPoints: [join(repo, "src/cli/schema-files.ts")],
  outfile: out,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  logLevel: "warning",
  banner: { js: "import { createRequire as __schemasRequire } from 'node:module'; const require = __schemasRequire(import.meta.url);" },
});
const { schemaFiles } = await import(pathToFileURL(out).href);
rmSync(out, { force: true });

let stale = 0;
for (const [path, text] of Object.entries(schemaFiles())) {
  const file = join(repo, "schemas", path);
  let before;
  try {
    before = readFileSync(file, "utf8");
  } catch {
    before = undefined;
  }
  if (before === text) continue;
  stale++;
  if (check) {
    console.error(`schemas/${path} is not what src/ generates: run \`npm run schemas\``);
  } else {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text);
    console.log(`wrote schemas/${path}`);
  }
}
if (check && stale > 0) process.exit(1);
