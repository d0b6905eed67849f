/**
 * `ftps-sync init`: a starter agent.config.json and one job file, from flags or (when stdin is a
 * terminal and flags are missing) a few questions. It reads the server's certificate first and
 * offers to pin it, validates what it writes with the agent's own loader, and ends with `check`.
 * It never asks for or writes a password: only the name of the variable or file that holds it.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { createInterface } from "node:readline/promises";
import { rootCertificates } from "node:tls";
import { loadConfig } from "../../config/load.js";
import { agentConfigSchema, jobSchema, NAME_PATTERN, NAME_RULE, normaliseFingerprint, parseWithSchema } from "../../config/schema.js";
import { ExitCode, RemoteError } from "../../errors.js";
import { fetchServerCertificate, type ServerCertificate } from "../../protocol/fetch-fingerprint.js";
import { hostPort } from "../../protocol/host-port.js";
import { loadApp } from "../context.js";
import { CONFIG_SCHEMA_FILE, JOB_SCHEMA_FILE, schemaRef } from "../schema-ref.js";
import { UsageError } from "../usage.js";
import { checkCommand } from "./check.js";
import { chooseRemote, conflictingFlags, mergedRemote, readExistingConfig, type ConnectionFlags, type ExistingConfig, type RemoteChoice } from "./init-existing.js";

/** What `init` is asked: the connection flags of the remote (documented on ConnectionFlags), and the job's. */
export interface InitFlags extends ConnectionFlags {
  dir?: string;
  local?: string;
  remotePath?: string;
  direction?: string;
  schedule?: string;
  job?: string;
  /** false skips the final check. */
  check?: boolean;
}

export interface InitIO {
  /** Ask questions? Default: stdin is a terminal. */
  interactive?: boolean;
  out?: (text: string) => void;
  ask?: (question: string) => Promise<string>;
  cwd?: string;
}

const DIRECTIONS = ["upload", "download", "two-way"] as const;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A name the config accepts, made from free text ("ftp.partner.example" stays as it is). */
export function toName(text: string, fallback: string): string {
  const cleaned = text.replace(/[^A-Za-z0-9._-]+/g, "-").replace(/^[^A-Za-z0-9]+/, "").replace(/-+$/, "");
  return NAME_PATTERN.test(cleaned) ? cleaned : fallback;
}

/** A path as written into the config: relative ("./x") when inside the config's folder, else absolute. */
function configPathOf(abs: string, baseDir: string): string {
  const rel = relative(baseDir, abs);
  if (rel === "") return ".";
  if (!rel.startsWith("..") && !isAbsolute(rel)) return "./" + rel.split("\\").join("/");
  return abs;
}

/** How to reach the server: asked for a new remote (or one that --force replaces) only. */
interface Connection {
  host: string;
  port: number;
  tls: "explicit" | "implicit";
  user: string;
  password: { env: string } | { file: string };
  passwordFileAbs?: string;
  /** --ca: a CA certificate (PEM) trusted besides the system store, as the remote's "ca" is. */
  caAbs?: string;
}

interface Answers {
  /** Undefined when the job uses an existing remote as it is. */
  conn?: Connection;
  remote: string;
  localAbs: string;
  remotePath: string;
  direction: (typeof DIRECTIONS)[number];
  schedule?: string;
  job: string;
}

type Ask = (question: string) => Promise<string>;
/** The flag's value; else, interactively, the answer (or the default); else the default, or missing. */
type Value = (flag: string | undefined, name: string, question: string, def?: string) => Promise<string | undefined>;

function valueFrom(interactive: boolean, ask: Ask, missing: string[]): Value {
  return async (flag, name, question, def) => {
    if (flag !== undefined && flag !== "") return flag;
    if (interactive) {
      for (;;) {
        const a = (await ask(`${question}${def !== undefined ? ` [${def === "" ? "none" : def}]` : ""}: `)).trim();
        if (a !== "") return a;
        if (def !== undefined) return def === "" ? undefined : def;
      }
    }
    if (def !== undefined) return def === "" ? undefined : def;
    missing.push(`--${name}`);
    return undefined;
  };
}

