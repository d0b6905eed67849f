/**
 * Reads agent.config.json and every job file, validates them all and turns them into
 * AgentConfig. Everything happens here, before anything connects, so that a bad config
 * stops a command with ONE message naming the file and the field (exit code 2). The agent
 * (`run`) passes onBadJob, so that a bad job file stops only its own job (agent/config-problems.ts).
 *
 * Path rule: every relative path — stateDir, jobsDir, log.file, ca, password files AND a
 * job's `local` — is resolved against the folder of agent.config.json, not against the
 * job file's folder. One base folder for everything is easier to reason about.
 */
import { lstatSync, readdirSync, readFileSync, statSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { ConfigError } from "../errors.js";
import {
  agentConfigSchema,
  fieldError,
  formatPath,
  jobSchema,
  NAME_PATTERN,
  NAME_RULE,
  parseWithSchema,
  type RawAgentConfig,
  type RawJob,
  type RawRemote,
} from "./schema.js";
import { fsReason, resolvePassword } from "./secrets.js";
import { readClientCertificate } from "./client-cert.js";
import { buildExpect } from "./expect.js";
import { buildNotify } from "./notify.js";
import type { AgentConfig, JobConfig, ProxyConfig, RemoteConfig } from "./types.js";

export interface LoadOptions {
  /** Only these jobs get the checks that depend on the machine (local folder exists); others are still parsed. */
  jobs?: string[];
  /** Check that each job's local folder exists and is a directory. Default true. */
  checkLocalFolders?: boolean;
  /** Environment for password variables; defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /** A job file that fails its checks is reported here and left out, instead of failing the whole load. */
  onBadJob?: (err: ConfigError, name: string, file: string) => void;
}

/** Something in the configuration that works but is probably not what was meant. */
export interface ConfigWarning {
  message: string;
  /** The job it is about, when it is about one: `sync JOB` shows only its own jobs' warnings. */
  job?: string;
  /** Only matters to the agent (`run`): a job that no trigger starts is fine to run by hand. */
  agentOnly?: boolean;
}

/**
 * The warnings worth showing to a command. Commands that name their jobs (sync, plan) see the
 * warnings about those jobs and about no job in particular; the agent (no names) sees all.
 */
export function warningsFor(warnings: ConfigWarning[], jobs?: string[]): ConfigWarning[] {
  if (!jobs) return warnings;
  return warnings.filter((w) => !w.agentOnly && (w.job === undefined || jobs.includes(w.job)));
}

export interface LoadResult {
  config: AgentConfig;
  warnings: ConfigWarning[];
}

/** --config, else $FTPS_SYNC_CONFIG, else ./agent.config.json; always absolute. */
export function resolveConfigPath(cliPath?: string, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = nonBlank(cliPath) ?? nonBlank(env.FTPS_SYNC_CONFIG) ?? "agent.config.json";
  return resolve(process.cwd(), chosen);
}

export function loadConfig(configPath: string, opts: LoadOptions = {}): LoadResult {
  const file = resolve(configPath);
  const baseDir = dirname(file);
  const warnings: ConfigWarning[] = [];
  const raw = parseWithSchema(agentConfigSchema, readJsonFile(file, "config file"), file);

  const remotes: Record<string, RemoteConfig> = {};
  for (const [name, remote] of Object.entries(raw.remotes)) {
    remotes[name] = buildRemote(name, remote, { file, baseDir, env: opts.env, warnings });
  }

  const jobsDir = resolve(baseDir, raw.jobsDir);
  const jobFiles = listJobFiles(jobsDir, file);
  checkSelectedJobsExist(opts.jobs, jobFiles, jobsDir);

  const jobs: Record<string, JobConfig> = {};
  for (const [name, jobFile] of jobFiles) {
    const selected = opts.jobs === undefined || opts.jobs.includes(name);
    const checkLocal = selected && opts.checkLocalFolders !== false;
    try {
      jobs[name] = buildJob(name, jobFile, { baseDir, remotes, checkLocal, warnings });
    } catch (err) {
      if (!opts.onBadJob || !(err instanceof ConfigError)) throw err;
      opts.onBadJob(err, name, jobFile);
    }
  }

  const config = buildAgent(raw, file, baseDir, jobsDir, remotes, jobs);
  if (raw.notify) config.notify = buildNotify(raw.notify, { file, baseDir, at: "notify" });
  // The agent's "notify" is the default of every job without its own.
  for (const job of Object.values(jobs)) if (!job.notify && config.notify) job.notify = config.notify;
  return { config, warnings };
}

// ---------------------------------------------------------------------------
// Agent and remotes

function buildAgent(
  raw: RawAgentConfig,
  configPath: string,
  baseDir: string,
  jobsDir: string,
  remotes: Record<string, RemoteConfig>,
  jobs: Record<string, JobConfig>,
): AgentConfig {
  return {
    configPath,
    baseDir,
    stateDir: resolve(baseDir, raw.stateDir),
    jobsDir,
    log: { level: raw.log.level, format: raw.log.format, ...(raw.log.file !== undefined && { file: resolve(baseDir, raw.log.file) }) },
    maxConcurrentJobs: raw.maxConcurrentJobs,
    shutdownGraceSeconds: raw.shutdownGraceSeconds,
    ...(raw.http && { http: raw.http.listen }),
    history: { maxAgeMs: raw.history.maxAge, maxRunsPerJob: raw.history.maxRunsPerJob },
    remotes,
    jobs,
  };
}

interface RemoteContext {
  file: string;
  baseDir: string;
  env?: NodeJS.ProcessEnv;
  warnings: ConfigWarning[];
}

function buildRemote(name: string, raw: RawRemote, ctx: RemoteContext): RemoteConfig {
  const field = (key: string) => formatPath(["remotes", name, key]);
  if (!NAME_PATTERN.test(name)) throw fieldError(ctx.file, formatPath(["remotes", name]), `remote names ${NAME_RULE}`);

  const { secret, warning } = resolvePassword(raw.password, {
    baseDir: ctx.baseDir,
    configFile: ctx.file,
    field: field("password"),
    env: ctx.env,
  });
  if (warning) ctx.warnings.push({ message: warning });

  const remote: RemoteConfig = {
    name,
    host: raw.host,
    // Implicit TLS has its own well-known port; explicit TLS upgrades the normal FTP port.
    port: raw.port ?? (raw.tls === "implicit" ? 990 : 21),
    tls: raw.tls,
    user: raw.user,
    password: secret,
    maxConnections: raw.maxConnections,
    timeoutMs: Math.round(raw.timeoutSeconds * 1000),
    idleTimeoutMs: raw.idleTimeout,
    maxTlsVersion: raw.maxTlsVersion,
    dataConnections: raw.dataConnections,
  };
  if (raw.fingerprint !== undefined) remote.fingerprint = raw.fingerprint;
  if ("file" in raw.password) remote.passwordFile = resolve(ctx.baseDir, raw.password.file);
  if (raw.ca !== undefined) {
    remote.caPath = resolve(ctx.baseDir, raw.ca);
    remote.ca = readCaFile(remote.caPath, ctx.file, field("ca"));
  }
  Object.assign(remote, readClientCertificate(raw, { baseDir: ctx.baseDir, configFile: ctx.file, field, env: ctx.env, warn: (message) => ctx.warnings.push({ message }) }));
  if (raw.proxy !== undefined) remote.proxy = buildProxy(raw.proxy, (key) => formatPath(["remotes", name, "proxy", key]), ctx);
  // In active mode the server connects back to this machine, which a proxy cannot carry (no SOCKS BIND here).
  if (remote.proxy && remote.dataConnections === "active") {
    throw fieldError(ctx.file, field("dataConnections"), 'cannot be "active" with "proxy": the server would connect to this machine, not through the proxy; use "passive"');
  }
  return remote;
}

/** A remote's proxy, its password read like the remote's own (never in the config itself). */
function buildProxy(raw: NonNullable<RawRemote["proxy"]>, field: (key: string) => string, ctx: RemoteContext): ProxyConfig {
  const proxy: ProxyConfig = { type: raw.type, host: raw.host, port: raw.port };
  if (raw.user !== undefined) proxy.user = raw.user;
  if (raw.password !== undefined) {
    const { secret, warning } = resolvePassword(raw.password, { baseDir: ctx.baseDir, configFile: ctx.file, field: field("password"), env: ctx.env });
    if (warning) ctx.warnings.push({ message: warning });
    // RFC 1929 carries the password in at most 255 bytes.
    if (raw.type === "socks5" && Buffer.byteLength(secret.reveal()) > 255) throw fieldError(ctx.file, field("password"), "is longer than 255 bytes, more than a SOCKS5 proxy can be given");
    proxy.password = secret;
    if ("file" in raw.password) proxy.passwordFile = resolve(ctx.baseDir, raw.password.file);
  }
  return proxy;
}

function readCaFile(path: string, configFile: string, field: string): string {
  let pem: string;
  try {
    pem = readFileSync(path, "utf8");
  } catch (err) {
    throw fieldError(configFile, field, `cannot read CA file ${path}: ${fsReason(err)}`);
  }
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
    throw fieldError(configFile, field, `CA file ${path} does not contain a PEM certificate ("-----BEGIN CERTIFICATE-----")`);
  }
  return pem;
}

