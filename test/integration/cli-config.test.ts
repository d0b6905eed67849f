import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup(config: string, jobs: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), "ftps-sync-cfg-"));
  dirs.push(dir);
  mkdirSync(join(dir, "jobs"));
  mkdirSync(join(dir, "data"));
  writeFileSync(join(dir, "agent.config.json"), config);
  for (const [name, text] of Object.entries(jobs)) writeFileSync(join(dir, "jobs", `${name}.json`), text);
  return dir;
}

const remote = `"srv": { "host": "127.0.0.1", "tls": "explicit", "user": "u", "password": { "env": "CFG_TEST_PW" } }`;

describe("the CLI on a bad configuration", () => {
  it.each([
    ["bad JSON", `{ "remotes": { ${remote}, } }`, {}, /agent\.config\.json.*(JSON|line)/],
    ["a literal password", `{ "remotes": { "srv": { "host": "h", "tls": "explicit", "user": "u", "password": "hunter2" } } }`, {}, /agent\.config\.json.*password.*env.*file/],
    ["plaintext mode", `{ "remotes": { "srv": { "host": "h", "tls": "none", "user": "u", "password": { "env": "X" } } } }`, {}, /tls.*no plaintext mode/],
    ["an unknown key in a job", `{ "remotes": { ${remote} } }`, { nightly: `{ "remote": "srv", "remotePath": "/x", "local": "./data", "direction": "upload", "dirction": "upload" }` }, /nightly\.json.*dirction/],
    ["an unknown remote", `{ "remotes": { ${remote} } }`, { nightly: `{ "remote": "nope", "remotePath": "/x", "local": "./data", "direction": "upload" }` }, /nightly\.json.*remote.*nope/],
    ["a bad cron expression", `{ "remotes": { ${remote} } }`, { nightly: `{ "remote": "srv", "remotePath": "/x", "local": "./data", "direction": "upload", "schedule": "99 * * * *" }` }, /nightly\.json.*schedule/],
  ])("exits 2 with one message naming the file and field for %s", async (_what, config, jobs, message) => {
    const dir = setup(config, jobs);
    const r = await runCli(["--config", join(dir, "agent.config.json"), "sync", "nightly"], { env: { CFG_TEST_PW: "x" } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr.trim().split("\n").length).toBe(1);
    expect(r.stderr).not.toContain("hunter2");
  });

  it("exits 2 naming the variable when the password's env variable is missing", async () => {
    const dir = setup(`{ "remotes": { ${remote} } }`);
    const r = await runCli(["--config", join(dir, "agent.config.json"), "check"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/CFG_TEST_PW/);
  });

  it("reads the config path from FTPS_SYNC_CONFIG", async () => {
    const dir = setup(`{ "remotes": { ${remote}, } }`);
    const r = await runCli(["check"], { env: { FTPS_SYNC_CONFIG: join(dir, "agent.config.json") } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(join(dir, "agent.config.json"));
  });

  it("exits 2 on an unknown command or option", async () => {
    expect((await runCli(["frobnicate"])).code).toBe(2);
    expect((await runCli(["sync", "x", "--no-such-flag"])).code).toBe(2);
  });

  it("prints the version and help with exit 0", async () => {
    const v = await runCli(["--version"]);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const h = await runCli(["--help"]);
    expect(h.code).toBe(0);
    for (const cmd of ["check", "fingerprint", "sync", "plan", "run", "status", "history", "demo", "init"]) expect(h.stdout).toContain(cmd);
  });
});
