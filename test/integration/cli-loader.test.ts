import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

// The built command (the suite's global setup builds dist/ first): the loader dist/bin/ftps-sync.js
// runs the bundle dist/bin/ftps-sync.cjs through a V8 code cache per command. A private copy of the
// two files, so that the caches these tests make and spoil are their own.
const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

describe("the command's loader and its code caches", () => {
  let root: string;
  let bin: string;
  let hash: string;
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), "ftps-sync-loader-"));
    bin = join(root, "dist", "bin");
    mkdirSync(bin, { recursive: true });
    for (const f of ["ftps-sync.js", "ftps-sync.cjs"]) copyFileSync(join(repo, "dist", "bin", f), join(bin, f));
    // The bundle finds ../../package.json and its one external dependency from where it sits.
    symlinkSync(join(repo, "package.json"), join(root, "package.json"));
    symlinkSync(join(repo, "node_modules"), join(root, "node_modules"));
    // ... and, for a command that opens the state, the migrations.
    symlinkSync(join(repo, "migrations"), join(root, "migrations"));
    hash = createHash("sha256").update(readFileSync(join(bin, "ftps-sync.cjs"))).digest("hex").slice(0, 16);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const run = (...args: string[]) => execFileSync(process.execPath, [join(bin, "ftps-sync.js"), ...args], { encoding: "utf8" });
  const caches = () => readdirSync(bin).filter((f) => f.endsWith(".v8-cache")).sort();
  const version = (JSON.parse(readFileSync(join(repo, "package.json"), "utf8")) as { version: string }).version;

  it("writes a cache named after the bundle's hash and the command, and runs the same with it", () => {
    expect(caches()).toEqual([]);
    expect(run("--version").trim()).toBe(version);
    expect(caches()).toEqual([`.ftps-sync.${hash}.other.v8-cache`]);
    // A command's help loads none of the command's modules: it is "other", whose cache is there.
    const help = run("--config", "/nowhere.json", "status", "--help");
    expect(help).toMatch(/Usage: ftps-sync status/);
    expect(caches()).toEqual([`.ftps-sync.${hash}.other.v8-cache`]);
    // A config error (exit 2) stops before the command's modules load: no cache taken from it.
    expect(() => run("--config", join(root, "nowhere.json"), "status")).toThrow();
    expect(caches()).toEqual([`.ftps-sync.${hash}.other.v8-cache`]);
    const config = join(root, "agent.config.json");
    mkdirSync(join(root, "jobs"));
    writeFileSync(config, JSON.stringify({ stateDir: "./state", jobsDir: "./jobs", remotes: {} }));
    const status = run("--config", config, "status");
    expect(status).toMatch(/agent: not running/);
    expect(caches()).toEqual([`.ftps-sync.${hash}.other.v8-cache`, `.ftps-sync.${hash}.status.v8-cache`]);
    // With the caches in place: the same output, and the caches are not rewritten.
    const before = caches().map((f) => readFileSync(join(bin, f)));
    expect(run("--version").trim()).toBe(version);
    expect(run("status", "--help")).toBe(help);
    expect(run("--config", config, "status")).toBe(status);
    expect(caches().map((f) => readFileSync(join(bin, f)))).toEqual(before);
  });

  it("replaces a cache that V8 refuses, and the run goes on", () => {
    const cache = join(bin, `.ftps-sync.${hash}.other.v8-cache`);
    writeFileSync(cache, "not a code cache at all");
    expect(run("--version").trim()).toBe(version);
    expect(readFileSync(cache).length).toBeGreaterThan(10_000);
    expect(readFileSync(cache, "latin1")).not.toContain("not a code cache");
  });

  it("is given the bundle as plain ASCII, already wrapped as the function it runs", () => {
    const bytes = readFileSync(join(bin, "ftps-sync.cjs"));
    expect(bytes.findIndex((b) => b > 0x7f)).toBe(-1);
    const text = bytes.toString("latin1");
    expect(text.startsWith("(function (exports, require, module, __filename, __dirname) {")).toBe(true);
    expect(text.endsWith("\n})")).toBe(true);
  });

  it("is built with the hash of the bundle it loads", () => {
    expect(readFileSync(join(repo, "dist", "bin", "ftps-sync.js"), "utf8")).toContain(`const BUNDLE_HASH = "${hash}";`);
  });
});
