/**
 * Zod schemas for the raw JSON of agent.config.json and of one job file, and the
 * translation of zod issues into our single error shape:
 *   `FILE: field "a.b": message (got VALUE)`
 * Objects are strict: an unknown key is an error, because a misspelt key silently
 * falling back to a default (e.g. "delte": "mirror") is worse than refusing to start.
 *
 * These schemas only check what can be checked from the text itself. Anything that
 * needs the file system or another file (secrets, CA files, local folders, the remote
 * a job refers to) is checked in load.ts.
 */
import cron from "node-cron";
// Named imports, not zod's `z` namespace: the namespace holds every zod locale (some 40 modules,
// built at each start of the CLI); only English is used, which zod registers itself.
import { array, boolean, enum as oneOf, NEVER, number, record, strictObject, string, union, unknown, type core, type output, type ZodType } from "zod";
const z = { array, boolean, enum: oneOf, NEVER, number, record, strictObject, string, union, unknown };
import { ConfigError } from "../errors.js";
import { parseBackupDir, parseBackupKeep } from "./backup.js";
import { parseDuration } from "./duration.js";
import { expectSchema } from "./expect.js";
import { notifySchema } from "./notify.js";
import { parseSize } from "./size.js";
import type { AfterTransfer, MaxDelete } from "./types.js";

export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
export const NAME_RULE = 'must start with a letter or digit and contain only letters, digits, ".", "_" and "-"';

export const LITERAL_PASSWORD_MESSAGE =
  'a password must not be written in the config; use { "env": "PARTNER_FTP_PASSWORD" } or { "file": "./secrets/partner.pass" }';
export const PASSWORD_SHAPE_MESSAGE =
  'must be { "env": "VARIABLE_NAME" } or { "file": "./path/to/password-file" } (exactly one of the two)';
export const LITERAL_PASSPHRASE_MESSAGE =
  'a passphrase must not be written in the config; use { "env": "PARTNER_KEY_PASSPHRASE" } or { "file": "./secrets/partner-key.pass" }';
const PLAINTEXT_MESSAGE = 'there is no plaintext mode: use "explicit" (AUTH TLS, port 21) or "implicit" (port 990)';
const FINGERPRINT_MESSAGE =
  'must be a SHA-256 certificate fingerprint: "sha256:" and 32 hex bytes, e.g. "sha256:AB:CD:…:EF", ' +
  "as printed by `ftps-sync fingerprint HOST` or `openssl x509 -noout -fingerprint -sha256`";

// ---------------------------------------------------------------------------
// Field helpers

/** Throw this from a value parser to turn it into a field error. */
class FieldProblem extends Error {}

/** Wrap a value parser so that a FieldProblem/RangeError becomes a zod issue on that field. */
function via<In, Out>(parse: (value: In) => Out) {
  return (value: In, ctx: core.$RefinementCtx<In>): Out => {
    try {
      return parse(value);
    } catch (err) {
      if (!(err instanceof FieldProblem || err instanceof RangeError)) throw err;
      ctx.issues.push({ code: "custom", message: err.message, input: value });
      return z.NEVER;
    }
  };
}

function problem(message: string): never {
  throw new FieldProblem(message);
}

const nonEmpty = () => z.string().min(1);
const DURATION_TYPE = 'must be a duration string such as "30s", "5m" or "26h"';
/**
 * Longest values of durations that would make no sense that long (a retry delay, a debounce):
 * past the limit the value is refused, not left to overflow a timer (Node's hold ~24.8 days).
 * Long waits that do make sense (poll, maxAge) have no limit but a count of milliseconds.
 */
const DAY = { ms: 86_400_000, text: "1d" };

function atMost(ms: number, limit?: { ms: number; text: string }): number {
  if (limit && ms > limit.ms) problem(`must be at most "${limit.text}"`);
  return ms;
}