// ---------------------------------------------------------------------------
// Jobs

/** Job files, sorted by name so that "the first error" is the same on every run. */
function listJobFiles(jobsDir: string, configFile: string): Array<[name: string, file: string]> {
  let entries: string[];
  try {
    if (!statSync(jobsDir).isDirectory()) throw fieldError(configFile, "jobsDir", `${jobsDir} is not a directory`);
    entries = readdirSync(jobsDir);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw fieldError(configFile, "jobsDir", `cannot read jobs folder ${jobsDir}: ${fsReason(err)}`);
  }
  return entries
    // Hidden files are editor and backup droppings, not jobs.
    .filter((entry) => entry.endsWith(".json") && !entry.startsWith("."))
    .sort()
    .map((entry) => [basename(entry, ".json"), join(jobsDir, entry)] as [string, string])
    .filter(([, path]) => isFile(path));
}

function checkSelectedJobsExist(selected: string[] | undefined, jobFiles: Array<[string, string]>, jobsDir: string): void {
  const known = jobFiles.map(([name]) => name);
  const missing = selected?.find((name) => !known.includes(name));
  if (missing === undefined) return;
  const list = known.length > 0 ? `known jobs: ${known.map((n) => `"${n}"`).join(", ")}` : "the folder has no job files";
  throw new ConfigError(`no job named "${missing}" (no file ${join(jobsDir, missing + ".json")}; ${list})`, { file: jobsDir });
}