/** The server's address, TLS mode, user and where the password is: undefined (and `missing` named) when incomplete. */
async function gatherConnection(flags: InitFlags, value: Value, missing: string[], out: (t: string) => void, interactive: boolean, cwd: string): Promise<Connection | undefined> {
  const host = await value(flags.host, "host", "FTPS server host");
  const tls = await value(flags.tls, "tls", "TLS mode: explicit (AUTH TLS, usually port 21) or implicit (usually 990)", "explicit");
  if (tls !== undefined && tls !== "explicit" && tls !== "implicit") throw new UsageError(`--tls must be "explicit" or "implicit", got "${tls}"`);
  const portText = await value(flags.port, "port", "Port", tls === "implicit" ? "990" : "21");
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`--port must be a number from 1 to 65535, got "${portText}"`);
  const user = await value(flags.user, "user", "User name");

  if (flags.passwordEnv && flags.passwordFile) throw new UsageError("give --password-env or --password-file, not both");
  let password: Connection["password"] | undefined;
  let passwordFileAbs: string | undefined;
  let source = flags.passwordEnv ? "env" : flags.passwordFile ? "file" : undefined;
  if (!source && interactive) {
    out("The password is never written into the config: it is read from an environment variable or a file.\n");
    source = (await value(undefined, "password-env", "Password from an environment variable (env) or a file (file)", "env")) === "file" ? "file" : "env";
  }
  if (source === "env") {
    const name = (await value(flags.passwordEnv, "password-env", "Name of the environment variable", "FTP_PASSWORD"))!;
    if (!ENV_NAME.test(name)) throw new UsageError(`--password-env must be a variable name (letters, digits, "_"), got "${name}"`);
    password = { env: name };
  } else if (source === "file") {
    const file = (await value(flags.passwordFile, "password-file", "Path of the password file (one line, mode 0600)"))!;
    passwordFileAbs = resolve(cwd, file);
    password = { file: passwordFileAbs };
  } else {
    missing.push("--password-env NAME or --password-file PATH");
  }
  if (!host || !user || !password) return undefined;
  const caAbs = flags.ca === undefined ? undefined : resolve(cwd, flags.ca);
  return { host, port, tls: (tls ?? "explicit") as Connection["tls"], user, password, passwordFileAbs, caAbs };
}

async function gather(flags: InitFlags, io: Required<Pick<InitIO, "out">> & InitIO, cwd: string, choice: RemoteChoice): Promise<Answers> {
  const interactive = io.interactive ?? !!process.stdin.isTTY;
  let rl: ReturnType<typeof createInterface> | undefined;
  const ask =
    io.ask ??
    (async (q: string) => {
      rl ??= createInterface({ input: process.stdin, output: process.stderr });
      return rl.question(q);
    });
  const missing: string[] = [];
  const value = valueFrom(interactive, ask, missing);

  try {
    const conn = choice.reuse ? undefined : await gatherConnection(flags, value, missing, io.out, interactive, cwd);
    const local = await value(flags.local, "local", "Local folder");
    const remotePath = await value(flags.remotePath, "remote-path", "Folder on the server (absolute, e.g. /incoming)");
    const direction = await value(flags.direction, "direction", "Direction: upload, download or two-way", "upload");
    if (direction !== undefined && !(DIRECTIONS as readonly string[]).includes(direction)) {
      throw new UsageError(`--direction must be one of ${DIRECTIONS.join(", ")}, got "${direction}"`);
    }
    const schedule = await value(flags.schedule, "schedule", 'Cron schedule, e.g. "0 2 * * *" (empty: run by hand)', "");

    if (missing.length > 0 || (!choice.reuse && !conn) || !local || !remotePath || !direction) {
      throw new UsageError(
        `missing ${missing.join(", ")}. Example:\n` +
          `  ftps-sync init --host ftp.example.com --user me --password-env MY_FTP_PASSWORD \\\n` +
          `    --local ./outbox --remote-path /incoming --direction upload --schedule "0 2 * * *"\n` +
          `(or run it in a terminal to be asked; to add a job to an existing config, --remote NAME names its remote)`,
      );
    }
    const localAbs = resolve(cwd, local);
    const remote = choice.name ?? toName(conn!.host, "server");
    const job = flags.job ?? toName(`${direction}-${basename(localAbs)}`, direction);
    for (const [what, n] of [["--remote", remote], ["--job", job]] as const) {
      if (!NAME_PATTERN.test(n)) throw new UsageError(`${what} ${NAME_RULE}, got "${n}"`);
    }
    return { conn, remote, localAbs, remotePath, direction: direction as Answers["direction"], schedule, job };
  } finally {
    rl?.close();
  }
}