const durationString = (what = "a duration", limit?: { ms: number; text: string }) =>
  z.string({ error: DURATION_TYPE }).transform(
    via((text: string) => {
      const ms = parseDuration(text);
      if (ms <= 0) problem(`${what} must be longer than 0`);
      return atMost(ms, limit);
    }),
  );

// ---------------------------------------------------------------------------
// Value parsers (exported for tests and for other modules that take the same syntax)

/** "sha256:ab:cd:…" or 64 bare hex digits (any case) → "sha256:AB:CD:…". */
export function normaliseFingerprint(text: string): string {
  // openssl prints "sha256 Fingerprint=AB:…": accept that prefix too, so it can be pasted.
  const body = text.trim().replace(/^sha256(?::|\s+fingerprint=)\s*/i, "");
  const hex = /^[0-9a-f]{2}(:[0-9a-f]{2}){31}$/i.test(body)
    ? body.replaceAll(":", "")
    : /^[0-9a-f]{64}$/i.test(body)
      ? body
      : problem(FINGERPRINT_MESSAGE);
  return "sha256:" + hex.toUpperCase().match(/../g)!.join(":");
}

/** Absolute, "/"-separated, no duplicate or trailing slashes, no "." or ".." segments. */
export function normaliseRemotePath(path: string): string {
  // CR/LF would let a path inject FTP commands; NUL truncates paths on many servers.
  if (/[\r\n\0]/.test(path)) problem("must not contain CR, LF or NUL characters");
  if (!path.startsWith("/")) problem('must be an absolute path starting with "/"');
  const segments = path.split("/").filter((s) => s !== "" && s !== ".");
  if (segments.includes("..")) problem('must not contain ".." segments');
  return "/" + segments.join("/");
}

/** "HOST:PORT" or "[IPv6]:PORT". */
/**
 * "HOST:PORT", "[IPv6]:PORT", or a bare port ("9464", 9464 or ":9464"), which listens on
 * 127.0.0.1 only: the endpoints need no password, so other machines reach them only when an
 * address says so (and the agent warns then, see src/agent/http.ts).
 */
export function parseListen(value: string | number): { host: string; port: number } {
  const text = String(value).trim();
  const bare = /^:?(\d+)$/.exec(text);
  const match = bare ? [text, "127.0.0.1", bare[1]] : (/^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:\s[\]]+):(\d+)$/.exec(text));
  if (!match) problem('must be "HOST:PORT" or a port, e.g. "127.0.0.1:9464", "[::1]:9464" or "9464" (127.0.0.1)');
  const port = Number(match[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) problem(`port must be between 1 and 65535`);
  return { host: match[1], port };
}

/** "N%" (0..100) or a non-negative integer count. */
export function parseMaxDelete(value: number | string): MaxDelete {
  if (typeof value === "number") {
    if (!Number.isInteger(value) || value < 0) problem('must be a whole number ≥ 0 or a percentage such as "50%"');
    return { kind: "count", value };
  }
  const match = /^(\d+(?:\.\d+)?)\s*%$/.exec(value.trim());
  if (!match) problem('must be a percentage such as "50%" or a whole number of files such as 100');
  const percent = Number(match[1]);
  if (percent > 100) problem("a percentage must be between 0% and 100%");
  return { kind: "percent", value: percent };
}

/** Bytes per second: a positive integer, or a size string such as "10MB" or "512KiB". */
export function parseBandwidth(value: number | string): number {
  const bytes = typeof value === "number" ? value : parseSize(value);
  if (!Number.isInteger(bytes) || bytes < 1) problem("must be at least 1 byte per second");
  return bytes;
}

function parseWatchDebounce(value: number | string): number {
  if (typeof value === "string") return atMost(parseDuration(value), DAY);
  if (!Number.isInteger(value) || value < 0) problem("must be a whole number of milliseconds ≥ 0, or a duration such as \"1s\"");
  return atMost(value, DAY);
}

/** Expressions already found valid: hundreds of jobs share a few schedules, and node-cron takes ~70 µs to check one. */
const validCron = new Set<string>();