interface JobContext {
  baseDir: string;
  remotes: Record<string, RemoteConfig>;
  checkLocal: boolean;
  warnings: ConfigWarning[];
}

/** A job file on its own: what its text says, checked (the remote it names and its folder need the config: loadConfig). */
export function checkJobFile(file: string): RawJob {
  return parseWithSchema(jobSchema, readJsonFile(resolve(file), "job file"), resolve(file));
}

function buildJob(name: string, file: string, ctx: JobContext): JobConfig {
  if (!NAME_PATTERN.test(name)) throw new ConfigError(`job file names ${NAME_RULE} (the job name is the file name without ".json")`, { file });
  const raw = parseWithSchema(jobSchema, readJsonFile(file, "job file"), file);

  if (!(raw.remote in ctx.remotes)) throw unknownRemote(file, raw.remote, Object.keys(ctx.remotes));
  const local = resolve(ctx.baseDir, raw.local);
  if (ctx.checkLocal) checkLocalFolder(local, file, raw.followRootSymlink);
  if (raw.schedule === undefined && !raw.watch && raw.poll === undefined) {
    ctx.warnings.push({ message: `${file}: job "${name}" has no "schedule", "watch" or "poll": it only runs when started by hand`, job: name, agentOnly: true });
  }
  // The job's zone is also the default of its "expect".
  if (raw.timezone !== undefined && raw.schedule === undefined && raw.expect === undefined) {
    ctx.warnings.push({ message: `${file}: field "timezone" has no effect without "schedule"`, job: name });
  }
  if (raw.scheduleSpread !== undefined && raw.schedule === undefined) {
    ctx.warnings.push({ message: `${file}: field "scheduleSpread" has no effect without "schedule"`, job: name });
  }
  const job = toJobConfig(name, file, local, raw);
  if (raw.notify) job.notify = buildNotify(raw.notify, { file, baseDir: ctx.baseDir, at: "notify" });
  if (raw.expect) job.expect = buildExpect(raw.expect, raw.timezone);
  if (raw.excludeFrom !== undefined) {
    job.excludeFrom = resolve(dirname(file), raw.excludeFrom);
    job.exclude = [...job.exclude, ...readExcludeFrom(job.excludeFrom, file)];
  }
  return job;
}

