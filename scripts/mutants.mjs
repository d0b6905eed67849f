#!/usr/bin/env node
// Mutation check of the safety rules: `npm run mutants [-- --only <rule or id>] [--check] [--keep]
// [--tiers fast,scripted] [--tests <files>] [--timeout <seconds>]`.
//
// Each mutant in scripts/mutants/list.mjs disables one safety rule in the source (one small edit,
// or a few for a rule guarded twice). For each, the fast tier (`npm run test:fast`: unit tests and
// the engine on the in-memory remote; --tiers to add "scripted") runs against a copy of the repository with
// that one mutant applied, and must fail: the table says which test caught it. Exit 1 when a
// mutant survived (no test failed), is pending (known to survive until a test exists), broke (its
// text no longer matches the source exactly once, it does not compile, or the run failed without a
// failing test), or timed out.
// The working tree is never modified: the repository's files (git ls-files: tracked and new, not
// ignored) are copied to a temporary folder once, node_modules is linked, and each mutated file is
// put back after its run. First the unmutated copy must pass. The test files named after the
// mutated file, and the mutant's `tests`, run first (a speed-up); a mutant they do not catch gets
// every test of the tiers, stopping at the first failure.
// `--check` only verifies that every mutant still applies (after a refactoring, say), in a second.
import { spawn, execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { applyMutant, editsOf } from "./mutants/apply.mjs";
import mutants from "./mutants/list.mjs";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const flag = (name) => args.includes(`--${name}`);
const opt = (name) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : undefined;
};
const only = opt("only");
/**
 * The vitest projects (vitest.config.ts) each mutant runs: by default the fast tier, which must
 * catch every safety rule on its own; `--tiers fast,scripted` adds the built CLI against scripted
 * servers on loopback.
 */
const tiers = (opt("tiers") ?? "fast").split(",").filter(Boolean);
/** `--tests a.test.ts,b.test.ts`: run only these test files (to try a new test quickly; not a full check). */
const testFiles = opt("tests")?.split(",").filter(Boolean) ?? [];
/** A run of the fast tier takes about 90 s here; a mutant that makes it hang is stopped after this. */
const runTimeoutMs = Number(opt("timeout") ?? 600) * 1000;

const selected = mutants.filter((m) => !only || m.id === only || m.rule.toLowerCase().includes(only.toLowerCase()));
if (selected.length === 0) {
  console.error(`no mutant matches --only ${JSON.stringify(only)}; ids: ${mutants.map((m) => m.id).join(", ")}`);
  process.exit(2);
}
const ids = new Set();
for (const m of mutants) {
  if (ids.has(m.id)) throw new Error(`scripts/mutants/list.mjs: the id ${m.id} is used twice`);
  ids.add(m.id);
}

const readIn = (root) => (file) => (existsSync(join(root, file)) ? readFileSync(join(root, file), "utf8") : undefined);

// ---------------------------------------------------------------------------------------------
// The table

const results = [];
const started = Date.now();
function record(m, status, caughtBy) {
  const files = [...new Set(editsOf(m).map((e) => e.file))].join(", ");
  results.push({ id: m.id, rule: m.rule, file: files, mutation: m.mutation, caughtBy, status });
  console.log(`[${results.length}/${selected.length}] ${status.padEnd(8)} ${m.id}: ${caughtBy}`);
}

function printTable() {
  const cols = ["rule", "file", "mutation", "caught by", "result"];
  const cell = (s) => String(s).replaceAll("|", "\\|").replaceAll("\n", " ");
  console.log("\n| " + cols.join(" | ") + " |");
  console.log("|" + cols.map(() => "---").join("|") + "|");
  for (const r of results) console.log("| " + [r.rule, r.file, r.mutation, r.caughtBy, r.status].map(cell).join(" | ") + " |");
  const count = (s) => results.filter((r) => r.status === s).length;
  if (flag("check")) return console.log(`\n${results.length} mutants: ${count("APPLIES")} apply, ${count("BROKEN")} broken.`);
  console.log(`\n${results.length} mutants in ${Math.round((Date.now() - started) / 60_000)} min: ${count("CAUGHT")} caught, ${count("SURVIVED")} survived, ${count("PENDING")} pending, ${count("BROKEN")} broken, ${count("TIMEOUT")} timed out.`);
}

// ---------------------------------------------------------------------------------------------
// Every mutant must still apply to the source as it is now.

const applicable = [];
for (const m of selected) {
  const a = applyMutant(m, readIn(repo));
  if (!a.ok) record(m, "BROKEN", `does not apply: ${a.problem} (fix scripts/mutants/list.mjs)`);
  else applicable.push(m);
}
if (flag("check")) {
  for (const m of applicable) record(m, "APPLIES", "-");
  printTable();
  process.exit(results.some((r) => r.status === "BROKEN") ? 1 : 0);
}

// ---------------------------------------------------------------------------------------------
// A copy of the repository to mutate.

const work = mkdtempSync(join(tmpdir(), "ftps-sync-mutants-"));
const copy = join(work, "repo");
function makeCopy() {
  let files;
  try {
    files = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], { cwd: repo, encoding: "utf8" }).split("\0").filter(Boolean);
  } catch {
    files = ["src", "test", "migrations", "scripts", "package.json", "tsconfig.json", "tsconfig.tests.json", "vitest.config.ts"];
  }
  for (const f of files) {
    if (!existsSync(join(repo, f))) continue; // deleted in the working tree, not yet in git
    mkdirSync(dirname(join(copy, f)), { recursive: true });
    cpSync(join(repo, f), join(copy, f), { recursive: true, verbatimSymlinks: true });
  }
  symlinkSync(realpathSync(join(repo, "node_modules")), join(copy, "node_modules"));
}