function checkCron(expression: string): string {
  if (validCron.has(expression)) return expression;
  if (cron.validate(expression)) {
    if (validCron.size < 1000) validCron.add(expression);
    return expression;
  }
  // validateDetailed says which part is wrong ("61 is a invalid expression for minute").
  const detail = cron.validateDetailed(expression).errors[0]?.message;
  return problem(
    `not a valid cron expression${detail ? ` (${detail})` : ""}; ` +
      'use 5 fields (minute hour day month weekday) or 6 (with seconds first), e.g. "0 2 * * *"',
  );
}

function checkTimezone(zone: string): string {
  try {
    new Intl.DateTimeFormat(undefined, { timeZone: zone });
    return zone;
  } catch {
    return problem('not a known IANA time zone, e.g. "Europe/Berlin" or "UTC"');
  }
}

function checkHost(host: string): string {
  if (host === "") problem("must not be empty");
  if (host.includes("://")) problem('must be a host name or address, not a URL (drop "ftps://")');
  if (/\s/.test(host)) problem("must not contain whitespace");
  return host;
}

/** A marker file sits next to the data files, so it must be a bare name. */
function checkFileName(name: string): string {
  if (name === "" || name === "." || name === "..") problem("must be a file name");
  if (/[/\\]/.test(name)) problem('must be a plain file name without "/"');
  if (/[\r\n\0]/.test(name)) problem("must not contain CR, LF or NUL characters");
  return name;
}

/**
 * The archive folder of afterTransfer: relative to the source side's job root, "/"-separated,
 * no "." or ".." segments (it must stay inside the job's folder, where the sync excludes it).
 */
export function normaliseArchiveFolder(path: string): string {
  if (/[\r\n\0]/.test(path)) problem("must not contain CR, LF or NUL characters");
  if (path.startsWith("/") || /^[A-Za-z]:/.test(path)) problem('must be a folder relative to the job\'s folder on the source side, e.g. "archive"');
  if (path.includes("\\")) problem('must use "/" between folder names');
  const segments = path.split("/").filter((s) => s !== "" && s !== ".");
  if (segments.includes("..")) problem('must not contain ".." segments');
  if (segments.length === 0) problem("must name a folder below the job's folder");
  return segments.join("/").normalize("NFC");
}

const AFTER_TRANSFER_SHAPE = 'must be "keep", "delete" or { "archive": "<folder on the source side>" }';

/** afterTransfer's archive folder, checked once the shape is known (a union would word its problems as the wrong shape). */
function checkAfterTransfer(value: AfterTransfer): AfterTransfer {
  if (typeof value !== "object") return value;
  try {
    return { archive: normaliseArchiveFolder(value.archive) };
  } catch (err) {
    return problem(`archive folder ${(err as Error).message}`);
  }
}

/** A size filter: bytes (a whole number ≥ 0) or a size string such as "10MB". */
function parseFileSize(value: number | string): number {
  const bytes = typeof value === "number" ? value : parseSize(value);
  if (!Number.isInteger(bytes) || bytes < 0) problem('must be a whole number of bytes ≥ 0 or a size such as "10MB"');
  return bytes;
}

function parseTls(value: unknown): "explicit" | "implicit" {
  if (value === "explicit" || value === "implicit") return value;
  if (value === undefined) problem("is required");
  if (value === false || value === "none" || value === "plain" || value === "off") problem(PLAINTEXT_MESSAGE);
  return problem('must be one of "explicit", "implicit"');
}

// ---------------------------------------------------------------------------
// Schemas

const passwordRefSchema = z.union(
  [z.strictObject({ env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, "must be an environment variable name (letters, digits and _)") }), z.strictObject({ file: nonEmpty() })],
  { error: (issue) => (typeof issue.input === "string" ? LITERAL_PASSWORD_MESSAGE : PASSWORD_SHAPE_MESSAGE) },
);
export type PasswordRef = output<typeof passwordRefSchema>;

