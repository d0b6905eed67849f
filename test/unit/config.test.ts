import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseDuration } from "../../src/config/duration.js";
import { loadConfig, resolveConfigPath, warningsFor, type LoadOptions } from "../../src/config/load.js";
import { parseSize } from "../../src/config/size.js";
import { ConfigError } from "../../src/errors.js";

/** Distinctive so that a leak in any message is easy to spot. */
const SECRET = "Zq9-very-SECRET-pa55word-7781";
const ENV = { PARTNER_FTP_PASSWORD: SECRET };
const PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

type Json = Record<string, unknown>;

let dir: string;
let configFile: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ftps-sync-config-"));
  configFile = join(dir, "agent.config.json");
  mkdirSync(join(dir, "jobs"));
  mkdirSync(join(dir, "data"));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function baseConfig(): Json {
  return {
    remotes: {
      partner: { host: "ftp.example.com", tls: "explicit", user: "sync", password: { env: "PARTNER_FTP_PASSWORD" } },
    },
  };
}

function baseJob(): Json {
  return { remote: "partner", remotePath: "/outgoing", local: "./data", direction: "download", schedule: "0 2 * * *" };
}

function write(path: string, content: Json | string): string {
  const full = resolve(dir, path);
  writeFileSync(full, typeof content === "string" ? content : JSON.stringify(content, null, 2));
  return full;
}

/** Write the config and the jobs, then load. */
function load(config: Json | string = baseConfig(), jobs: Record<string, Json | string> = { nightly: baseJob() }, opts: LoadOptions = {}) {
  write(configFile, config);
  for (const [name, job] of Object.entries(jobs)) write(join("jobs", `${name}.json`), job);
  return loadConfig(configFile, { env: ENV, ...opts });
}

/** The ConfigError message thrown by load(), asserting it is one. */
function errorOf(run: () => unknown): string {
  try {
    run();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).exitCode).toBe(2);
    return (err as Error).message;
  }
  throw new Error("expected a ConfigError, but loading succeeded");
}

function withRemote(patch: Json): Json {
  const config = baseConfig();
  const remotes = config.remotes as Record<string, Json>;
  remotes.partner = { ...remotes.partner, ...patch };
  return config;
}

function jobFile(name = "nightly"): string {
  return join(dir, "jobs", `${name}.json`);
}

describe("resolveConfigPath", () => {
  it("prefers the --config path over FTPS_SYNC_CONFIG", () => {
    expect(resolveConfigPath("/etc/a.json", { FTPS_SYNC_CONFIG: "/etc/b.json" })).toBe("/etc/a.json");
  });

  it("uses FTPS_SYNC_CONFIG when no --config is given", () => {
    expect(resolveConfigPath(undefined, { FTPS_SYNC_CONFIG: "/etc/b.json" })).toBe("/etc/b.json");
  });

  it("falls back to ./agent.config.json in the working directory", () => {
    expect(resolveConfigPath(undefined, {})).toBe(resolve(process.cwd(), "agent.config.json"));
  });

  it("resolves a relative path against the working directory", () => {
    expect(resolveConfigPath("conf/agent.json", {})).toBe(resolve(process.cwd(), "conf/agent.json"));
    expect(resolveConfigPath(undefined, { FTPS_SYNC_CONFIG: "x.json" })).toBe(resolve(process.cwd(), "x.json"));
  });

  it("ignores an empty FTPS_SYNC_CONFIG", () => {
    expect(resolveConfigPath(undefined, { FTPS_SYNC_CONFIG: "" })).toBe(resolve(process.cwd(), "agent.config.json"));
  });
});

