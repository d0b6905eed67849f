import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import { promisify } from "node:util";
import { Ajv2020 } from "ajv/dist/2020.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeSelfSignedCertificate } from "../../src/demo/cert.js";
import { startDemoServer, type DemoServer } from "../../src/demo/ftps-server.js";
import { REPO } from "../helpers/cli.js";
import { testTempDir } from "../helpers/temp-dir.js";

// The package as an operator gets it: `npm pack` (whose prepack builds), then a global install of
// the tarball into a temporary prefix, with install scripts allowed for better-sqlite3 alone, run
// with the Node that runs this test (so CI's second Node leg installs for its own ABI).
//
// Two things keep it quick and off the network, neither of them part of what is tested:
// - the dependencies come from npm's cache (filled by `npm ci`); --prefer-offline asks the
//   registry only for what the cache lacks;
// - better-sqlite3's install script (prebuild-install) is pointed at a local prebuild, made from
//   this checkout's own compiled addon, instead of compiling SQLite for a minute or more (its
//   fallback here, as the prebuilt binaries' host cannot be reached). On a machine that can reach
//   it, the same script downloads the matching binary.

const exec = promisify(execFile);
const pkg = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")) as {
  name: string;
  version: string;
  devDependencies: Record<string, string>;
};
/** The test's Node first on PATH: npm, the install script and the installed command all run on it. */
const PATH = [dirname(process.execPath), process.env.PATH].join(delimiter);
const env = { ...process.env, PATH, FTPS_SYNC_CONFIG: "", npm_config_update_notifier: "false", npm_config_fund: "false", npm_config_audit: "false" };

const work = testTempDir("package");
const prefix = join(work, "prefix");
const installed = join(prefix, "lib", "node_modules", pkg.name);
const command = join(prefix, "bin", pkg.name);
let tarballFiles: string[] = [];

/** A copy of what the build reads, so that prepack builds there, not under tests that run the repository's build. */
function copySources(into: string): void {
  mkdirSync(into);
  for (const entry of ["package.json", "package-lock.json", ".npmrc", "README.md", "LICENSE", "tsconfig.json", "src", "scripts", "migrations", "deploy", "schemas"]) {
    if (existsSync(join(REPO, entry))) cpSync(join(REPO, entry), join(into, entry), { recursive: true });
  }
  symlinkSync(join(REPO, "node_modules"), join(into, "node_modules"));
}

/** better-sqlite3's compiled addon as the prebuild that prebuild-install looks for, for this Node's ABI. */
async function localPrebuild(): Promise<void> {
  const addon = join(REPO, "node_modules", "better-sqlite3");
  const { version } = JSON.parse(readFileSync(join(addon, "package.json"), "utf8")) as { version: string };
  const prebuilds = join(work, "prebuilds");
  mkdirSync(prebuilds);
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  await exec("tar", ["-czf", join(prebuilds, name), "-C", addon, "build/Release/better_sqlite3.node"]);
  // prebuild-install reads its settings from a .prebuild-installrc in a parent of the package's folder.
  writeFileSync(join(work, ".prebuild-installrc"), `local-prebuilds=${prebuilds}\n`);
}