function describeCert(cert: ServerCertificate, trustedBy: string): string {
  return [
    `  subject:     ${cert.subject}${cert.altNames ? ` (${cert.altNames})` : ""}`,
    `  issuer:      ${cert.issuer}`,
    `  valid:       ${cert.validFrom} to ${cert.validTo}`,
    `  fingerprint: ${cert.fingerprint}`,
    `  trusted by ${trustedBy}: ${cert.trustedBySystem ? "yes" : "no"}`,
  ].join("\n");
}

/** Writes files, and puts back what was there if a later step fails. */
class Files {
  private undo: Array<() => void> = [];
  write(path: string, text: string): void {
    const before = existsSync(path) ? readFileSync(path) : undefined;
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
    this.undo.push(() => (before === undefined ? rmSync(path, { force: true }) : writeFileSync(path, before)));
  }
  rollback(): void {
    for (const u of this.undo.reverse()) u();
    this.undo = [];
  }
}

/** `$schema` first, pointing at the installed package's schema, when the package has it. */
const withSchema = (file: string, body: Record<string, unknown>): Record<string, unknown> => {
  const ref = schemaRef(file);
  return ref ? { $schema: ref, ...body } : body;
};

/** The remote's entry as init writes it (no fingerprint yet: that comes from the server). */
function remoteEntry(c: Connection, dir: string): Record<string, unknown> {
  const entry: Record<string, unknown> = { host: c.host, port: c.port, tls: c.tls, user: c.user };
  entry.password = "file" in c.password ? { file: configPathOf(c.passwordFileAbs!, dir) } : c.password;
  if (c.caAbs) entry.ca = configPathOf(c.caAbs, dir);
  return entry;
}

/** The CA file of --ca, read before anything connects. */
function readCa(path: string): string {
  let pem: string;
  try {
    pem = readFileSync(path, "utf8");
  } catch (err) {
    throw new UsageError(`--ca ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (!pem.includes("-----BEGIN CERTIFICATE-----")) throw new UsageError(`--ca ${path} does not contain a PEM certificate ("-----BEGIN CERTIFICATE-----")`);
  return pem;
}

/**
 * First contact: reads the certificate without trusting it, like `ftps-sync fingerprint`, and
 * decides whether to pin it: --fingerprint must match; else --pin/--no-pin, else the answer in a
 * terminal; without one, a certificate that neither the system store nor --ca trusts is refused.
 */
async function decidePin(c: Connection, flags: InitFlags, expected: string | undefined, interactive: boolean, io: InitIO, out: (t: string) => void): Promise<string | undefined> {
  // As the agent will trust it: the system store and, with "ca", that CA besides (src/protocol/tls-options.ts).
  const ca = c.caAbs ? [...rootCertificates, readCa(c.caAbs)] : undefined;
  const trustedBy = ca ? "the system store or --ca" : "the system store";
  out(`Reading the certificate of ${hostPort(c.host, c.port)} (${c.tls} TLS)...\n`);
  const cert = await fetchServerCertificate(c.host, c.port, c.tls === "implicit", undefined, ca);
  out(describeCert(cert, trustedBy) + "\n");
  const where = hostPort(c.host, c.port);
  let pin = flags.pin;
  if (expected !== undefined) {
    if (cert.fingerprint !== expected) {
      throw new RemoteError(
        `the certificate of ${where} has the fingerprint ${cert.fingerprint}, not ${expected} (--fingerprint): nothing was written. ` +
          `Ask the server's admin whether the certificate changed; connect only once the two agree`,
        { kind: "tls", phase: "connect" },
      );
    }
    pin = true;
  } else if (pin === undefined && interactive) {
    const def = !cert.trustedBySystem;
    const ans = (await askOnce(io, `Pin this fingerprint${def ? ` (${trustedBy} does not trust this certificate)` : ""}? Check it with the server's admin first. [${def ? "Y/n" : "y/N"}]: `)).trim();
    pin = ans === "" ? def : /^y(es)?$/i.test(ans);
  } else if (pin === undefined && !cert.trustedBySystem) {
    // Trust on first use needs someone to check the certificate; without a terminal there is nobody.
    throw new RemoteError(
      `the certificate of ${where} is not trusted by ${trustedBy}, and without a terminal nobody can confirm it: ` +
        `nothing was written. Check the fingerprint above with the server's admin, then run init again with ` +
        `--fingerprint ${cert.fingerprint} (pins it only if the server still shows it), or --pin to pin whatever the server shows`,
      { kind: "tls", phase: "connect" },
    );
  }
  if (pin) return cert.fingerprint;
  if (!cert.trustedBySystem) out(`warning: not pinned and not trusted by ${trustedBy}: connections will be refused until you pin it or set "ca"\n`);
  return undefined;
}