/** Where a client key's passphrase is read from: as a password is. */
const passphraseRefSchema = z.union(passwordRefSchema.options, {
  error: (issue) => (typeof issue.input === "string" ? LITERAL_PASSPHRASE_MESSAGE : PASSWORD_SHAPE_MESSAGE),
});

/**
 * A proxy for every connection to a remote. The user and password go in clear to an HTTP proxy
 * (Basic) and a SOCKS5 one (RFC 1929): only the FTPS session inside is encrypted.
 */
const proxySchema = z
  .strictObject({
    type: z.enum(["socks5", "http"]),
    host: z.string().transform(via(checkHost)),
    port: z.number().int().min(1).max(65535),
    // RFC 1929 carries each in at most 255 bytes; a line break would end an HTTP header.
    user: nonEmpty()
      .refine((u) => Buffer.byteLength(u) <= 255, "must be at most 255 bytes")
      .refine((u) => !/[\r\n\0]/.test(u), "must not contain CR, LF or NUL")
      .optional(),
    password: passwordRefSchema.optional(),
  })
  .refine((p) => p.password === undefined || p.user !== undefined, { message: 'is used only with "user"', path: ["password"] })
  // HTTP Basic joins them with ":" (RFC 7617): a user with one could not be told from its password.
  .refine((p) => p.type !== "http" || !p.user?.includes(":"), { message: 'must not contain ":" for an HTTP proxy (Basic authentication)', path: ["user"] });

export const remoteSchema = z.strictObject({
  host: z.string().transform(via(checkHost)),
  /** Default depends on `tls`, so it is applied in load.ts. */
  port: z.number().int().min(1).max(65535).optional(),
  tls: z.unknown().transform(via(parseTls)),
  user: nonEmpty(),
  password: passwordRefSchema,
  ca: nonEmpty().optional(),
  fingerprint: z.string().transform(via(normaliseFingerprint)).optional(),
  maxConnections: z.number().int().min(1).max(16).default(4),
  // A socket timeout or a shutdown grace past these limits is a mistake, and would overflow a timer.
  timeoutSeconds: z.number().positive().max(3600).default(30),
  // How long the agent keeps an unused connection to this server open (shared by its jobs).
  idleTimeout: durationString("an idle timeout", DAY).default(60_000),
  maxTlsVersion: z.enum(["1.2", "1.3"]).default("1.3"),
  dataConnections: z.enum(["passive", "active"]).default("passive"),
  // Mutual TLS: read and checked in config/client-cert.ts.
  clientCert: nonEmpty().optional(),
  clientKey: nonEmpty().optional(),
  clientKeyPassphrase: passphraseRefSchema.optional(),
  proxy: proxySchema.optional(),
});
export type RawRemote = output<typeof remoteSchema>;

export const agentConfigSchema = z.strictObject({
  $schema: z.string().optional(),
  stateDir: nonEmpty().default("./state"),
  jobsDir: nonEmpty().default("./jobs"),
  log: z
    .strictObject({
      level: z.enum(["error", "warn", "info", "debug"]).default("info"),
      file: nonEmpty().optional(),
      /** The console's lines: "text" (human, on stderr) or "json" (JSON lines on stdout). */
      format: z.enum(["text", "json"]).default("text"),
    })
    .default({ level: "info", format: "text" }),
  maxConcurrentJobs: z.number().int().min(1).default(2),
  shutdownGraceSeconds: z.number().min(0).max(86_400).default(30),
  // Run history kept in the state database (src/agent/history-pruner.ts): 90 days, 10 000 runs a job.
  history: z
    .strictObject({
      maxAge: durationString("maxAge").default(90 * DAY.ms),
      maxRunsPerJob: z.number().int().min(1).default(10_000),
    })
    .default({ maxAge: 90 * DAY.ms, maxRunsPerJob: 10_000 }),
  http: z
    .strictObject({ listen: z.union([z.number(), z.string()], { error: 'must be "HOST:PORT" or a port' }).transform(via(parseListen)) })
    .optional(),
  notify: notifySchema.optional(),
  remotes: z.record(z.string(), remoteSchema),
});
export type RawAgentConfig = output<typeof agentConfigSchema>;

