// `ftps-sync init` in flags mode writes a config that the loader validates and `check` accepts,
// against the embedded server (the same against a real ProFTPD: init-proftpd.test.ts); it never
// writes a password and never overwrites without --force.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initCommand } from "../../src/cli/commands/init.js";
import { loadConfig } from "../../src/config/load.js";
import { makeSelfSignedCertificate } from "../../src/demo/cert.js";
import { startDemoServer, type DemoServer } from "../../src/demo/ftps-server.js";
import { runCli } from "../helpers/cli.js";

const PASSWORD = "init-test-Pw-8q";
const ENV = "INIT_TEST_FTP_PASSWORD";

function allFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

describe("ftps-sync init against the embedded server", () => {
  let root: string;
  let base: string;
  let server: DemoServer;
  const cert = makeSelfSignedCertificate();
  /** init's flags; the certificate is untrusted, so by default its expected fingerprint is given. */
  const flags = (dir: string, extra: string[] = [], pinning = ["--fingerprint", cert.fingerprint]) => [
    "init", "--dir", dir, "--host", "127.0.0.1", "--port", String(server.port), "--tls", "explicit", "--user", "demo",
    "--password-env", ENV, "--local", join(dir, "outbox"), "--remote-path", "/incoming", "--direction", "upload",
    "--schedule", "0 2 * * *", "--job", "nightly", ...pinning, ...extra,
  ];

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), "ftps-sync-init-root-"));
    base = mkdtempSync(join(tmpdir(), "ftps-sync-init-"));
    server = await startDemoServer({ root, user: "demo", password: PASSWORD, cert: cert.certPem, key: cert.keyPem });
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(root, { recursive: true, force: true });
    rmSync(base, { recursive: true, force: true });
  });

  it("with --fingerprint that matches: writes a config that pins the untrusted certificate, validates, and passes check", async () => {
    const dir = join(base, "a");
    const r = await runCli(flags(dir), { env: { [ENV]: PASSWORD } });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain("result:       ok");
    expect(r.stderr).toContain("certificate pinned");

    const config = JSON.parse(readFileSync(join(dir, "agent.config.json"), "utf8"));
    expect(config.remotes["127.0.0.1"]).toMatchObject({
      host: "127.0.0.1", port: server.port, tls: "explicit", user: "demo", password: { env: ENV }, fingerprint: cert.fingerprint,
    });
    const job = JSON.parse(readFileSync(join(dir, "jobs", "nightly.json"), "utf8"));
    expect(job).toMatchObject({ remote: "127.0.0.1", remotePath: "/incoming", local: "./outbox", direction: "upload", schedule: "0 2 * * *" });
    expect(existsSync(join(dir, "outbox"))).toBe(true);

    // The agent's loader accepts it as written.
    const { config: loaded } = loadConfig(join(dir, "agent.config.json"), { env: { [ENV]: PASSWORD } });
    expect(loaded.jobs.nightly.local).toBe(join(dir, "outbox"));

    // No password in any file written.
    for (const f of allFiles(dir)) expect(readFileSync(f, "utf8")).not.toContain(PASSWORD);

    const check = await runCli(["--config", join(dir, "agent.config.json"), "check"], { env: { [ENV]: PASSWORD } });
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toContain("trusted by:   pinned fingerprint");
  });

  it("refuses to overwrite an existing config without --force", async () => {
    const dir = join(base, "b");
    expect((await runCli(flags(dir), { env: { [ENV]: PASSWORD } })).code).toBe(0);
    const before = readFileSync(join(dir, "agent.config.json"), "utf8");
    const again = await runCli(flags(dir), { env: { [ENV]: PASSWORD } });
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("already exists; use --force");
    expect(readFileSync(join(dir, "agent.config.json"), "utf8")).toBe(before);
    const forced = await runCli(flags(dir, ["--force", "--no-check"]), { env: { [ENV]: PASSWORD } });
    expect(forced.code, forced.stderr).toBe(0);
  });

  it("without the password variable set: writes, validates, and says what to do next", async () => {
    const dir = join(base, "c");
    const r = await runCli(flags(dir), { env: { [ENV]: "" } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`export ${ENV}=`);
    expect(r.stderr).toContain(`--config ${join(dir, "agent.config.json")} check`);
    expect(() => loadConfig(join(dir, "agent.config.json"), { env: { [ENV]: "x" } })).not.toThrow();
  });

  it("with --password-file: stores the path relative to the config, never the password", async () => {
    const dir = join(base, "d");
    const r0 = await runCli(["init", "--dir", dir, "--host", "127.0.0.1", "--port", String(server.port), "--user", "demo",
      "--password-file", join(dir, "secrets", "ftp.pass"), "--local", join(dir, "in"), "--remote-path", "/", "--direction", "download"]);
    expect(r0.code).toBe(2);
    expect(r0.stderr).toContain("does not exist");
    expect(existsSync(join(dir, "agent.config.json"))).toBe(false);

    const secretDir = join(dir, "secrets");
    rmSync(secretDir, { recursive: true, force: true });
    mkdirSync(secretDir, { recursive: true });
    writeFileSync(join(secretDir, "ftp.pass"), PASSWORD + "\n", { mode: 0o600 });
    const r = await runCli(["init", "--dir", dir, "--host", "127.0.0.1", "--port", String(server.port), "--user", "demo",
      "--password-file", join(dir, "secrets", "ftp.pass"), "--local", join(dir, "in"), "--remote-path", "/", "--direction", "download",
      "--fingerprint", cert.fingerprint]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const config = JSON.parse(readFileSync(join(dir, "agent.config.json"), "utf8"));
    expect(config.remotes["127.0.0.1"].password).toEqual({ file: "./secrets/ftp.pass" });
    expect(existsSync(join(dir, "jobs", "download-in.json"))).toBe(true);
    expect(readFileSync(join(dir, "agent.config.json"), "utf8")).not.toContain(PASSWORD);
  });

  it("without a terminal, an untrusted certificate with neither --fingerprint nor --pin: exit 4, nothing pinned or written", async () => {
    const dir = join(base, "tofu");
    const r = await runCli(flags(dir, [], []), { env: { [ENV]: PASSWORD } });
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toContain("is not trusted by the system store, and without a terminal nobody can confirm it");
    expect(r.stderr).toContain(`--fingerprint ${cert.fingerprint}`);
    expect(existsSync(join(dir, "agent.config.json"))).toBe(false);
    expect(existsSync(join(dir, "jobs", "nightly.json"))).toBe(false);
  });

  it("--fingerprint that the server's certificate does not match: exit 4, nothing written", async () => {
    const dir = join(base, "mismatch");
    const wrong = "sha256:" + Array(32).fill("AB").join(":");
    const r = await runCli(flags(dir, [], ["--fingerprint", wrong]), { env: { [ENV]: PASSWORD } });
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toContain(`has the fingerprint ${cert.fingerprint}, not ${wrong} (--fingerprint): nothing was written`);
    expect(existsSync(join(dir, "agent.config.json"))).toBe(false);
  });

  it("--fingerprint in openssl's form is accepted; a malformed one or one with --no-pin is a usage error before connecting", async () => {
    const dir = join(base, "forms");
    const openssl = `sha256 Fingerprint=${cert.fingerprint.slice("sha256:".length)}`;
    const ok = await runCli(flags(dir, ["--no-check"], ["--fingerprint", openssl]), { env: { [ENV]: PASSWORD } });
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, "agent.config.json"), "utf8")).remotes["127.0.0.1"].fingerprint).toBe(cert.fingerprint);
    const bad = await runCli(flags(join(base, "forms2"), [], ["--fingerprint", "AB:CD"]), { env: { [ENV]: PASSWORD } });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--fingerprint must be a SHA-256 certificate fingerprint");
    const both = await runCli(flags(join(base, "forms3"), ["--no-pin"]), { env: { [ENV]: PASSWORD } });
    expect(both.code).toBe(2);
    expect(both.stderr).toContain("give --fingerprint or --no-pin, not both");
  });

  it("--pin without a terminal pins whatever the server shows, as asked", async () => {
    const dir = join(base, "pin");
    const r = await runCli(flags(dir, ["--no-check"], ["--pin"]), { env: { [ENV]: PASSWORD } });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, "agent.config.json"), "utf8")).remotes["127.0.0.1"].fingerprint).toBe(cert.fingerprint);
  });

  it("--no-pin on an untrusted certificate: written unpinned, and check refuses it (exit 4)", async () => {
    const dir = join(base, "e");
    const r = await runCli(flags(dir, ["--no-pin"], []), { env: { [ENV]: PASSWORD } });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain("not pinned and not trusted");
    expect(JSON.parse(readFileSync(join(dir, "agent.config.json"), "utf8")).remotes["127.0.0.1"].fingerprint).toBeUndefined();
  });

  it("names the missing flags when stdin is not a terminal, and writes nothing", async () => {
    const dir = join(base, "f");
    const r = await runCli(["init", "--dir", dir, "--host", "127.0.0.1"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/missing --user, .*--local, --remote-path/);
    expect(existsSync(dir)).toBe(false);
  });

  it("asks for what the flags do not give when stdin is a terminal, and never for a password", async () => {
    const dir = join(base, "h");
    const script: Array<[string, string]> = [
      ["host", "127.0.0.1"],
      ["TLS mode", ""],
      ["Port [21]", String(server.port)],
      ["User name", "demo"],
      ["environment variable (env) or a file", ""],
      ["Name of the environment variable [FTP_PASSWORD]", ENV],
      ["Local folder", join(dir, "shared")],
      ["Folder on the server", "/exchange"],
      ["Direction", "two-way"],
      ["Cron schedule", ""],
      ["Pin this fingerprint", ""],
    ];
    const asked: string[] = [];
    const code = await initCommand(
      { dir, check: false },
      {
        interactive: true,
        out: () => {},
        ask: async (q) => {
          asked.push(q);
          const next = script[asked.length - 1];
          if (!next || !q.includes(next[0])) throw new Error(`unexpected question ${JSON.stringify(q)}`);
          return next[1];
        },
      },
    );
    expect(code).toBe(0);
    expect(asked).toHaveLength(script.length);
    expect(asked.join("\n")).not.toMatch(/password:/i);
    const config = JSON.parse(readFileSync(join(dir, "agent.config.json"), "utf8"));
    expect(config.remotes["127.0.0.1"]).toMatchObject({ tls: "explicit", password: { env: ENV }, fingerprint: cert.fingerprint });
    const job = JSON.parse(readFileSync(join(dir, "jobs", "two-way-shared.json"), "utf8"));
    expect(job).toEqual({
      $schema: expect.stringMatching(/^file:.*\/schemas\/job\.schema\.json$/), remote: "127.0.0.1", remotePath: "/exchange", local: "./shared", direction: "two-way", delete: "never",
    });
  });

  it("rejects a bad schedule with the loader's own message, before connecting", async () => {
    const dir = join(base, "g");
    const r = await runCli(flags(dir).map((a) => (a === "0 2 * * *" ? "every night" : a)), { env: { [ENV]: PASSWORD } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('field "schedule"');
    expect(existsSync(join(dir, "agent.config.json"))).toBe(false);
  });
});