beforeAll(async () => {
  const source = join(work, "source");
  copySources(source);
  await exec("npm", ["pack", "--pack-destination", work, "--loglevel=error"], { cwd: source, env, timeout: 60_000 });
  const tarball = join(work, `${pkg.name}-${pkg.version}.tgz`);
  tarballFiles = (await exec("tar", ["-tzf", tarball])).stdout.split("\n").filter(Boolean).map((f) => f.replace(/^package\//, ""));

  await localPrebuild();
  mkdirSync(join(prefix, "lib"), { recursive: true });
  await exec(
    "npm",
    ["install", "--global", "--prefix", prefix, tarball, "--prefer-offline", "--allow-scripts=better-sqlite3", "--strict-allow-scripts", "--loglevel=error"],
    { cwd: work, env, timeout: 60_000 },
  );
}, 120_000);

const run = (args: string[], cwd = work, extraEnv: Record<string, string> = {}) => exec(command, args, { cwd, env: { ...env, ...extraEnv }, timeout: 30_000 });

/** Like run, for a command expected to fail: its exit code and output instead of a rejection. */
const runFailing = (args: string[], cwd = work, extraEnv: Record<string, string> = {}) =>
  run(args, cwd, extraEnv).then(
    (r) => ({ code: 0, ...r }),
    (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
  );

/** Problems of a --json output against the schema the INSTALLED package ships for it (none when valid). */
function installedSchemaProblems(obj: { schema?: unknown }): string[] {
  const m = /^ftps-sync\/([a-z-]+)\/v1$/.exec(String(obj.schema));
  if (!m) return [`no "schema" naming the output: ${JSON.stringify(obj)}`];
  const schema = JSON.parse(readFileSync(join(installed, "schemas", "output", `${m[1]}.schema.json`), "utf8")) as object;
  const validate = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true }).compile(schema);
  return validate(obj) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message ?? ""}`);
}

/** The one JSON object a --json command printed, checked against the installed schema. */
function oneObject(stdout: string): Record<string, unknown> {
  const lines = stdout.split("\n").filter((l) => l.trim() !== "");
  expect(lines).toHaveLength(1);
  const obj = JSON.parse(lines[0]) as Record<string, unknown>;
  expect(installedSchemaProblems(obj)).toEqual([]);
  return obj;
}

describe("the npm package", () => {
  it("holds the bundled command, the migrations, the man page, the completions, the licence and the README, and no tsc output or source map", () => {
    expect(tarballFiles).toEqual(expect.arrayContaining(["dist/bin/ftps-sync.js", "dist/bin/ftps-sync.cjs", "dist/bin/scan-worker.js"]));
    expect(tarballFiles).toEqual(expect.arrayContaining(["LICENSE", "README.md", "package.json", "man/ftps-sync.1"]));
    expect(tarballFiles).toEqual(expect.arrayContaining(["completions/ftps-sync.bash", "completions/_ftps-sync", "completions/ftps-sync.fish"]));
    expect(tarballFiles).toEqual(expect.arrayContaining(["deploy/ftps-sync.service"]));
    const migrations = readdirSync(join(REPO, "migrations")).map((f) => `migrations/${f}`);
    expect(migrations.length).toBeGreaterThan(0);
    expect(tarballFiles).toEqual(expect.arrayContaining(migrations));
    expect(tarballFiles.filter((f) => f.endsWith(".map"))).toEqual([]);
    expect(tarballFiles.filter((f) => f.startsWith("dist/") && !f.startsWith("dist/bin/"))).toEqual([]);
  });

  it("installs globally from the tarball with only better-sqlite3's install script allowed, and without the bundled dependencies", () => {
    expect(existsSync(join(installed, "node_modules", "better-sqlite3", "build", "Release", "better_sqlite3.node"))).toBe(true);
    // Bundled into dist/bin/ftps-sync.cjs: none of them belongs in the install.
    const bundled = Object.keys(pkg.devDependencies).filter((d) => existsSync(join(installed, "node_modules", d)));
    expect(bundled).toEqual([]);
  });

  it("puts a working ftps-sync command on the prefix's PATH that prints its help and version", async () => {
    const help = await run(["--help"]);
    for (const name of ["check", "sync", "plan", "run", "status", "history", "init"]) expect(help.stdout).toMatch(new RegExp(`^  ${name}\\b`, "m"));
    expect((await run(["--version"])).stdout.trim()).toBe(pkg.version);
  });

  it("opens a state database with the installed better-sqlite3 and migrations (status --json on an empty agent)", async () => {
    const dir = join(work, "agent");
    mkdirSync(join(dir, "jobs"), { recursive: true });
    const config = { stateDir: "./state", jobsDir: "./jobs", remotes: {} };
    writeFileSync(join(dir, "agent.config.json"), JSON.stringify(config));
    const status = await run(["--config", join(dir, "agent.config.json"), "status", "--json"], dir);
    expect(oneObject(status.stdout)).toMatchObject({ schema: "ftps-sync/status/v1", ok: true, jobs: [] });
    expect(readdirSync(join(dir, "state"))).toContain("ftps-sync.db");
  });

  it("links the man page into the prefix's man folder, where man finds it", async () => {
    const page = join(prefix, "share", "man", "man1", "ftps-sync.1");
    expect(readFileSync(page, "utf8")).toBe(readFileSync(join(installed, "man", "ftps-sync.1"), "utf8"));
    const found = await exec("man", ["-w", "ftps-sync"], { env: { ...env, MANPATH: join(prefix, "share", "man") } });
    // npm links it there (a symbolic link into the package), and man resolves the link.
    expect(realpathSync(found.stdout.trim())).toBe(realpathSync(page));
  });

  it("renders its man page with `man ftps-sync`", async () => {
    const { stdout } = await exec("man", ["-P", "cat", "ftps-sync"], { env: { ...env, MANPATH: join(prefix, "share", "man"), MANWIDTH: "100" } });
    expect(stdout).toMatch(/^NAME\n\s+ftps-sync\s+-\s+Keep local folders/m);
    expect(stdout).toMatch(/^EXIT STATUS$/m);
    expect(stdout).toMatch(/^ {2,}ftps-sync validate/m);
  });

  it("ships bash completions that complete the installed command's subcommands", async () => {
    const script = `source ${JSON.stringify(join(installed, "completions", "ftps-sync.bash"))}
COMP_WORDS=(ftps-sync st); COMP_CWORD=1; _ftps_sync; echo "\${COMPREPLY[*]}"`;
    const { stdout } = await exec("bash", ["--norc", "-c", script], { env });
    expect(stdout.trim()).toBe("status");
  });

  it("ships zsh completions that zsh's completion system loads from $fpath and that complete a subcommand", async () => {
    const complete = (line: string) =>
      exec("zsh", ["-f", join(REPO, "test", "helpers", "zsh-complete.zsh"), join(installed, "completions"), line], { env, timeout: 20_000 }).then((r) => r.stdout.split("\n").filter(Boolean));
    expect(await complete("ftps-sync va")).toEqual(["validate"]);
    expect(await complete("ftps-sync status --j")).toEqual(["--json"]);
  });

  it("ships fish completions that complete the installed command's subcommands", async () => {
    const script = `source ${JSON.stringify(join(installed, "completions", "ftps-sync.fish"))}; complete -C "ftps-sync va"`;
    const { stdout } = await exec("fish", ["--no-config", "-c", script], { env });
    expect(stdout.split("\n").filter(Boolean).map((l) => l.split("\t")[0])).toEqual(["validate"]);
  });

  it("validates a configuration without connecting: exit 0 and its JSON when valid, exit 2 naming the file and field when not", async () => {
    const dir = join(work, "validate");
    mkdirSync(join(dir, "jobs"), { recursive: true });
    mkdirSync(join(dir, "out"));
    const configPath = join(dir, "agent.config.json");
    writeFileSync(configPath, JSON.stringify({ remotes: { partner: { host: "192.0.2.1", tls: "explicit", user: "me", password: { env: "VALIDATE_PW" } } } }));
    writeFileSync(join(dir, "jobs", "up.json"), JSON.stringify({ remote: "partner", remotePath: "/in", local: join(dir, "out"), direction: "upload" }));
    const ok = await run(["--config", configPath, "validate", "--json"], dir, { VALIDATE_PW: "x" });
    const obj = oneObject(ok.stdout);
    expect(obj).toMatchObject({ schema: "ftps-sync/validate/v1", ok: true });
    expect((obj.files as { ok: boolean }[]).map((f) => f.ok)).toEqual([true, true]);

    writeFileSync(join(dir, "jobs", "typo.json"), JSON.stringify({ remote: "partner", remotePath: "/in", local: join(dir, "out"), direction: "uplaod" }));
    const bad = await runFailing(["--config", configPath, "validate"], dir, { VALIDATE_PW: "x" });
    expect(bad.code).toBe(2);
    expect(bad.stdout).toMatch(/^INVALID +.*typo\.json: field "direction"/m);
    const badJson = await runFailing(["--config", configPath, "validate", "--json"], dir, { VALIDATE_PW: "x" });
    expect(badJson.code).toBe(2);
    expect(oneObject(badJson.stdout)).toMatchObject({ ok: false, error: { code: "config", exitCode: 2 } });
  });

  describe("check --json against an FTPS server on loopback", () => {
    const cert = makeSelfSignedCertificate();
    let server: DemoServer;
    beforeAll(async () => {
      const root = join(work, "server-root");
      mkdirSync(join(root, "in"), { recursive: true });
      server = await startDemoServer({ root, user: "demo", password: "package-Pw-4z", cert: cert.certPem, key: cert.keyPem });
    });
    afterAll(async () => {
      await server?.stop();
    });

    it("connects through the installed command: TLS, the pinned certificate and a listing, as one JSON object valid against the shipped schema", async () => {
      const dir = join(work, "check");
      mkdirSync(join(dir, "jobs"), { recursive: true });
      const configPath = join(dir, "agent.config.json");
      const remote = { host: server.host, port: server.port, tls: "explicit", user: "demo", password: { env: "CHECK_PW" }, fingerprint: cert.fingerprint };
      writeFileSync(configPath, JSON.stringify({ stateDir: "./state", jobsDir: "./jobs", remotes: { loop: remote } }));
      const r = await run(["--config", configPath, "check", "--json"], dir, { CHECK_PW: "package-Pw-4z" });
      const obj = oneObject(r.stdout);
      expect(obj).toMatchObject({ schema: "ftps-sync/check/v1", ok: true });
      expect(obj.remotes).toEqual([expect.objectContaining({ remote: "loop", ok: true, trustedBy: "pinned-fingerprint", certificate: expect.objectContaining({ fingerprint: cert.fingerprint }) })]);
    });
  });
});
