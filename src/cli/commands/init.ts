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
import { loadConfig } from "../../config/load.js";
import { agentConfigSchema, jobSchema, NAME_PATTERN, NAME_RULE, normaliseFingerprint, parseWithSchema } from "../../config/schema.js";
import { ExitCode, RemoteError } from "../../errors.js";
import { fetchServerCertificate, type ServerCertificate } from "../../protocol/fetch-fingerprint.js";
import { hostPort } from "../../protocol/host-port.js";
import { loadApp } from "../context.js";
import { UsageError } from "../usage.js";
import { checkCommand } from "./check.js";

export interface InitFlags {
  dir?: string;
  host?: string;
  port?: string;
  tls?: string;
  user?: string;
  passwordEnv?: string;
  passwordFile?: string;
  remote?: string;
  local?: string;
  remotePath?: string;
  direction?: string;
  schedule?: string;
  job?: string;
  /**
   * true: pin what the server shows; false: never; undefined: ask in a terminal. Without one, a
   * certificate the system trusts is not pinned and one it does not trust is refused (exit 4).
   */
  pin?: boolean;
  /** The fingerprint the certificate must have (from the server's admin): pinned if it matches, refused if not. */
  fingerprint?: string;
  /** false skips the final check. */
  check?: boolean;
  force?: boolean;
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

interface Answers {
  host: string;
  port?: number;
  tls: "explicit" | "implicit";
  user: string;
  password: { env: string } | { file: string };
  passwordFileAbs?: string;
  remote: string;
  localAbs: string;
  remotePath: string;
  direction: (typeof DIRECTIONS)[number];
  schedule?: string;
  job: string;
}

async function gather(flags: InitFlags, io: Required<Pick<InitIO, "out">> & InitIO, cwd: string): Promise<Answers> {
  const interactive = io.interactive ?? !!process.stdin.isTTY;
  let rl: ReturnType<typeof createInterface> | undefined;
  const ask =
    io.ask ??
    (async (q: string) => {
      rl ??= createInterface({ input: process.stdin, output: process.stderr });
      return rl.question(q);
    });
  const missing: string[] = [];
  /** The flag's value; else, interactively, the answer (or the default); else the default, or missing. */
  const value = async (flag: string | undefined, name: string, question: string, def?: string): Promise<string | undefined> => {
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

  try {
    const host = await value(flags.host, "host", "FTPS server host");
    const tls = await value(flags.tls, "tls", "TLS mode: explicit (AUTH TLS, usually port 21) or implicit (usually 990)", "explicit");
    if (tls !== undefined && tls !== "explicit" && tls !== "implicit") throw new UsageError(`--tls must be "explicit" or "implicit", got "${tls}"`);
    const portText = await value(flags.port, "port", "Port", tls === "implicit" ? "990" : "21");
    const port = Number(portText);
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UsageError(`--port must be a number from 1 to 65535, got "${portText}"`);
    const user = await value(flags.user, "user", "User name");

    if (flags.passwordEnv && flags.passwordFile) throw new UsageError("give --password-env or --password-file, not both");
    let password: Answers["password"] | undefined;
    let passwordFileAbs: string | undefined;
    let source = flags.passwordEnv ? "env" : flags.passwordFile ? "file" : undefined;
    if (!source && interactive) {
      io.out("The password is never written into the config: it is read from an environment variable or a file.\n");
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

    const local = await value(flags.local, "local", "Local folder");
    const remotePath = await value(flags.remotePath, "remote-path", "Folder on the server (absolute, e.g. /incoming)");
    const direction = await value(flags.direction, "direction", "Direction: upload, download or two-way", "upload");
    if (direction !== undefined && !(DIRECTIONS as readonly string[]).includes(direction)) {
      throw new UsageError(`--direction must be one of ${DIRECTIONS.join(", ")}, got "${direction}"`);
    }
    const schedule = await value(flags.schedule, "schedule", 'Cron schedule, e.g. "0 2 * * *" (empty: run by hand)', "");

    if (missing.length > 0 || !host || !user || !password || !local || !remotePath || !direction) {
      throw new UsageError(
        `missing ${missing.join(", ")}. Example:\n` +
          `  ftps-sync init --host ftp.example.com --user me --password-env MY_FTP_PASSWORD \\\n` +
          `    --local ./outbox --remote-path /incoming --direction upload --schedule "0 2 * * *"\n` +
          `(or run it in a terminal to be asked)`,
      );
    }
    const localAbs = resolve(cwd, local);
    const remote = flags.remote ?? toName(host, "server");
    const job = flags.job ?? toName(`${direction}-${basename(localAbs)}`, direction);
    for (const [what, n] of [["--remote", remote], ["--job", job]] as const) {
      if (!NAME_PATTERN.test(n)) throw new UsageError(`${what} ${NAME_RULE}, got "${n}"`);
    }
    return {
      host, port, tls: (tls ?? "explicit") as Answers["tls"], user, password, passwordFileAbs, remote, localAbs, remotePath,
      direction: direction as Answers["direction"], schedule, job,
    };
  } finally {
    rl?.close();
  }
}

function describeCert(cert: ServerCertificate): string {
  return [
    `  subject:     ${cert.subject}${cert.altNames ? ` (${cert.altNames})` : ""}`,
    `  issuer:      ${cert.issuer}`,
    `  valid:       ${cert.validFrom} to ${cert.validTo}`,
    `  fingerprint: ${cert.fingerprint}`,
    `  trusted by the system store: ${cert.trustedBySystem ? "yes" : "no"}`,
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

export async function initCommand(flags: InitFlags, io: InitIO = {}): Promise<number> {
  const out = io.out ?? ((t: string) => void process.stderr.write(t));
  const cwd = io.cwd ?? process.cwd();
  const dir = resolve(cwd, flags.dir ?? ".");
  const configPath = join(dir, "agent.config.json");
  if (existsSync(configPath) && !flags.force) {
    throw new UsageError(`${configPath} already exists; use --force to overwrite it, or --dir to write elsewhere`);
  }
  const interactive = io.interactive ?? !!process.stdin.isTTY;
  const expected = expectedFingerprint(flags);
  const a = await gather(flags, { ...io, out, interactive }, cwd);
  const jobPath = join(dir, "jobs", `${a.job}.json`);
  if (existsSync(jobPath) && !flags.force) throw new UsageError(`${jobPath} already exists; use --force to overwrite it, or --job to name another`);
  if (a.passwordFileAbs && !existsSync(a.passwordFileAbs)) {
    throw new UsageError(`password file ${a.passwordFileAbs} does not exist: create it (one line, the password), chmod 600 it, and run init again`);
  }

  const remote: Record<string, unknown> = { host: a.host, port: a.port, tls: a.tls, user: a.user };
  remote.password = "file" in a.password ? { file: configPathOf(a.passwordFileAbs!, dir) } : a.password;
  const config = { stateDir: "./state", jobsDir: "./jobs", log: { level: "info", file: "./logs/agent.log" }, remotes: { [a.remote]: remote } };
  const job: Record<string, unknown> = { remote: a.remote, remotePath: a.remotePath, local: configPathOf(a.localAbs, dir), direction: a.direction };
  if (a.schedule) job.schedule = a.schedule;
  job.delete = "never";

  // The agent's own schemas say what is wrong with a value, before anything is written or connects.
  parseWithSchema(agentConfigSchema, config, configPath);
  parseWithSchema(jobSchema, job, jobPath);

  // First contact: read the certificate without trusting it, like `ftps-sync fingerprint`.
  out(`Reading the certificate of ${hostPort(a.host, a.port!)} (${a.tls} TLS)...\n`);
  const cert = await fetchServerCertificate(a.host, a.port!, a.tls === "implicit");
  out(describeCert(cert) + "\n");
  const where = hostPort(a.host, a.port!);
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
    const ans = (await askOnce(io, `Pin this fingerprint${def ? " (the system does not trust this certificate)" : ""}? Check it with the server's admin first. [${def ? "Y/n" : "y/N"}]: `)).trim();
    pin = ans === "" ? def : /^y(es)?$/i.test(ans);
  } else if (pin === undefined && !cert.trustedBySystem) {
    // Trust on first use needs someone to check the certificate; without a terminal there is nobody.
    throw new RemoteError(
      `the certificate of ${where} is not trusted by the system store, and without a terminal nobody can confirm it: ` +
        `nothing was written. Check the fingerprint above with the server's admin, then run init again with ` +
        `--fingerprint ${cert.fingerprint} (pins it only if the server still shows it), or --pin to pin whatever the server shows`,
      { kind: "tls", phase: "connect" },
    );
  }
  pin ??= false;
  if (pin) remote.fingerprint = cert.fingerprint;
  else if (!cert.trustedBySystem) out(`warning: not pinned and not trusted by the system store: connections will be refused until you pin it or set "ca"\n`);

  const files = new Files();
  try {
    files.write(configPath, JSON.stringify(config, null, 2) + "\n");
    files.write(jobPath, JSON.stringify(job, null, 2) + "\n");
    if (!existsSync(a.localAbs)) {
      mkdirSync(a.localAbs, { recursive: true });
      out(`created the local folder ${a.localAbs}\n`);
    } else if (!statSync(a.localAbs).isDirectory()) {
      throw new UsageError(`--local ${a.localAbs} is not a folder`);
    }
    // The whole config, as the agent will load it. A variable that is not set yet is not an error here.
    const envName = "env" in a.password ? a.password.env : undefined;
    // A random stand-in: every loaded password is redacted from output, so a word would be.
    const env = envName && !process.env[envName] ? { ...process.env, [envName]: randomBytes(16).toString("hex") } : process.env;
    loadConfig(configPath, { env });
  } catch (err) {
    files.rollback();
    throw err;
  }

  out(`wrote ${configPath}${pin ? " (certificate pinned)" : ""}\nwrote ${jobPath}\n`);
  const envName = "env" in a.password ? a.password.env : undefined;
  const ready = envName === undefined || !!process.env[envName];
  const configArg = `--config ${configPath}`;
  if (flags.check === false || !ready) {
    out(
      `next:\n` +
        (ready ? "" : `  export ${envName}=...        # the password, e.g. from your secret store\n`) +
        `  ftps-sync ${configArg} check\n  ftps-sync ${configArg} plan ${a.job}\n`,
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