const retriesSchema = z.strictObject({
  attempts: z.number().int().min(1).default(5),
  initialDelay: z.string({ error: DURATION_TYPE }).transform(via((text: string) => atMost(parseDuration(text), DAY))).default(1000),
  maxDelay: durationString("a duration", DAY).default(60_000),
});

/** Versions of overwritten and deleted files (config/backup.ts). */
const backupSchema = z.strictObject({
  dir: z.string({ error: 'must be a folder relative to the job root, such as ".versions"' }).transform(via(parseBackupDir)),
  keep: z
    .union([z.number(), z.string()], { error: 'must be an age such as "30d" or a whole number of runs' })
    .transform(via(parseBackupKeep)),
});

export const jobSchema = z
  .strictObject({
    $schema: z.string().optional(),
    remote: nonEmpty(),
    remotePath: z.string().transform(via(normaliseRemotePath)),
    local: nonEmpty(),
    direction: z.enum(["upload", "download", "two-way"]),
    schedule: z.string().transform(via(checkCron)).optional(),
    timezone: z.string().transform(via(checkTimezone)).optional(),
    // A fixed offset per job within this spread (spreadOffsetMs in src/agent/scheduler.ts); at most a day.
    scheduleSpread: durationString("a spread", DAY).optional(),
    watch: z.boolean().default(false),
    watchDebounce: z
      .union([z.number(), z.string()], { error: 'must be a number of milliseconds or a duration such as "1s"' })
      .transform(via(parseWatchDebounce)).default(1000),
    poll: durationString("a poll interval").optional(),
    delete: z.enum(["never", "tracked", "mirror"]).default("never"),
    onConflict: z.enum(["keep-both", "newer-wins", "local-wins", "remote-wins"]).default("keep-both"),
    futureTolerance: z.string({ error: DURATION_TYPE }).transform(via(parseDuration)).optional(),
    include: z.array(nonEmpty()).default(() => ["**/*"]),
    exclude: z.array(nonEmpty()).default(() => []),
    maxDelete: z
      .union([z.number(), z.string()], { error: 'must be a percentage such as "50%" or a whole number of files' })
      .transform(via(parseMaxDelete)).default({ kind: "percent", value: 50 }),
    bandwidthLimit: z
      .union([z.number(), z.string()], { error: 'must be bytes per second or a size such as "10MB"' })
      .transform(via(parseBandwidth)).optional(),
    doneMarker: z.string().transform(via(checkFileName)).optional(),
    verify: z.enum(["size", "hash"]).default("size"),
    followSymlinks: z.boolean().default(false),
    followRootSymlink: z.boolean().default(false),
    trustRemote: z.boolean().default(false),
    maxAge: durationString().optional(),
    retries: retriesSchema.default({ attempts: 5, initialDelay: 1000, maxDelay: 60_000 }),
    notify: notifySchema.optional(),
    expect: expectSchema.optional(),
    backup: backupSchema.optional(),
    afterTransfer: z
      .union([z.enum(["keep", "delete"]), z.strictObject({ archive: z.string() })], { error: AFTER_TRANSFER_SHAPE })
      .transform(via(checkAfterTransfer))
      .default("keep"),
    minAge: durationString("minAge").optional(),
    // "maxAge" is taken: it is the job's staleness limit for /healthz and `status`.
    maxFileAge: durationString("maxFileAge").optional(),
    minSize: z.union([z.number(), z.string()], { error: 'must be bytes or a size such as "10MB"' }).transform(via(parseFileSize)).optional(),
    maxSize: z.union([z.number(), z.string()], { error: 'must be bytes or a size such as "10MB"' }).transform(via(parseFileSize)).optional(),
    excludeFrom: nonEmpty().optional(),
  })
  .superRefine((job, ctx) => {
    // Polling watches the remote side; an upload job never reads from it.
    if (job.poll !== undefined && job.direction === "upload") {
      ctx.issues.push({ code: "custom", path: ["poll"], message: 'only applies to "download" and "two-way" jobs', input: job });
    }
    // trustRemote skips re-listing the remote before uploading; it only makes sense one-way up.
    if (job.trustRemote && job.direction !== "upload") {
      ctx.issues.push({ code: "custom", path: ["trustRemote"], message: 'only applies to "upload" jobs', input: job });
    }
    if (job.backup && job.doneMarker !== undefined && job.backup.dir === job.doneMarker) {
      ctx.issues.push({ code: "custom", path: ["backup", "dir"], message: 'must not be the job\'s "doneMarker"', input: job });
    }
    // Taking the source away is a one-way idea: in a two-way job the "source" is either side.
    if (job.afterTransfer !== "keep" && job.direction === "two-way") {
      ctx.issues.push({ code: "custom", path: ["afterTransfer"], message: 'only applies to "upload" and "download" jobs (a two-way job has no source side)', input: job });
    }
    if (job.minSize !== undefined && job.maxSize !== undefined && job.maxSize < job.minSize) {
      ctx.issues.push({ code: "custom", path: ["maxSize"], message: 'must not be smaller than "minSize"', input: job });
    }
    if (job.minAge !== undefined && job.maxFileAge !== undefined && job.maxFileAge <= job.minAge) {
      ctx.issues.push({ code: "custom", path: ["maxFileAge"], message: 'must be longer than "minAge"', input: job });
    }
    if (job.retries.maxDelay < job.retries.initialDelay) {
      ctx.issues.push({
        code: "custom",
        path: ["retries", "maxDelay"],
        message: 'must not be shorter than "retries.initialDelay"',
        input: job,
      });
    }
  });
