// `ftps-sync init` on an existing agent.config.json (README "Set it up for your own server"): it
// adds a job, and a remote when the job needs a new one, and leaves the rest of the config as it
// was; --ca trusts a CA instead of pinning; the files it creates name their JSON Schema.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initCommand } from "../../src/cli/commands/init.js";
import { loadConfig } from "../../src/config/load.js";
import { makeSelfSignedCertificate } from "../../src/demo/cert.js";
import { startDemoServer, type DemoServer } from "../../src/demo/ftps-server.js";
import { REPO, runCli } from "../helpers/cli.js";
import { schemaProblems } from "../helpers/json-schemas.js";
import { freePort } from "../servers/real-servers.js";

const PASSWORD = "init-existing-Pw-4z";
const ENV = "INIT_EXISTING_FTP_PASSWORD";
const OTHER_ENV = "INIT_EXISTING_OTHER_PASSWORD";
const readJson = (path: string) => JSON.parse(readFileSync(path, "utf8")) as Record<string, any>;

describe("ftps-sync init on an existing config", () => {
  let root: string;
  let base: string;
  let server: DemoServer;
  let n = 0;
  const cert = makeSelfSignedCertificate();

  /** A folder with a config init did not write: another remote, an http block, its own jobs folder and one job. */
  const existing = (remotes: Record<string, unknown> = {}) => {
    const dir = join(base, `c${++n}`);
    const config = {
      stateDir: "./var/state",
      jobsDir: "./my-jobs",
      log: { level: "warn" },
      maxConcurrentJobs: 3,
      http: { listen: "127.0.0.1:9464" },
      remotes: {
        other: { host: "ftp.other.example", tls: "implicit", user: "o", password: { env: OTHER_ENV }, maxConnections: 2, timeoutSeconds: 12 },
        ...remotes,
      },
    };
    const text = JSON.stringify(config, null, 2) + "\n";
    // The old job's folder is not on this machine (an unmounted share): init adds its job all the same.
    writeFileSync(join(mkdir(join(dir, "my-jobs")), "old.json"), JSON.stringify({ remote: "other", remotePath: "/old", local: "./old-out", direction: "upload" }));
    writeFileSync(join(dir, "agent.config.json"), text);
    return { dir, configPath: join(dir, "agent.config.json"), config, text };
  };
  const mkdir = (p: string) => {
    rmSync(p, { recursive: true, force: true });
    mkdirSync(p, { recursive: true });
    return p;
  };
  const connection = (port = server.port) => ["--host", "127.0.0.1", "--port", String(port), "--tls", "explicit", "--user", "demo", "--password-env", ENV];
  const jobFlags = (dir: string, job = "added") => ["--dir", dir, "--local", join(dir, "new-out"), "--remote-path", "/in", "--direction", "upload", "--job", job];
  const env = { [ENV]: PASSWORD, [OTHER_ENV]: "other-secret" };

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), "ftps-sync-init-existing-root-"));
    base = mkdtempSync(join(tmpdir(), "ftps-sync-init-existing-"));
    server = await startDemoServer({ root, user: "demo", password: PASSWORD, cert: cert.certPem, key: cert.keyPem });
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(root, { recursive: true, force: true });
    rmSync(base, { recursive: true, force: true });
  });

  it("adds a new remote and a job, keeping the other remotes, the http block and every other key as they were", async () => {
    const { dir, configPath, config } = existing();
    const r = await runCli(["init", ...connection(), "--remote", "partner", "--fingerprint", cert.fingerprint, ...jobFlags(dir)], { env });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain("result:       ok");
    expect(r.stderr).toContain(`wrote ${configPath} (added remote "partner"; the rest as it was)`);
    const after = readJson(configPath);
    const { remotes, ...rest } = after;
    const { remotes: remotesBefore, ...restBefore } = config;
    expect(rest).toEqual(restBefore);
    expect(remotes.other).toEqual(remotesBefore.other);
    expect(remotes.partner).toEqual({ host: "127.0.0.1", port: server.port, tls: "explicit", user: "demo", password: { env: ENV }, fingerprint: cert.fingerprint });
    // The job goes to the config's own jobs folder, next to the job that was there.
    expect(readJson(join(dir, "my-jobs", "added.json"))).toMatchObject({ remote: "partner", local: "./new-out", direction: "upload" });
    const { config: loaded } = loadConfig(configPath, { env, jobs: ["added"] });
    expect(Object.keys(loaded.jobs).sort()).toEqual(["added", "old"]);
  });

  it("adds a job on an existing remote without connecting and without rewriting the config", async () => {
    // The remote's port is closed: reading its certificate would fail with exit 4.
    const closed = await freePort();
    const { dir, configPath, text } = existing({ partner: { host: "127.0.0.1", port: closed, tls: "explicit", user: "demo", password: { env: ENV } } });
    const r = await runCli(["init", "--remote", "partner", "--no-check", ...jobFlags(dir)], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`using remote "partner" of ${configPath} as it is`);
    expect(r.stderr).not.toContain("Reading the certificate");
    expect(readFileSync(configPath, "utf8")).toBe(text);
    expect(readJson(join(dir, "my-jobs", "added.json"))).toMatchObject({ remote: "partner", remotePath: "/in" });

    // The same remote found by its address; a config with one remote needs neither.
    expect((await runCli(["init", ...connection(closed), "--no-check", ...jobFlags(dir, "by-host")], { env })).code).toBe(0);
    expect(readJson(join(dir, "my-jobs", "by-host.json")).remote).toBe("partner");
    expect(readFileSync(configPath, "utf8")).toBe(text);
  });

  it("in a terminal, asks which remote, and for an existing one asks nothing about the connection", async () => {
    const { dir, configPath, text } = existing({ partner: { host: "127.0.0.1", port: server.port, tls: "explicit", user: "demo", password: { env: ENV } } });
    const script: Array<[string, string]> = [
      ["Remote: one of other, partner, or a new name [other]", "partner"],
      ["Local folder", join(dir, "asked")],
      ["Folder on the server", "/asked"],
      ["Direction", "download"],
      ["Cron schedule", ""],
    ];
    const asked: string[] = [];
    const code = await initCommand({ dir, check: false }, {
      interactive: true,
      out: () => {},
      ask: async (q) => {
        asked.push(q);
        const next = script[asked.length - 1];
        if (!next || !q.includes(next[0])) throw new Error(`unexpected question ${JSON.stringify(q)}`);
        return next[1];
      },
    });
    expect(code).toBe(0);
    expect(asked).toHaveLength(script.length);
    expect(readFileSync(configPath, "utf8")).toBe(text);
    expect(readJson(join(dir, "my-jobs", "download-asked.json"))).toMatchObject({ remote: "partner", remotePath: "/asked", local: "./asked", direction: "download" });
  });

  it("a connection flag that says otherwise of an existing remote: exit 2, nothing written; with --force it replaces only the connection settings", async () => {
    const { dir, configPath, text } = existing({ partner: { host: "127.0.0.1", port: server.port, tls: "explicit", user: "someone-else", password: { env: ENV }, maxConnections: 7, timeoutSeconds: 9 } });
    const refused = await runCli(["init", "--remote", "partner", "--user", "demo", "--no-check", ...jobFlags(dir)], { env });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`remote "partner" already exists in ${configPath}, and --user says otherwise: init does not change it`);
    expect(readFileSync(configPath, "utf8")).toBe(text);
    expect(existsSync(join(dir, "my-jobs", "added.json"))).toBe(false);

    const forced = await runCli(["init", ...connection(), "--remote", "partner", "--fingerprint", cert.fingerprint, "--force", ...jobFlags(dir)], { env });
    expect(forced.code, forced.stderr + forced.stdout).toBe(0);
    expect(forced.stderr).toContain(`(replaced remote "partner"; the rest as it was)`);
    const after = readJson(configPath);
    expect(after.remotes.partner).toEqual({
      host: "127.0.0.1", port: server.port, tls: "explicit", user: "demo", password: { env: ENV }, fingerprint: cert.fingerprint, maxConnections: 7, timeoutSeconds: 9,
    });
    expect(after.remotes.other).toEqual(JSON.parse(text).remotes.other);
  });

  it("with several remotes and neither --remote nor --host: exit 2 naming them; an invalid config is refused, not overwritten", async () => {
    const { dir } = existing({ second: { host: "h2", tls: "explicit", user: "u", password: { env: ENV } } });
    const r = await runCli(["init", "--no-check", ...jobFlags(dir)], { env });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("has 2 remotes: name the job's remote with --remote (one of other, second)");

    // A new address whose default name (its host) is taken by a remote on another port: not replaced without --force.
    const taken = existing({ "127.0.0.1": { host: "127.0.0.1", port: 1, tls: "explicit", user: "u", password: { env: ENV } } });
    const t = await runCli(["init", ...connection(), "--fingerprint", cert.fingerprint, "--no-check", ...jobFlags(taken.dir)], { env });
    expect(t.code).toBe(2);
    expect(t.stderr).toContain('remote "127.0.0.1" already exists');
    expect(readFileSync(taken.configPath, "utf8")).toBe(taken.text);

    const broken = join(base, "broken");
    mkdir(broken);
    writeFileSync(join(broken, "agent.config.json"), '{ "remotes": { "x": { "host": "h" } } }');
    const b = await runCli(["init", ...connection(), "--fingerprint", cert.fingerprint, "--force", ...jobFlags(broken)], { env });
    expect(b.code).toBe(2);
    expect(b.stderr).toContain("init adds to a valid config only");
    expect(readFileSync(join(broken, "agent.config.json"), "utf8")).toBe('{ "remotes": { "x": { "host": "h" } } }');
  });

  it("--ca: a certificate that the given CA signed is trusted without a pin, the ca written into the remote, and check passes", async () => {
    const dir = mkdir(join(base, "ca"));
    const caFile = join(dir, "partner-ca.pem");
    // The demo certificate is self-signed: it is its own CA.
    writeFileSync(caFile, cert.certPem);
    const r = await runCli(["init", ...connection(), "--ca", caFile, ...jobFlags(dir)], { env, cwd: dir });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stderr).toContain("trusted by the system store or --ca: yes");
    expect(r.stdout).toContain("trusted by:   certificate chain");
    const remote = readJson(join(dir, "agent.config.json")).remotes["127.0.0.1"];
    expect(remote.ca).toBe("./partner-ca.pem");
    expect(remote.fingerprint).toBeUndefined();

    // A CA that did not sign it: refused without a terminal, as an untrusted certificate is.
    const other = join(dir, "other-ca.pem");
    writeFileSync(other, makeSelfSignedCertificate().certPem);
    const refused = await runCli(["init", ...connection(), "--ca", other, ...jobFlags(join(base, "ca2"))], { env });
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain("is not trusted by the system store or --ca");
    const missing = await runCli(["init", ...connection(), "--ca", join(dir, "nope.pem"), ...jobFlags(join(base, "ca3"))], { env });
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("--ca");
  });

  it("the files it creates name the package's JSON Schemas in $schema, and are valid against them", async () => {
    const dir = mkdir(join(base, "schema"));
    const r = await runCli(["init", ...connection(), "--fingerprint", cert.fingerprint, "--no-check", ...jobFlags(dir)], { env });
    expect(r.code, r.stderr).toBe(0);
    for (const [file, schema] of [["agent.config.json", "agent-config.schema.json"], [join("jobs", "added.json"), "job.schema.json"]]) {
      const written = readJson(join(dir, file));
      expect(Object.keys(written)[0]).toBe("$schema");
      expect(fileURLToPath(written.$schema)).toBe(join(REPO, "schemas", schema));
      expect(existsSync(fileURLToPath(written.$schema))).toBe(true);
      expect(schemaProblems(schema, written)).toEqual([]);
    }
    expect(dirname(fileURLToPath(readJson(join(dir, "agent.config.json")).$schema))).toBe(join(REPO, "schemas"));
  });
});
