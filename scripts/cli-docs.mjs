#!/usr/bin/env node
// Writes the man page (man/ftps-sync.1) and the bash, zsh and fish completions (completions/)
// from the command definitions of the compiled CLI (dist/cli/main.js, tsc's output: run by
// scripts/build.mjs after tsc). Usage: node scripts/cli-docs.mjs [DIST] [OUT]
// (defaults: the repository's dist/ and the repository itself).
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { bashCompletion, fishCompletion, zshCompletion } from "./cli-docs/completions.mjs";
import { exitCodesFromReadme, manPage } from "./cli-docs/man.mjs";
import { commandSpec } from "./cli-docs/spec.mjs";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const dist = resolve(process.argv[2] ?? join(repo, "dist"));
const out = resolve(process.argv[3] ?? repo);

const { buildProgram } = await import(pathToFileURL(join(dist, "cli", "main.js")).href);
const spec = commandSpec(buildProgram());
const exitCodes = exitCodesFromReadme(readFileSync(join(repo, "README.md"), "utf8"));

const files = {
  [`man/${spec.name}.1`]: manPage(spec, exitCodes),
  [`completions/${spec.name}.bash`]: bashCompletion(spec),
  [`completions/_${spec.name}`]: zshCompletion(spec),
  [`completions/${spec.name}.fish`]: fishCompletion(spec),
};
for (const [file, text] of Object.entries(files)) {
  mkdirSync(dirname(join(out, file)), { recursive: true });
  writeFileSync(join(out, file), text);
}