export type RawJob = output<typeof jobSchema>;

// ---------------------------------------------------------------------------
// Errors

/** The one shape of config messages: `FILE: field "a.b": message`, with `.field` = "a.b". */
export function fieldError(file: string, field: string | undefined, message: string): ConfigError {
  if (field === undefined || field === "") return new ConfigError(message, { file });
  const err = new ConfigError(`field "${field}": ${message}`, { file });
  // ConfigError would print the bare field name; we print it quoted but still expose it.
  Object.defineProperty(err, "field", { value: field, enumerable: true });
  return err;
}

/**
 * Validate `raw` and return the parsed value, or throw ONE ConfigError for the issue that
 * comes first in the document (zod reports unknown keys last, which reads oddly).
 */
export function parseWithSchema<S extends ZodType>(schema: S, raw: unknown, file: string): output<S> {
  const result = schema.safeParse(raw);
  if (result.success) return result.data;
  const issues = [...result.error.issues].sort((a, b) => compareOrder(docOrder(raw, issuePath(a)), docOrder(raw, issuePath(b))));
  const first = issues[0];
  const path = issuePath(first);
  return fail(fieldError(file, formatPath(path), issueMessage(first, raw, path, schema)));
}

function fail(err: Error): never {
  throw err;
}

/** For an unknown key, the path includes the key itself: that is the field to name. */
function issuePath(issue: core.$ZodIssue): PropertyKey[] {
  return issue.code === "unrecognized_keys" ? [...issue.path, issue.keys[0]] : issue.path;
}

/** A field that holds a secret or the reference to one: its value is never echoed. */
function isSecretPath(path: PropertyKey[]): boolean {
  return path.includes("password") || path.includes("clientKeyPassphrase");
}