/**
 * The patterns of an excludeFrom file: one a line, the exclude key's syntax; blank lines and
 * lines starting with "#" are skipped. Read once, when the config is loaded.
 */
function readExcludeFrom(path: string, file: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw fieldError(file, "excludeFrom", `cannot read ${path} (${fsReason(err)})`);
  }
  return text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== "" && !line.startsWith("#"));
}

function toJobConfig(name: string, file: string, local: string, raw: RawJob): JobConfig {
  const job: JobConfig = {
    name,
    file,
    remote: raw.remote,
    remotePath: raw.remotePath,
    local,
    direction: raw.direction,
    watch: raw.watch,
    watchDebounceMs: raw.watchDebounce,
    delete: raw.delete,
    onConflict: raw.onConflict,
    include: raw.include,
    exclude: raw.exclude,
    maxDelete: raw.maxDelete,
    verify: raw.verify,
    followSymlinks: raw.followSymlinks,
    followRootSymlink: raw.followRootSymlink,
    trustRemote: raw.trustRemote,
    retries: { attempts: raw.retries.attempts, initialDelayMs: raw.retries.initialDelay, maxDelayMs: raw.retries.maxDelay },
  };
  // Optional fields are left out rather than set to undefined, so `"x" in job` stays meaningful.
  if (raw.schedule !== undefined) job.schedule = raw.schedule;
  if (raw.timezone !== undefined) job.timezone = raw.timezone;
  if (raw.scheduleSpread !== undefined) job.scheduleSpreadMs = raw.scheduleSpread;
  if (raw.poll !== undefined) job.pollMs = raw.poll;
  if (raw.bandwidthLimit !== undefined) job.bandwidthLimit = raw.bandwidthLimit;
  if (raw.doneMarker !== undefined) job.doneMarker = raw.doneMarker;
  if (raw.maxAge !== undefined) job.maxAgeMs = raw.maxAge;
  if (raw.futureTolerance !== undefined) job.futureToleranceMs = raw.futureTolerance;
  if (raw.backup !== undefined) job.backup = raw.backup;
  if (raw.afterTransfer !== "keep") job.afterTransfer = raw.afterTransfer;
  if (raw.minAge !== undefined) job.minAgeMs = raw.minAge;
  if (raw.maxFileAge !== undefined) job.maxFileAgeMs = raw.maxFileAge;
  if (raw.minSize !== undefined) job.minSize = raw.minSize;
  if (raw.maxSize !== undefined) job.maxSize = raw.maxSize;
  return job;
}

function unknownRemote(file: string, remote: string, known: string[]): ConfigError {
  const list = known.length > 0 ? `known remotes: ${known.map((n) => `"${n}"`).join(", ")}` : "no remotes are configured";
  return fieldError(file, "remote", `unknown remote "${remote}" (${list})`);
}

/**
 * The machine-dependent check of a loaded job (its local folder is there, a folder, not a link it
 * may not follow): the agent loads without it, so that a share not mounted yet stops only its job.
 */
export function checkJobLocalFolder(job: JobConfig): void {
  checkLocalFolder(job.local, job.file, !!job.followRootSymlink);
}

function checkLocalFolder(path: string, file: string, followRootSymlink: boolean): void {
  let isDir: boolean;
  let isLink: boolean;
  try {
    isLink = lstatSync(path).isSymbolicLink();
    isDir = statSync(path).isDirectory();
  } catch (err) {
    throw fieldError(file, "local", `local folder ${path} does not exist or cannot be read (${fsReason(err)})`);
  }
  // A job folder that is a link can be pointed elsewhere by whoever may change the link.
  if (isLink && !followRootSymlink) {
    throw fieldError(file, "local", `local folder ${path} is a symbolic link; set "followRootSymlink": true in the job to follow it`);
  }
  if (!isDir) throw fieldError(file, "local", `${path} is not a directory`);
}

