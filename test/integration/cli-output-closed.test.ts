// A reader that goes away before the command has written everything (`ftps-sync status --json |
// head -c 100`): the command ends as it would have, with no crash and no stack trace.
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLI } from "../helpers/cli.js";
import { testTempDir } from "../helpers/temp-dir.js";

/** Runs the command with its stdout's reader closed at once: its exit code and what it wrote to stderr. */
function withStdoutClosed(args: string[], env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, FTPS_SYNC_CONFIG: "", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    child.stdout.destroy();
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    child.on("error", reject);
    child.on("close", (code) => (clearTimeout(timer), resolve({ code, stderr })));
  });
}

describe("a command whose output's reader has gone", () => {
  it("status --json of 300 jobs: exits as it would have (0), with nothing on stderr", async () => {
    const dir = testTempDir("stdout-closed");
    mkdirSync(join(dir, "jobs"));
    mkdirSync(join(dir, "local"));
    writeFileSync(
      join(dir, "agent.config.json"),
      JSON.stringify({ stateDir: "./state", jobsDir: "./jobs", remotes: { srv: { host: "127.0.0.1", port: 9, tls: "explicit", user: "u", password: { env: "CLOSED_PW" } } } }),
    );
    for (let i = 0; i < 300; i++) writeFileSync(join(dir, "jobs", `job${i}.json`), JSON.stringify({ remote: "srv", remotePath: "/x", local: "./local", direction: "upload" }));
    const r = await withStdoutClosed(["--config", join(dir, "agent.config.json"), "status", "--json"], { CLOSED_PW: "x" });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });

  it("--help: exits 0, with nothing on stderr", async () => {
    const r = await withStdoutClosed(["--help"], {});
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
  });
});