/**
 * The test files to try first for a mutant: its `tests`, and those named after a mutated file
 * (src/plan/guards.ts: test/.../guards.test.ts). Only a speed-up: a mutant none of them catches
 * gets the whole fast tier.
 */
function firstTestsFor(m) {
  const files = new Set(m.tests ?? []);
  const all = readdirSync(join(copy, "test"), { recursive: true, encoding: "utf8" }).map((f) => `test/${f.split(sep).join("/")}`);
  for (const e of editsOf(m)) {
    const name = `${basename(e.file).replace(/\.[cm]?[jt]s$/, "")}.test.ts`;
    for (const f of all) if (basename(f) === name) files.add(f);
  }
  return [...files].filter((f) => existsSync(join(copy, f)));
}

/** One run of the fast tier (or of `only` files in it) in the copy: { code, failed: [test names], timedOut, log }. */
function runFast(label, only = testFiles) {
  const report = join(work, `${label}.json`);
  const log = join(work, `${label}.log`);
  rmSync(report, { force: true });
  const argv = [join(copy, "node_modules/vitest/vitest.mjs"), "run", ...tiers.flatMap((t) => ["--project", t]), "--reporter=json", `--outputFile=${report}`];
  if (label !== "baseline") argv.push("--bail=1");
  argv.push(...only);
  return new Promise((done) => {
    const out = [];
    // Its own process group, so that a run past the timeout is stopped with all its workers.
    const child = spawn(process.execPath, argv, { cwd: copy, detached: true, stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, CI: "1" } });
    child.stdout.on("data", (d) => out.push(d));
    child.stderr.on("data", (d) => out.push(d));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        // already gone
      }
    }, runTimeoutMs);
    child.on("close", (code) => {
      clearTimeout(timer);
      writeFileSync(log, Buffer.concat(out));
      done({ code, timedOut, log, ...failuresIn(report) });
    });
  });
}

/** Why a run failed with no failing test: the mutant does not compile (the build's first type error), or else. */
function firstProblem(log) {
  const text = readFileSync(log, "utf8");
  const ts = text.match(/^.*error TS\d+:.*$/m);
  return ts ? `the mutant does not compile (${ts[0].trim()})` : "see the log";
}

/** The failed tests of a vitest JSON report ("file: test"), and failed files without one. */
function failuresIn(report) {
  let json;
  try {
    json = JSON.parse(readFileSync(report, "utf8"));
  } catch {
    return { reported: false, failed: [] };
  }
  const failed = [];
  for (const file of json.testResults ?? []) {
    const name = file.name.startsWith(copy) ? file.name.slice(copy.length + 1) : file.name;
    const tests = (file.assertionResults ?? []).filter((t) => t.status === "failed");
    for (const t of tests) failed.push(`${name}: ${t.title}`);
    if (tests.length === 0 && file.status === "failed") failed.push(`${name} (the file failed: ${String(file.message ?? "").split("\n")[0].slice(0, 120)})`);
  }
  return { reported: true, failed };
}

let exitCode = 0;
let keep = false;
try {
  makeCopy();
  console.log(`copy of the repository in ${copy}; tiers ${tiers.join(" and ")}; the unmutated run first`);
  if (testFiles.length) console.log(`only the test files ${testFiles.join(", ")} (--tests): not a full check`);
  const base = await runFast("baseline");
  if (base.timedOut || base.code !== 0 || base.failed.length > 0) {
    console.error(`the unmutated tests do not pass (exit ${base.code}${base.timedOut ? ", timed out" : ""}): fix that first; no mutant was tried.`);
    for (const f of base.failed) console.error(`  failed: ${f}`);
    console.error(`  log: ${base.log} (kept)`);
    keep = true;
    exitCode = 1;
  } else {
    console.log("unmutated: passes");
    await runMutants();
    printTable();
    if (results.some((r) => r.status !== "CAUGHT") || testFiles.length) exitCode = 1;
  }
} finally {
  if (keep || flag("keep")) console.log(`kept ${work} (the copy and each run's log)`);
  else rmSync(work, { recursive: true, force: true });
}
process.exit(exitCode);

async function runMutants() {
  for (const m of applicable) {
    const read = readIn(copy);
    const a = applyMutant(m, read);
    if (!a.ok) {
      record(m, "BROKEN", `does not apply in the copy: ${a.problem}`);
      continue;
    }
    const originals = new Map([...a.files.keys()].map((f) => [f, read(f)]));
    const label = m.id;
    try {
      for (const [f, text] of a.files) writeFileSync(join(copy, f), text);
      // The related test files first: a failure there is as much a catch by the fast tier.
      const first = testFiles.length ? [] : firstTestsFor(m);
      let r = first.length ? await runFast(`${label}.first`, first) : undefined;
      if (!r || (!r.timedOut && r.failed.length === 0)) r = await runFast(label);
      if (r.timedOut || (!r.failed.length && r.code !== 0)) keep = true;
      if (r.timedOut) record(m, "TIMEOUT", `the tests ran past ${runTimeoutMs / 1000} s (log: ${r.log})`);
      else if (r.failed.length > 0) record(m, "CAUGHT", r.failed.slice(0, 2).join("; ") + (r.failed.length > 2 ? ` (+${r.failed.length - 2} more)` : ""));
      else if (r.code !== 0) record(m, "BROKEN", `the run failed without a failing test: ${firstProblem(r.log)}; log: ${r.log}`);
      else if (m.pending) record(m, "PENDING", `no test catches it yet: ${m.pending}`);
      else record(m, "SURVIVED", `no test failed (tiers ${tiers.join(", ")})`);
    } finally {
      for (const [f, text] of originals) writeFileSync(join(copy, f), text);
    }
  }
}