describe("loadConfig with a valid config", () => {
  it("applies the agent, remote and job defaults", () => {
    const { config } = load();
    expect(config).toMatchObject({
      configPath: configFile,
      baseDir: dir,
      stateDir: join(dir, "state"),
      jobsDir: join(dir, "jobs"),
      log: { level: "info" },
      maxConcurrentJobs: 2,
      shutdownGraceSeconds: 30,
    });
    expect(config.http).toBeUndefined();
    expect(config.remotes.partner).toMatchObject({
      name: "partner",
      host: "ftp.example.com",
      port: 21,
      tls: "explicit",
      user: "sync",
      maxConnections: 4,
      timeoutMs: 30_000,
      idleTimeoutMs: 60_000,
      maxTlsVersion: "1.3",
    });
    expect(config.remotes.partner.password.reveal()).toBe(SECRET);
    expect(config.jobs.nightly).toEqual({
      name: "nightly",
      file: jobFile(),
      remote: "partner",
      remotePath: "/outgoing",
      local: join(dir, "data"),
      direction: "download",
      schedule: "0 2 * * *",
      watch: false,
      watchDebounceMs: 1000,
      delete: "never",
      onConflict: "keep-both",
      include: ["**/*"],
      exclude: [],
      maxDelete: { kind: "percent", value: 50 },
      verify: "size",
      followSymlinks: false,
      followRootSymlink: false,
      trustRemote: false,
      retries: { attempts: 5, initialDelayMs: 1000, maxDelayMs: 60_000 },
    });
  });

  it("takes maxTlsVersion 1.2 and refuses versions it does not know", () => {
    expect(load(withRemote({ maxTlsVersion: "1.2" })).config.remotes.partner.maxTlsVersion).toBe("1.2");
    expect(errorOf(() => load(withRemote({ maxTlsVersion: "1.1" })))).toMatch(/maxTlsVersion.*must be one of "1.2", "1.3" \(got "1.1"\)/);
    expect(errorOf(() => load(withRemote({ maxTlsVersion: 1.2 })))).toMatch(/maxTlsVersion/);
  });

  it("takes dataConnections passive (the default) or active, and refuses anything else", () => {
    expect(load(withRemote({})).config.remotes.partner.dataConnections).toBe("passive");
    expect(load(withRemote({ dataConnections: "active" })).config.remotes.partner.dataConnections).toBe("active");
    expect(errorOf(() => load(withRemote({ dataConnections: "port" })))).toMatch(/dataConnections.*must be one of "passive", "active" \(got "port"\)/);
  });

  it("defaults the port to 990 for implicit TLS", () => {
    expect(load(withRemote({ tls: "implicit" })).config.remotes.partner.port).toBe(990);
  });

  it("resolves every relative path against the config folder, including a job's local folder", () => {
    mkdirSync(join(dir, "conf", "jobs"), { recursive: true });
    mkdirSync(join(dir, "conf", "data"));
    configFile = join(dir, "conf", "agent.config.json");
    write("conf/ca.pem", PEM);
    write("conf/partner.pass", SECRET + "\n");
    chmodSync(join(dir, "conf/partner.pass"), 0o600);
    const config = {
      ...withRemote({ ca: "ca.pem", password: { file: "partner.pass" } }),
      stateDir: "var/state",
      log: { file: "logs/agent.log" },
    };
    write(configFile, config);
    write("conf/jobs/nightly.json", baseJob());
    const { config: loaded, warnings } = loadConfig(configFile, { env: {} });
    const base = join(dir, "conf");
    expect(loaded.baseDir).toBe(base);
    expect(loaded.stateDir).toBe(join(base, "var/state"));
    expect(loaded.jobsDir).toBe(join(base, "jobs"));
    expect(loaded.log.file).toBe(join(base, "logs/agent.log"));
    expect(loaded.remotes.partner.caPath).toBe(join(base, "ca.pem"));
    expect(loaded.remotes.partner.ca).toBe(PEM);
    expect(loaded.remotes.partner.password.reveal()).toBe(SECRET);
    // Not conf/jobs/data: job folders are relative to the config folder too.
    expect(loaded.jobs.nightly.local).toBe(join(base, "data"));
    expect(warnings).toEqual([]);
  });

  it("converts durations, sizes, listen addresses and fingerprints", () => {
    const fp = "ab".repeat(32);
    const config = { ...withRemote({ fingerprint: fp, timeoutSeconds: 5, port: 2121 }), http: { listen: "[::1]:9464" } };
    const job = {
      ...baseJob(),
      remotePath: "//outgoing//daily/./",
      watch: true,
      watchDebounce: "2s",
      poll: "5m",
      maxDelete: 10,
      bandwidthLimit: "512KiB",
      maxAge: "26h",
      futureTolerance: "30m",
      doneMarker: ".done",
      retries: { attempts: 3, initialDelay: "500ms", maxDelay: "1h30m" },
      $schema: "./job.schema.json",
    };
    const { config: loaded } = load(config, { nightly: job });
    expect(loaded.http).toEqual({ host: "::1", port: 9464 });
    expect(loaded.remotes.partner).toMatchObject({ fingerprint: "sha256:" + Array(32).fill("AB").join(":"), timeoutMs: 5000, port: 2121 });
    expect(loaded.jobs.nightly).toMatchObject({
      remotePath: "/outgoing/daily",
      watchDebounceMs: 2000,
      pollMs: 300_000,
      maxDelete: { kind: "count", value: 10 },
      bandwidthLimit: 512 * 1024,
      maxAgeMs: 26 * 3_600_000,
      futureToleranceMs: 1_800_000,
      doneMarker: ".done",
      retries: { attempts: 3, initialDelayMs: 500, maxDelayMs: 5_400_000 },
    });
  });

  it("accepts a host:port listen address and a colon-separated fingerprint in lower case", () => {
    const fp = "sha256:" + Array(32).fill("0f").join(":");
    const { config } = load({ ...withRemote({ fingerprint: fp }), http: { listen: "127.0.0.1:9464" } });
    expect(config.http).toEqual({ host: "127.0.0.1", port: 9464 });
    expect(config.remotes.partner.fingerprint).toBe("sha256:" + Array(32).fill("0F").join(":"));
  });

  it("reads a bare port in http.listen, string or number, as 127.0.0.1 only", () => {
    expect(load({ ...baseConfig(), http: { listen: 9464 } }).config.http).toEqual({ host: "127.0.0.1", port: 9464 });
    expect(load({ ...baseConfig(), http: { listen: "9464" } }).config.http).toEqual({ host: "127.0.0.1", port: 9464 });
    expect(errorOf(() => load({ ...baseConfig(), http: { listen: true } }))).toContain('field "http.listen": must be "HOST:PORT" or a port');
  });

  it("accepts an empty jobs folder", () => {
    expect(load(baseConfig(), {}).config.jobs).toEqual({});
  });

  it("warns about a job that has neither schedule, watch nor poll", () => {
    const { schedule: _, ...manual } = baseJob();
    const { warnings } = load(baseConfig(), { manual });
    expect(warnings).toEqual([
      { message: `${jobFile("manual")}: job "manual" has no "schedule", "watch" or "poll": it only runs when started by hand`, job: "manual", agentOnly: true },
    ]);
  });

  it("shows a command naming jobs only those jobs' warnings, and not 'runs only by hand'", () => {
    const { schedule: _, ...manual } = baseJob();
    const pass = write("partner.pass", SECRET);
    chmodSync(pass, 0o644);
    const { warnings } = load(withRemote({ password: { file: "./partner.pass" } }), {
      manual,
      zoned: { ...manual, timezone: "Europe/Paris" },
    });
    const text = (ws: { message: string }[]) => ws.map((w) => w.message);
    expect(text(warningsFor(warnings))).toHaveLength(4); // the agent sees all
    const forZoned = text(warningsFor(warnings, ["zoned"]));
    expect(forZoned).toHaveLength(2);
    expect(forZoned[0]).toContain("is readable by other users"); // about no job in particular: always shown
    expect(forZoned[1]).toBe(`${jobFile("zoned")}: field "timezone" has no effect without "schedule"`);
    expect(text(warningsFor(warnings, ["manual"]))).toEqual([forZoned[0]]);
  });

  it("warns when the secret file can be read by other users, without printing the secret", () => {
    const pass = write("partner.pass", SECRET);
    chmodSync(pass, 0o644);
    const { warnings } = load(withRemote({ password: { file: "./partner.pass" } }));
    expect(warnings).toHaveLength(1);
    expect(warnings[0].message).toContain(`${configFile}: field "remotes.partner.password": secret file ${pass} is readable by other users`);
    expect(warnings[0].message).not.toContain(SECRET);
  });

  it("accepts a local folder that is a symbolic link when the job sets followRootSymlink", () => {
    symlinkSync(join(dir, "data"), join(dir, "data-link"));
    const { config } = load(baseConfig(), { nightly: { ...baseJob(), local: "./data-link", followRootSymlink: true } });
    expect(config.jobs.nightly).toMatchObject({ local: join(dir, "data-link"), followRootSymlink: true });
  });

  it("skips the local folder check when checkLocalFolders is false", () => {
    expect(() => load(baseConfig(), { nightly: { ...baseJob(), local: "./missing" } }, { checkLocalFolders: false })).not.toThrow();
  });

  it("checks local folders only for the selected jobs but still parses the others", () => {
    const jobs = { nightly: baseJob(), other: { ...baseJob(), local: "./missing" } };
    const { config } = load(baseConfig(), jobs, { jobs: ["nightly"] });
    expect(Object.keys(config.jobs)).toEqual(["nightly", "other"]);
    expect(errorOf(() => load(baseConfig(), { ...jobs, other: { ...jobs.other, direction: "up" } }, { jobs: ["nightly"] }))).toContain(
      jobFile("other"),
    );
  });
});