/** An environment in which every variable is set: the written config is checked before its passwords exist. */
function anyVariableSet(): NodeJS.ProcessEnv {
  // A random stand-in: every loaded password is redacted from output, so a word would be.
  const standIn = randomBytes(16).toString("hex");
  return new Proxy(process.env, { get: (env, key) => (typeof key === "string" && !env[key] ? standIn : env[key as string]) });
}

/** The existing remote the job uses, refused when a connection flag says something else of it. */
function checkReused(flags: InitFlags, existing: ExistingConfig, name: string, cwd: string): Record<string, unknown> {
  const entry = existing.raw.remotes[name];
  const clash = conflictingFlags(flags, entry, dirname(existing.path), cwd);
  if (clash.length > 0) {
    throw new UsageError(
      `remote "${name}" already exists in ${existing.path}, and ${clash.join(", ")} ${clash.length > 1 ? "say" : "says"} otherwise: init does not change it. ` +
        `Leave ${clash.length > 1 ? "them" : "it"} out to use the remote as it is, give --remote a new name to add another, or add --force to replace its connection settings`,
    );
  }
  return entry;
}

export async function initCommand(flags: InitFlags, io: InitIO = {}): Promise<number> {
  const out = io.out ?? ((t: string) => void process.stderr.write(t));
  const cwd = io.cwd ?? process.cwd();
  const dir = resolve(cwd, flags.dir ?? ".");
  const configPath = join(dir, "agent.config.json");
  // An existing config gets the job (and a remote if needed); the rest of it is left as it is.
  const existing = readExistingConfig(configPath);
  const interactive = io.interactive ?? !!process.stdin.isTTY;
  const expected = expectedFingerprint(flags);
  const choice = await chooseRemote(flags, existing, interactive ? (q) => askOnce(io, q) : undefined);
  const a = await gather(flags, { ...io, out, interactive }, cwd, choice);
  const jobPath = join(existing?.jobsDir ?? join(dir, "jobs"), `${a.job}.json`);
  if (existsSync(jobPath) && !flags.force) throw new UsageError(`${jobPath} already exists; use --force to overwrite it, or --job to name another`);
  const reused = a.conn ? undefined : checkReused(flags, existing!, a.remote, cwd);
  // A new remote named after its host may meet an existing one of that name (another port...).
  if (a.conn && existing?.raw.remotes[a.remote] && !flags.force) {
    throw new UsageError(`remote "${a.remote}" already exists in ${configPath} with another address: give the new one another name with --remote, or add --force to replace it`);
  }
  if (a.conn?.passwordFileAbs && !existsSync(a.conn.passwordFileAbs)) {
    throw new UsageError(`password file ${a.conn.passwordFileAbs} does not exist: create it (one line, the password), chmod 600 it, and run init again`);
  }

  const job: Record<string, unknown> = withSchema(JOB_SCHEMA_FILE, { remote: a.remote, remotePath: a.remotePath, local: configPathOf(a.localAbs, dir), direction: a.direction });
  if (a.schedule) job.schedule = a.schedule;
  job.delete = "never";
  const entry = a.conn ? remoteEntry(a.conn, dir) : reused!;
  const replaced = existing?.raw.remotes[a.remote] !== undefined && a.conn !== undefined;
  // What is written to agent.config.json: nothing when the job uses an existing remote as it is.
  const config = !a.conn
    ? undefined
    : existing
      ? { ...existing.raw, remotes: { ...existing.raw.remotes, [a.remote]: mergedRemote(existing.raw.remotes[a.remote], entry) } }
      : withSchema(CONFIG_SCHEMA_FILE, { stateDir: "./state", jobsDir: "./jobs", log: { level: "info", file: "./logs/agent.log" }, remotes: { [a.remote]: entry } });

  // The agent's own schemas say what is wrong with a value, before anything is written or connects.
  if (config) parseWithSchema(agentConfigSchema, config, configPath);
  parseWithSchema(jobSchema, job, jobPath);

  const fingerprint = a.conn ? await decidePin(a.conn, flags, expected, interactive, io, out) : undefined;
  if (config && fingerprint) (config.remotes as Record<string, Record<string, unknown>>)[a.remote].fingerprint = fingerprint;

  const files = new Files();
  try {
    if (config) files.write(configPath, JSON.stringify(config, null, 2) + "\n");
    files.write(jobPath, JSON.stringify(job, null, 2) + "\n");
    if (!existsSync(a.localAbs)) {
      mkdirSync(a.localAbs, { recursive: true });
      out(`created the local folder ${a.localAbs}\n`);
    } else if (!statSync(a.localAbs).isDirectory()) {
      throw new UsageError(`--local ${a.localAbs} is not a folder`);
    }
    // The whole config, as the agent will load it. A variable that is not set yet is not an error
    // here, nor another job's folder missing on this machine (only the new job's is checked).
    loadConfig(configPath, { env: anyVariableSet(), jobs: [a.job] });
  } catch (err) {
    files.rollback();
    throw err;
  }

  const what = !config ? `using remote "${a.remote}" of ${configPath} as it is` : `wrote ${configPath}${existing ? ` (${replaced ? "replaced" : "added"} remote "${a.remote}"; the rest as it was)` : ""}`;
  out(`${what}${fingerprint ? " (certificate pinned)" : ""}\nwrote ${jobPath}\n`);
  const password = entry.password as { env?: string };
  const envName = password.env;
  const ready = envName === undefined || !!process.env[envName];
  const configArg = `--config ${configPath}`;
  if (flags.check === false || !ready) {
    out(
      `next:\n` +
        (ready ? "" : `  export ${envName}=...        # the password, e.g. from your secret store\n`) +
        `  ftps-sync ${configArg} check ${a.remote}\n  ftps-sync ${configArg} plan ${a.job}\n`,
    );
    return ExitCode.Ok;
  }
  out(`checking the new config:\n`);
  const app = loadApp({ config: configPath, quiet: true }, { jobs: [] });
  let code: number;
  try {
    code = await checkCommand(app, [a.remote]);
  } finally {
    app.close();
  }
  out(
    code === ExitCode.Ok
      ? `ready. Next:\n  ftps-sync ${configArg} plan ${a.job}\n  ftps-sync ${configArg} sync ${a.job}\n` +
          (a.schedule ? `  ftps-sync ${configArg} run      # the agent: runs "${a.job}" on its schedule\n` : "")
      : `the config is written, but the check failed: see README.md, "Troubleshooting"\n`,
  );
  return code;
}

/** --fingerprint in the pinning form, checked before anything connects; with --no-pin it is a contradiction. */
function expectedFingerprint(flags: InitFlags): string | undefined {
  if (flags.fingerprint === undefined) return undefined;
  if (flags.pin === false) throw new UsageError("give --fingerprint or --no-pin, not both");
  try {
    return normaliseFingerprint(flags.fingerprint);
  } catch (err) {
    throw new UsageError(`--fingerprint ${(err as Error).message} (got "${flags.fingerprint}")`);
  }
}

async function askOnce(io: InitIO, question: string): Promise<string> {
  if (io.ask) return io.ask(question);
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await rl.question(question);
  } finally {
    rl.close();
  }
}
