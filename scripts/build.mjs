#!/usr/bin/env node
// Build: tsc compiles src/ to dist/ (type checks included), then esbuild bundles the CLI and its
// JavaScript dependencies into dist/bin/ftps-sync.cjs, run by the loader dist/bin/ftps-sync.js
// (the command; scripts/cli-loader.mjs) through V8's code cache. Why: Node 20's ESM loader spent
// about 0.3 s resolving and compiling some 400 module files before every command, as much as a
// whole re-run of 2 000 unchanged files; the bundle took a third of that, the code cache takes
// most of the rest off. better-sqlite3 stays outside (a native addon). The bundle sits two folders
// deep, like the modules it replaces, so their paths relative to import.meta.url
// (../../package.json, ../../migrations/) still hold.
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

// `--out DIR`: build into DIR/dist instead (the fault suite's long mode keeps a private build).
const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const outArg = process.argv.indexOf("--out");
const dist = outArg > 0 ? join(resolve(process.argv[outArg + 1]), "dist") : join(repo, "dist");
const outdir = join(dist, "bin");
execFileSync(process.execPath, [join(repo, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json", "--outDir", dist], { cwd: repo, stdio: "inherit" });

const { build } = await import("esbuild");
rmSync(outdir, { recursive: true, force: true });
const common = {
  absWorkingDir: repo,
  bundle: true,
  platform: "node",
  target: "node20",
  external: ["better-sqlite3"],
  // An --out build may sit outside the repository: dependencies still come from here.
  nodePaths: [join(repo, "node_modules")],
  sourcemap: true,
  // Less source for V8 to parse (about 30 ms a start before the code cache); names are kept, so
  // stack traces still read, and the source maps map them back.
  minifyWhitespace: true,
  minifySyntax: true,
  // The one reader of NODE_ENV in the bundle is winston's @dabh/diagnostics: outside "production"
  // it loads a colouring debug logger (colorspace, kuler: ~5 ms of every start) that prints
  // winston's internal debug lines on stdout when DEBUG matches "winston:*" (DEBUG=* included),
  // which broke `--json` output. Its production build prints nothing unless forced.
  define: { "process.env.NODE_ENV": '"production"' },
  logLevel: "warning",
};
// The CLI, daemon and demo included, as one CommonJS file: Node 20 can give a CommonJS script a
// V8 code cache (see scripts/cli-loader.mjs), not an ES module. import.meta.url becomes the
// bundle's own URL, so paths relative to it (../../package.json, ../../migrations/, the worker
// beside it) still hold.
await build({
  ...common,
  entryPoints: [join(dist, "cli", "entry.js")],
  outfile: join(outdir, "ftps-sync.cjs"),
  format: "cjs",
  define: { ...common.define, "import.meta.url": "__ftpsSyncBundleUrl" },
  banner: { js: "const __ftpsSyncBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
});
// The local scan's worker thread is an entry of its own: it loads only what it needs.
await build({
  ...common,
  entryPoints: [join(dist, "local", "scan-worker.js")],
  outfile: join(outdir, "scan-worker.js"),
  format: "esm",
  // CommonJS dependencies call require() for Node's own modules.
  banner: { js: "import { createRequire as __ftpsSyncRequire } from 'node:module'; const require = __ftpsSyncRequire(import.meta.url);" },
});
// The command itself: the loader, told the bundle's hash (its code cache is named after it).
const bundlePath = join(outdir, "ftps-sync.cjs");
// The bundle is written as the function the loader compiles (CommonJS's own wrapper, on its first
// line, so that line numbers and the source map stay as they are): the loader reads it as it is,
// without copying 1.3 MB into a wrapper at each start. The entry's "#!" line becomes a comment.
// esbuild writes only ASCII (its default charset), which the loader reads as latin1, several ms
// faster than decoding UTF-8; a bundle with any other byte would be misread, so it stops the build.
const unwrapped = readFileSync(bundlePath, "utf8").replace(/^#!/, "//");
const notAscii = /[^\x00-\x7f]/.exec(unwrapped);
if (notAscii) throw new Error(`build: the bundle must be ASCII (the loader reads it as latin1); found U+${notAscii[0].codePointAt(0).toString(16)} at offset ${notAscii.index}`);
const bundleSource = `(function (exports, require, module, __filename, __dirname) {${unwrapped}\n})`;
writeFileSync(bundlePath, bundleSource);
const hash = createHash("sha256").update(bundleSource).digest("hex").slice(0, 16);
const loader = readFileSync(join(repo, "scripts", "cli-loader.mjs"), "utf8").replace("__BUNDLE_HASH__", hash);
writeFileSync(join(outdir, "ftps-sync.js"), loader, { mode: 0o755 });

// The man page and the shell completions, from the command definitions in tsc's output (not for
// an --out build, whose dist/ cannot resolve the dependencies from outside the repository).
if (outArg < 0) execFileSync(process.execPath, [join(repo, "scripts", "cli-docs.mjs"), dist, repo], { cwd: repo, stdio: "inherit" });