describe("loadConfig errors name the file and the field", () => {
  type Case = {
    name: string;
    config?: Json | string;
    jobs?: Record<string, Json | string>;
    opts?: LoadOptions;
    before?: () => void;
    /** The exact message; `<CONFIG>`, `<JOB>` and `<DIR>` are replaced by the paths. */
    message: string | RegExp;
  };
  const job = (patch: Json) => ({ nightly: { ...baseJob(), ...patch } });
  const cases: Case[] = [
    {
      name: "a missing config file is reported with a hint",
      before: () => rmSync(configFile),
      message: "<CONFIG>: cannot read config file: no such file (choose another with --config or FTPS_SYNC_CONFIG)",
    },
    {
      name: "bad JSON in the config gives the line and column",
      config: '{\n  "remotes": {},\n  "stateDir": "x",\n}\n',
      message: '<CONFIG>: invalid JSON at line 4, column 1: trailing comma before "}"',
    },
    {
      name: "bad JSON in a job file gives the line and column",
      jobs: { nightly: '{\n  "remote": "partner"\n  "local": "./data"\n}' },
      message: '<JOB>: invalid JSON at line 3, column 3: expected "," or "}"',
    },
    {
      name: "a config that is not an object is refused",
      config: "[]",
      message: "<CONFIG>: must be an object (got a list)",
    },
    {
      name: "an unknown key in the config is named, with a suggestion",
      config: { ...baseConfig(), maxConcurentJobs: 3 },
      message: '<CONFIG>: field "maxConcurentJobs": unknown key; did you mean "maxConcurrentJobs"?',
    },
    {
      name: "an unknown key in a remote lists the allowed keys",
      config: withRemote({ colour: "blue" }),
      message: /^<CONFIG>: field "remotes\.partner\.colour": unknown key; allowed keys are "host", "port", "tls", /,
    },
    {
      name: "an unknown key in a job is named, with a suggestion",
      jobs: job({ directon: "upload" }),
      message: '<JOB>: field "directon": unknown key; did you mean "direction"?',
    },
    {
      name: "a wrong type names the expected type and the value",
      config: { ...baseConfig(), maxConcurrentJobs: "2" },
      message: '<CONFIG>: field "maxConcurrentJobs": must be a number (got "2")',
    },
    {
      name: "a fractional count is refused",
      config: { ...baseConfig(), maxConcurrentJobs: 1.5 },
      message: '<CONFIG>: field "maxConcurrentJobs": must be a whole number (got 1.5)',
    },
    {
      name: "a bad enum value lists the allowed values",
      jobs: job({ direction: "up" }),
      message: '<JOB>: field "direction": must be one of "upload", "download", "two-way" (got "up")',
    },
    {
      name: "a missing required field says so",
      jobs: job({ remotePath: undefined }),
      message: '<JOB>: field "remotePath": is required',
    },
    {
      name: "the remotes object is required",
      config: {},
      message: '<CONFIG>: field "remotes": is required',
    },
    {
      name: "an unknown remote lists the known ones",
      jobs: job({ remote: "partnr" }),
      message: '<JOB>: field "remote": unknown remote "partnr" (known remotes: "partner")',
    },
    {
      name: "a bad remote name is refused",
      config: { remotes: { "bad name": (baseConfig().remotes as Json).partner } },
      message: '<CONFIG>: field "remotes.bad name": remote names must start with a letter or digit and contain only letters, digits, ".", "_" and "-"',
    },
    {
      name: "a missing password variable is named",
      config: withRemote({ password: { env: "NOT_SET_ANYWHERE" } }),
      message: '<CONFIG>: field "remotes.partner.password": environment variable NOT_SET_ANYWHERE is not set',
    },
    {
      name: "a missing secret file is named",
      config: withRemote({ password: { file: "./secrets/partner.pass" } }),
      message: '<CONFIG>: field "remotes.partner.password": cannot read secret file <DIR>/secrets/partner.pass: no such file',
    },
    {
      name: "an empty secret file is refused",
      before: () => write("empty.pass", "\n"),
      config: withRemote({ password: { file: "empty.pass" } }),
      message: '<CONFIG>: field "remotes.partner.password": secret file <DIR>/empty.pass is empty',
    },
    {
      name: "a password written in the config is refused",
      config: withRemote({ password: SECRET }),
      message:
        '<CONFIG>: field "remotes.partner.password": a password must not be written in the config; use { "env": "PARTNER_FTP_PASSWORD" } or { "file": "./secrets/partner.pass" }',
    },
    {
      name: "a password reference with both env and file is refused",
      config: withRemote({ password: { env: "A", file: "b" } }),
      message: /^<CONFIG>: field "remotes\.partner\.password(\.file)?": /,
    },
    {
      name: "a plaintext tls mode explains that there is none",
      config: withRemote({ tls: "none" }),
      message:
        '<CONFIG>: field "remotes.partner.tls": there is no plaintext mode: use "explicit" (AUTH TLS, port 21) or "implicit" (port 990) (got "none")',
    },
    {
      name: "tls false gets the same explanation",
      config: withRemote({ tls: false }),
      message: /^<CONFIG>: field "remotes\.partner\.tls": there is no plaintext mode/,
    },
    {
      name: "a missing tls mode is required",
      config: withRemote({ tls: undefined }),
      message: '<CONFIG>: field "remotes.partner.tls": is required',
    },
    {
      name: "a host with whitespace is refused",
      config: withRemote({ host: "ftp example.com" }),
      message: '<CONFIG>: field "remotes.partner.host": must not contain whitespace (got "ftp example.com")',
    },
    {
      name: "a port out of range is refused",
      config: withRemote({ port: 70000 }),
      message: '<CONFIG>: field "remotes.partner.port": must be at most 65535 (got 70000)',
    },
    {
      name: "an idle timeout longer than a day is refused",
      config: withRemote({ idleTimeout: "2d" }),
      message: '<CONFIG>: field "remotes.partner.idleTimeout": must be at most "1d" (got "2d")',
    },
    {
      name: "too many connections are refused",
      config: withRemote({ maxConnections: 17 }),
      message: '<CONFIG>: field "remotes.partner.maxConnections": must be at most 16 (got 17)',
    },
    {
      name: "an unreadable CA file is named",
      config: withRemote({ ca: "certs/partner-ca.pem" }),
      message: '<CONFIG>: field "remotes.partner.ca": cannot read CA file <DIR>/certs/partner-ca.pem: no such file',
    },
    {
      name: "a CA file without a PEM certificate is refused",
      before: () => write("ca.pem", "not a certificate"),
      config: withRemote({ ca: "ca.pem" }),
      message: '<CONFIG>: field "remotes.partner.ca": CA file <DIR>/ca.pem does not contain a PEM certificate ("-----BEGIN CERTIFICATE-----")',
    },
    {
      name: "a bad fingerprint explains the expected form",
      config: withRemote({ fingerprint: "sha1:AB:CD" }),
      message:
        '<CONFIG>: field "remotes.partner.fingerprint": must be a SHA-256 certificate fingerprint: "sha256:" and 32 hex bytes, e.g. "sha256:AB:CD:…:EF", as printed by `ftps-sync fingerprint HOST` or `openssl x509 -noout -fingerprint -sha256` (got "sha1:AB:CD")',
    },
    {
      name: "a bad listen address shows the expected form",
      config: { ...baseConfig(), http: { listen: "localhost:" } },
      message: '<CONFIG>: field "http.listen": must be "HOST:PORT" or a port, e.g. "127.0.0.1:9464", "[::1]:9464" or "9464" (127.0.0.1) (got "localhost:")',
    },
    {
      name: "a bad log level lists the levels",
      config: { ...baseConfig(), log: { level: "verbose" } },
      message: '<CONFIG>: field "log.level": must be one of "error", "warn", "info", "debug" (got "verbose")',
    },
    {
      name: "a missing jobs folder names jobsDir",
      config: { ...baseConfig(), jobsDir: "./nope" },
      message: '<CONFIG>: field "jobsDir": cannot read jobs folder <DIR>/nope: no such file',
    },
    {
      name: "a job file with a bad name is refused",
      jobs: { "bad name": baseJob() },
      message: `<DIR>/jobs/bad name.json: job file names must start with a letter or digit and contain only letters, digits, ".", "_" and "-" (the job name is the file name without ".json")`,
    },
    {
      name: "a bad cron expression is refused",
      jobs: job({ schedule: "61 * * * *" }),
      message:
        '<JOB>: field "schedule": not a valid cron expression (61 is a invalid expression for minute); use 5 fields (minute hour day month weekday) or 6 (with seconds first), e.g. "0 2 * * *" (got "61 * * * *")',
    },
    {
      name: "a cron expression with too few fields is refused",
      jobs: job({ schedule: "0 2 * *" }),
      message: /^<JOB>: field "schedule": not a valid cron expression \(expected 5 or 6 fields but got 4\)/,
    },
    {
      name: "an unknown time zone is refused",
      jobs: job({ timezone: "Mars/Olympus" }),
      message: '<JOB>: field "timezone": not a known IANA time zone, e.g. "Europe/Berlin" or "UTC" (got "Mars/Olympus")',
    },
    {
      name: "a missing local folder is refused",
      jobs: job({ local: "./missing" }),
      message: '<JOB>: field "local": local folder <DIR>/missing does not exist or cannot be read (no such file)',
    },
    {
      name: "a local path that is a file is refused",
      before: () => write("file.txt", "x"),
      jobs: job({ local: "./file.txt" }),
      message: '<JOB>: field "local": <DIR>/file.txt is not a directory',
    },
    {
      name: "a local folder that is a symbolic link is refused without followRootSymlink",
      before: () => symlinkSync(join(dir, "data"), join(dir, "data-link")),
      jobs: job({ local: "./data-link" }),
      message: '<JOB>: field "local": local folder <DIR>/data-link is a symbolic link; set "followRootSymlink": true in the job to follow it',
    },
    {
      name: "followRootSymlink must be true or false",
      jobs: job({ followRootSymlink: "yes" }),
      message: /^<JOB>: field "followRootSymlink": /,
    },
    {
      name: "a relative remote path is refused",
      jobs: job({ remotePath: "outgoing" }),
      message: '<JOB>: field "remotePath": must be an absolute path starting with "/" (got "outgoing")',
    },
    {
      name: "a remote path with .. is refused",
      jobs: job({ remotePath: "/a/../etc" }),
      message: '<JOB>: field "remotePath": must not contain ".." segments (got "/a/../etc")',
    },
    {
      name: "a remote path with a line break is refused",
      jobs: job({ remotePath: "/a\r\nDELE x" }),
      message: '<JOB>: field "remotePath": must not contain CR, LF or NUL characters (got "/a\\r\\nDELE x")',
    },
    {
      name: "a poll interval on an upload job is refused",
      jobs: job({ direction: "upload", poll: "5m" }),
      message: '<JOB>: field "poll": only applies to "download" and "two-way" jobs (got "5m")',
    },
    {
      name: "trustRemote on a download job is refused",
      jobs: job({ trustRemote: true }),
      message: '<JOB>: field "trustRemote": only applies to "upload" jobs (got true)',
    },
    {
      name: "a bad duration is explained",
      jobs: job({ poll: "5 minutes" }),
      message: '<JOB>: field "poll": not a duration: use a number and a unit (ms, s, m, h, d), e.g. "30s", "5m" or "1h30m" (got "5 minutes")',
    },
    {
      name: "a duration given as a bare number is refused where a string is expected",
      jobs: job({ maxAge: 3600 }),
      message: '<JOB>: field "maxAge": must be a duration string such as "30s", "5m" or "26h" (got 3600)',
    },
    {
      name: "a percentage over 100 is refused",
      jobs: job({ maxDelete: "150%" }),
      message: '<JOB>: field "maxDelete": a percentage must be between 0% and 100% (got "150%")',
    },
    {
      name: "a bad bandwidth limit is explained",
      jobs: job({ bandwidthLimit: "10XB" }),
      message: /^<JOB>: field "bandwidthLimit": not a size: .* \(got "10XB"\)$/,
    },
    {
      name: "a done marker with a slash is refused",
      jobs: job({ doneMarker: "sub/.done" }),
      message: '<JOB>: field "doneMarker": must be a plain file name without "/" (got "sub/.done")',
    },
    {
      name: "an empty include pattern is refused",
      jobs: job({ include: ["*.csv", ""] }),
      message: '<JOB>: field "include[1]": must not be empty',
    },
    {
      name: "an unknown key in retries is named",
      jobs: job({ retries: { attempts: 3, backoff: 2 } }),
      message: /^<JOB>: field "retries\.backoff": unknown key/,
    },
    {
      name: "an empty job file is refused",
      jobs: { nightly: "" },
      message: "<JOB>: the file is empty (expected a JSON object)",
    },
    {
      name: "a zero poll interval is refused",
      jobs: job({ poll: "0s" }),
      message: '<JOB>: field "poll": a poll interval must be longer than 0 (got "0s")',
    },
    {
      name: "a watch debounce of the wrong type is explained",
      jobs: job({ watchDebounce: true }),
      message: '<JOB>: field "watchDebounce": must be a number of milliseconds or a duration such as "1s" (got true)',
    },
    {
      name: "a maximum retry delay shorter than the initial one is refused",
      jobs: job({ retries: { initialDelay: "10s", maxDelay: "5s" } }),
      message: '<JOB>: field "retries.maxDelay": must not be shorter than "retries.initialDelay" (got "5s")',
    },
    {
      name: "a selected job that does not exist is named, with the known jobs",
      opts: { jobs: ["weekly"] },
      message: '<DIR>/jobs: no job named "weekly" (no file <DIR>/jobs/weekly.json; known jobs: "nightly")',
    },
  ];

  for (const c of cases) it(c.name, () => {
    write(configFile, c.config ?? baseConfig());
    for (const [name, body] of Object.entries(c.jobs ?? { nightly: baseJob() })) write(join("jobs", `${name}.json`), body);
    c.before?.();
    const message = errorOf(() => loadConfig(configFile, { env: ENV, ...c.opts }));
    const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const fill = (s: string, wrap = (p: string) => p) =>
      s.replaceAll("<CONFIG>", wrap(configFile)).replaceAll("<JOB>", wrap(jobFile())).replaceAll("<DIR>", wrap(dir));
    if (typeof c.message === "string") expect(message).toBe(fill(c.message));
    else expect(message).toMatch(new RegExp(fill(c.message.source, escape)));
  });

  it("reports the first problem in document order, not zod's order", () => {
    const config = { maxConcurrentJobs: 0, bogus: 1, ...baseConfig() };
    expect(errorOf(() => load(config))).toBe(`${configFile}: field "maxConcurrentJobs": must be at least 1 (got 0)`);
  });

  it("sets the field property to the bare field path", () => {
    try {
      load(baseConfig(), { nightly: { ...baseJob(), direction: "up" } });
    } catch (err) {
      expect((err as ConfigError).file).toBe(jobFile());
      expect((err as ConfigError).field).toBe("direction");
    }
  });
});