function issueMessage(issue: core.$ZodIssue, raw: unknown, path: PropertyKey[], schema: ZodType): string {
  const value = valueAt(raw, path);
  // Never echo anything under a password key: it might be the secret itself.
  const got = isSecretPath(path) ? "" : ` (got ${describeValue(value)})`;
  switch (issue.code) {
    case "unrecognized_keys":
      return unknownKeyMessage(String(issue.keys[0]), knownKeys(schema, issue.path));
    case "invalid_type":
      if (value === undefined) return "is required";
      // A schema may say what it wants in words; zod's own messages start with "Invalid input".
      if (!issue.message.startsWith("Invalid input")) return `${issue.message}${got}`;
      return `must be ${expectedText(issue.expected)}${got}`;
    case "invalid_value":
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}${got}`;
    case "too_small":
      if (issue.origin === "string") return "must not be empty";
      if (issue.origin === "array") return `must have at least ${issue.minimum} entries`;
      return `must be at least ${issue.minimum}${got}`;
    case "too_big":
      return `must be at most ${issue.maximum}${got}`;
    case "invalid_format":
      return issue.message.startsWith("Invalid") ? `has an invalid format${got}` : `${issue.message}${got}`;
    case "invalid_union":
      // Our unions carry their own message; a default one means "wrong type".
      return issue.message.startsWith("Invalid input") ? `has the wrong type${got}` : `${issue.message}${got}`;
    case "custom":
      return value === undefined || typeof value === "object" || isSecretPath(path)
        ? issue.message
        : `${issue.message}${got}`;
    default:
      return `${issue.message}${got}`;
  }
}

function expectedText(expected: string): string {
  const names: Record<string, string> = {
    string: "a string",
    number: "a number",
    int: "a whole number",
    boolean: "true or false",
    object: "an object",
    record: "an object",
    array: "a list",
  };
  return names[expected] ?? expected;
}

/** A short, single-line rendering of a JSON value for "(got …)". */
export function describeValue(value: unknown): string {
  if (value === undefined) return "nothing";
  if (Array.isArray(value)) return "a list";
  if (value !== null && typeof value === "object") return "an object";
  const text = JSON.stringify(value);
  return text.length > 60 ? text.slice(0, 57) + "…" : text;
}

/** "remotes.partner.port", "include[2]"; names that contain "." get brackets. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else if (/^[^.[\]]+$/.test(String(key))) out += (out ? "." : "") + String(key);
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let node = raw;
  for (const key of path) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return node;
}

/** Position of each path step among its siblings in the JSON text (keys keep their order). */
function docOrder(raw: unknown, path: readonly PropertyKey[]): number[] {
  const order: number[] = [];
  let node = raw;
  for (const key of path) {
    if (node === null || typeof node !== "object") break;
    const index = Array.isArray(node) ? Number(key) : Object.keys(node).indexOf(String(key));
    // A missing required key has no position: report it after the keys that are present.
    order.push(index < 0 ? Number.MAX_SAFE_INTEGER : index);
    node = (node as Record<PropertyKey, unknown>)[key];
  }
  return order;
}

function compareOrder(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

function unknownKeyMessage(key: string, known: string[]): string {
  const allowed = known.filter((k) => k !== "$schema");
  const guess = allowed.find((k) => editDistance(k.toLowerCase(), key.toLowerCase()) <= 2);
  if (guess) return `unknown key; did you mean "${guess}"?`;
  return allowed.length > 0 ? `unknown key; allowed keys are ${allowed.map((k) => `"${k}"`).join(", ")}` : "unknown key";
}

/** Keys allowed by the object schema found at `path` (walking through wrappers). */
function knownKeys(schema: ZodType, path: readonly PropertyKey[]): string[] {
  let node: core.$ZodType | undefined = schema;
  let i = 0;
  while (node) {
    const def = node._zod.def as unknown as Record<string, unknown> & { type: string };
    if (def.type === "object") {
      const shape = def.shape as Record<string, core.$ZodType>;
      if (i === path.length) return Object.keys(shape);
      node = shape[String(path[i++])];
    } else if (def.type === "record") {
      if (i === path.length) return [];
      i++;
      node = def.valueType as core.$ZodType;
    } else if (def.type === "array") {
      if (i === path.length) return [];
      i++;
      node = def.element as core.$ZodType;
    } else if (def.type === "pipe") node = def.in as core.$ZodType;
    else if ("innerType" in def) node = def.innerType as core.$ZodType;
    else return [];
  }
  return [];
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(prev[j] + 1, row[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length];
}