// ---------------------------------------------------------------------------
// Reading JSON

function readJsonFile(file: string, what: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const hint = what === "config file" ? " (choose another with --config or FTPS_SYNC_CONFIG)" : "";
    throw new ConfigError(`cannot read ${what}: ${fsReason(err)}${hint}`, { file });
  }
  // Some Windows editors save a byte-order mark, which JSON.parse refuses.
  if (text.startsWith("\uFEFF")) text = text.slice(1);
  try {
    return JSON.parse(text);
  } catch {
    // V8's message quotes the surrounding text, which may be a password: use our own.
    throw new ConfigError(describeJsonError(text), { file });
  }
}

/** "invalid JSON at line 3, column 14: expected "," or "}" after a property value". */
export function describeJsonError(text: string): string {
  if (text.trim() === "") return "the file is empty (expected a JSON object)";
  const fault = findJsonFault(text);
  if (!fault) return "invalid JSON";
  const before = text.slice(0, fault.offset).split("\n");
  const line = before.length;
  const column = before[before.length - 1].length + 1;
  return `invalid JSON at line ${line}, column ${column}: ${fault.reason}`;
}

class JsonFault {
  constructor(
    readonly offset: number,
    readonly reason: string,
  ) {}
}

/**
 * A small JSON scanner whose only job is to say where and why JSON.parse failed:
 * V8 does not always give a position, and never a line and column.
 */
function findJsonFault(text: string): JsonFault | undefined {
  let i = 0;
  const fault = (reason: string): never => {
    throw new JsonFault(i, i >= text.length ? "unexpected end of file" : reason);
  };
  const skipSpace = () => {
    while (i < text.length && " \t\n\r".includes(text[i])) i++;
  };
  const value = (): void => {
    skipSpace();
    const c = text[i];
    if (c === "{") return object();
    if (c === "[") return array();
    if (c === '"') return string();
    if (c === "-" || (c >= "0" && c <= "9")) return number();
    for (const word of ["true", "false", "null"]) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return;
      }
    }
    if (c === "/") fault("comments are not allowed in JSON");
    fault(c === "'" ? "strings must use double quotes" : "expected a value (a string, number, object, list, true, false or null)");
  };
  const members = (close: string, member: () => void) => {
    i++;
    skipSpace();
    if (text[i] === close) return void i++;
    for (;;) {
      member();
      skipSpace();
      if (text[i] === ",") {
        i++;
        skipSpace();
        if (text[i] === close) fault(`trailing comma before "${close}"`);
        continue;
      }
      if (text[i] === close) return void i++;
      fault(`expected "," or "${close}"`);
    }
  };
  const object = () =>
    members("}", () => {
      skipSpace();
      if (text[i] !== '"') fault(text[i] === "/" ? "comments are not allowed in JSON" : "expected a property name in double quotes");
      string();
      skipSpace();
      if (text[i] !== ":") fault('expected ":" after the property name');
      i++;
      value();
    });
  const array = () => members("]", value);
  const string = () => {
    i++;
    for (;;) {
      const c = text[i];
      if (c === undefined) fault("unterminated string");
      if (c === '"') return void i++;
      if (c < " ") fault(c === "\n" ? "line break inside a string (write \\n)" : "control character inside a string");
      if (c === "\\") {
        i++;
        if (text[i] === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 1, i + 5))) fault("invalid \\u escape");
          i += 4;
        } else if (!'"\\/bfnrt'.includes(text[i] ?? "")) fault("invalid escape sequence");
      }
      i++;
    }
  };
  const number = () => {
    const re = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
    re.lastIndex = i;
    if (!re.exec(text)) fault("invalid number");
    i = re.lastIndex;
  };
  try {
    value();
    skipSpace();
    if (i < text.length) fault("unexpected text after the end of the JSON value");
    return undefined;
  } catch (err) {
    if (err instanceof JsonFault) return err;
    throw err;
  }
}

// ---------------------------------------------------------------------------
// Small helpers

function nonBlank(value: string | undefined): string | undefined {
  return value !== undefined && value.trim() !== "" ? value : undefined;
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