describe("secrets never appear in messages", () => {
  const leaks: Array<{ name: string; config?: () => Json | string; jobs?: Record<string, Json | string> }> = [
    { name: "a literal password string", config: () => withRemote({ password: SECRET }) },
    { name: "a password in a list", config: () => withRemote({ password: [SECRET] }) },
    { name: "a password under an unexpected key", config: () => withRemote({ password: { value: SECRET } }) },
    { name: "a password as the env variable name", config: () => withRemote({ password: { env: SECRET } }) },
    {
      name: "an unquoted password that breaks the JSON",
      config: () => `{"remotes": {"partner": {"host": "h", "tls": "explicit", "user": "u", "password": ${SECRET}}}}`,
    },
    {
      name: "a later error while the password came from the environment",
      jobs: { nightly: { ...baseJob(), direction: "up" } },
    },
    {
      name: "a later error while the password came from an open secret file",
      config: () => {
        chmodSync(write("p.pass", SECRET), 0o644);
        return withRemote({ password: { file: "p.pass" } });
      },
      jobs: { nightly: { ...baseJob(), local: "./missing" } },
    },
  ];

  for (const c of leaks) it(`when the config has ${c.name}`, () => {
    write(configFile, c.config?.() ?? baseConfig());
    for (const [name, body] of Object.entries(c.jobs ?? { nightly: baseJob() })) write(join("jobs", `${name}.json`), body);
    let thrown: unknown;
    try {
      const { warnings } = loadConfig(configFile, { env: ENV });
      for (const w of warnings) expect(w.message).not.toContain(SECRET);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as Error).message).not.toContain(SECRET);
    expect(String(thrown)).not.toContain(SECRET);
  });

  it("does not print the password when the loaded config is serialised", () => {
    const { config } = load();
    expect(JSON.stringify(config)).not.toContain(SECRET);
  });
});

