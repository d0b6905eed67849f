#!/usr/bin/env node
// The `ftps-sync` command. It runs the CLI bundle (ftps-sync.cjs) through V8's code cache: each
// start used to spend about 0.1 s of CPU parsing and compiling the 1.4 MB bundle and the functions
// a run calls, a fifth of a whole re-run of 2 000 unchanged files. There is a cache per command
// (a `--version` holds few of the functions a `sync` calls), written beside the bundle at the exit
// of the first run that finds none (or finds one made by another V8), when the functions it
// called are compiled; where that folder is not writable, runs go on without one. Its name
// carries the bundle's hash, filled in by scripts/build.mjs: V8 itself only checks a cache against
// the source's length, and a cache taken for other code must never be used.
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import vm from "node:vm";

const BUNDLE_HASH = "__BUNDLE_HASH__";
const dir = dirname(fileURLToPath(import.meta.url));
const bundle = join(dir, "ftps-sync.cjs");
const COMMANDS = new Set(["sync", "plan", "apply", "check", "run", "status", "history", "validate", "versions", "restore", "fingerprint", "demo", "init"]);

/**
 * The command named on the command line, for the cache's name ("other" for help, version, typos).
 * A command's help counts as "other": each command loads its modules when it runs (src/cli/
 * lazy-app.ts), so a cache taken from `sync --help` would hold none of what a sync runs.
 */
function commandOf(args) {
  if (args.some((a) => a === "-h" || a === "--help")) return "other";
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "-c" || args[i] === "--config") i++;
    else if (!args[i].startsWith("-")) return COMMANDS.has(args[i]) ? args[i] : "other";
  }
  return "other";
}

const cacheFile = join(dir, `.ftps-sync.${BUNDLE_HASH}.${commandOf(process.argv.slice(2))}.v8-cache`);

let cachedData;
try {
  cachedData = readFileSync(cacheFile);
} catch {
  // none yet
}
// The bundle is already the function to run, in ASCII (scripts/build.mjs): read as latin1, which is
// quicker than UTF-8 and gives the same string.
const source = readFileSync(bundle, "latin1");
// import() of Node's own modules is resolved as it would be in a plain CommonJS file.
const script = new vm.Script(source, { filename: bundle, cachedData, importModuleDynamically: vm.constants.USE_MAIN_CONTEXT_DEFAULT_LOADER });
if (cachedData === undefined || script.cachedDataRejected) {
  // At exit, when the functions this run called are compiled and go into the cache too. Not after
  // a usage or config error (exit 2): that run stopped before its command loaded anything.
  process.once("exit", (code) => {
    if (code === 2) return;
    const tmp = `${cacheFile}.${process.pid}.tmp`;
    try {
      writeFileSync(tmp, script.createCachedData());
      renameSync(tmp, cacheFile);
    } catch {
      rmSync(tmp, { force: true });
    }
  });
}
const module = { exports: {} };
script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, dir);
