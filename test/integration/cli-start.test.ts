import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { testTempDir } from "../helpers/temp-dir.js";

// What the built command loads before it does anything: each command's modules are loaded when it
// runs (src/cli/lazy-app.ts), so a command that needs no state database, TLS or HTTP does not pay
// for them at start. A preloaded recorder writes, at exit, the external modules the process
// required and Node's own modules it loaded.
const RECORDER = `
"use strict";
process.on("exit", () => {
  require("node:fs").writeFileSync(process.env.FTPS_SYNC_TEST_LOADED, JSON.stringify({
    required: Object.keys(require.cache),
    builtins: process.moduleLoadList.filter((m) => m.startsWith("NativeModule ")).map((m) => m.slice("NativeModule ".length)),
  }));
});
`;

async function loadedBy(args: string[], cwd?: string): Promise<{ code: number | null; stdout: string; required: string[]; builtins: string[] }> {
  const dir = testTempDir("loaded");
  const recorder = join(dir, "recorder.cjs");
  const out = join(dir, "loaded.json");
  writeFileSync(recorder, RECORDER);
  const r = await runCli(args, { cwd, env: { NODE_OPTIONS: `--require ${recorder}`, FTPS_SYNC_TEST_LOADED: out } });
  const loaded = JSON.parse(readFileSync(out, "utf8")) as { required: string[]; builtins: string[] };
  return { code: r.code, stdout: r.stdout, ...loaded };
}

const version = (JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string }).version;

/** A folder with an agent.config.json of no remotes and an empty jobs folder. */
function emptyAgent(name: string): string {
  const dir = testTempDir(name);
  mkdirSync(join(dir, "jobs"));
  writeFileSync(join(dir, "agent.config.json"), JSON.stringify({ stateDir: "./state", jobsDir: "./jobs", remotes: {} }));
  return dir;
}

describe("the command's start", () => {
  it("prints --version without loading the state database's native addon, TLS, HTTP or worker threads", async () => {
    const r = await loadedBy(["--version"]);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(version);
    expect(r.required.filter((f) => f.includes("better-sqlite3"))).toEqual([]);
    expect(r.builtins.filter((m) => ["tls", "_tls_wrap", "http", "worker_threads", "zlib"].includes(m))).toEqual([]);
  });

  it("prints --help, and a command's help, without loading the state database or TLS", async () => {
    for (const args of [["--help"], ["sync", "--help"]]) {
      const r = await loadedBy(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^Usage: ftps-sync/);
      expect(r.required.filter((f) => f.includes("better-sqlite3"))).toEqual([]);
      expect(r.builtins).not.toContain("tls");
    }
  });

  it("validates a config without opening the state database or loading TLS", async () => {
    const dir = emptyAgent("validate-start");
    const r = await loadedBy(["--config", join(dir, "agent.config.json"), "validate"], dir);
    expect(r.code).toBe(0);
    expect(r.required.filter((f) => f.includes("better-sqlite3"))).toEqual([]);
    expect(r.builtins).not.toContain("tls");
  });

  it("prints only its one JSON object on stdout when DEBUG asks every library for its debug lines", async () => {
    const dir = emptyAgent("debug-env");
    for (const debug of ["*", "winston:*"]) {
      const r = await runCli(["--config", join(dir, "agent.config.json"), "status", "--json"], { cwd: dir, env: { DEBUG: debug } });
      expect(r.code).toBe(0);
      const lines = r.stdout.split("\n").filter(Boolean);
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0])).toMatchObject({ schema: "ftps-sync/status/v1", ok: true });
    }
  });
});