describe("a password is one line, whatever its source", () => {
  const fromFile = (content: string) => {
    chmodSync(write("p.pass", content), 0o600);
    return load(withRemote({ password: { file: "p.pass" } }));
  };
  const fromEnv = (value: string) => load(baseConfig(), { nightly: baseJob() }, { env: { PARTNER_FTP_PASSWORD: value } });

  it.each([
    ["no line ending", SECRET],
    ["a final LF", SECRET + "\n"],
    ["a final CRLF", SECRET + "\r\n"],
  ])("a file with %s holds the password", (_what, content) => {
    const { config, warnings } = fromFile(content);
    expect(config.remotes.partner.password.reveal()).toBe(SECRET);
    expect(warnings).toEqual([]);
  });

  it.each([
    ["a second, empty line", SECRET + "\n\n", "holds more than one line"],
    ["a second line with text", SECRET + "\nsomething else\n", "holds more than one line"],
    ["a CR alone inside", "pass\rword\n", "holds more than one line"],
    ["two lines with CRLF", SECRET + "\r\n\r\n", "holds more than one line"],
    ["only a CRLF", "\r\n", "is empty"],
    ["nothing at all", "", "is empty"],
    ["a NUL", "pass\0word", "holds a NUL character"],
  ])("a file with %s is a config error (exit 2), not a password", (_what, content, message) => {
    const err = errorOf(() => fromFile(content));
    expect(err).toContain(`${configFile}: field "remotes.partner.password": secret file ${join(dir, "p.pass")} ${message}`);
    expect(err).not.toContain(SECRET);
  });

  it.each([
    ["LF", "\n"],
    ["CRLF", "\r\n"],
  ])("a variable ending with one %s: the line ending is dropped, with a warning that does not show the password", (_what, ending) => {
    const { config, warnings } = fromEnv(SECRET + ending);
    expect(config.remotes.partner.password.reveal()).toBe(SECRET);
    expect(warnings.map((w) => w.message)).toEqual([
      `${configFile}: field "remotes.partner.password": environment variable PARTNER_FTP_PASSWORD ends with a line break; it is not part of the password and was dropped`,
    ]);
  });

  it.each([
    ["a line break inside", "pass\nword"],
    ["two line breaks at the end", SECRET + "\n\n"],
    ["a NUL", "pass\0word"],
    ["only a line break", "\n"],
  ])("a variable with %s is a config error (exit 2)", (_what, value) => {
    const err = errorOf(() => fromEnv(value));
    expect(err.startsWith(`${configFile}: field "remotes.partner.password": environment variable PARTNER_FTP_PASSWORD `)).toBe(true);
    expect(err).toMatch(/ (is empty|holds a line break or NUL inside the password; it must be the password alone)$/);
    expect(err).not.toContain(SECRET);
  });
});

describe("parseDuration and parseSize", () => {
  it.each([
    ["250ms", 250],
    ["30s", 30_000],
    ["5m", 300_000],
    ["1h", 3_600_000],
    ["2d", 172_800_000],
    ["1h30m", 5_400_000],
    ["1.5s", 1500],
  ])("reads %s as %i milliseconds", (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(["5", "5 minutes", "", "m5", "-1s"])("refuses %j as a duration", (text) => {
    expect(() => parseDuration(text)).toThrow(RangeError);
  });

  it.each([
    ["1000", 1000],
    ["10MB", 10_000_000],
    ["10M", 10_000_000],
    ["512KiB", 524_288],
    ["1GiB", 1024 ** 3],
    ["2mb/s", 2_000_000],
  ])("reads %s as %i bytes", (text, bytes) => {
    expect(parseSize(text)).toBe(bytes);
  });

  it.each(["10XB", "MB", "-5K", ""])("refuses %j as a size", (text) => {
    expect(() => parseSize(text)).toThrow(RangeError);
  });
});
