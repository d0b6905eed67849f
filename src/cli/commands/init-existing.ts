/**
 * `init` on an existing agent.config.json: it adds a job, and a remote when the job needs a new
 * one, and leaves everything else as it is (the other remotes, http, log...). A remote that is
 * already there is used as it is; init changes it only with --force, and then only the keys init
 * writes (host, port, tls, user, password, ca, fingerprint), never the others (proxy, timeouts...).
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { describeJsonError } from "../../config/load.js";
import { agentConfigSchema, normaliseFingerprint, parseWithSchema } from "../../config/schema.js";
import { ConfigError } from "../../errors.js";
import { UsageError } from "../usage.js";

export interface ExistingConfig {
  path: string;
  /** The file's JSON as written: what init writes back, with one remote added or replaced. */
  raw: Record<string, unknown> & { remotes: Record<string, Record<string, unknown>> };
  /** The jobs folder it names, absolute. */
  jobsDir: string;
}

/** The keys of a remote that init writes; a replaced remote keeps every other key it has. */
export const INIT_REMOTE_KEYS = ["host", "port", "tls", "user", "password", "ca", "fingerprint"] as const;

/** The connection flags, which describe a remote (see conflictingFlags). */
export interface ConnectionFlags {
  host?: string;
  port?: string;
  tls?: string;
  user?: string;
  passwordEnv?: string;
  passwordFile?: string;
  /** A CA certificate file (PEM) for the remote's "ca", trusted besides the system store. */
  ca?: string;
  /** The fingerprint the certificate must have (from the server's admin): pinned if it matches, refused if not. */
  fingerprint?: string;
  /**
   * true: pin what the server shows; false: never; undefined: ask in a terminal. Without one, a
   * certificate the system trusts is not pinned and one it does not trust is refused (exit 4).
   */
  pin?: boolean;
  /** The remote's name in agent.config.json. */
  remote?: string;
  /** Overwrite an existing job file, and replace the connection settings of an existing remote. */
  force?: boolean;
}

/** The config at `path` when there is one; one that is not valid is refused (init adds to valid configs only). */
export function readExistingConfig(path: string): ExistingConfig | undefined {
  if (!existsSync(path)) return undefined;
  const refuse = (why: string) =>
    new ConfigError(`${why}; init adds to a valid config only: fix it (\`ftps-sync validate\` says what is wrong) or write elsewhere with --dir`, { file: path });
  let raw: unknown;
  const text = readFileSync(path, "utf8").replace(/^\uFEFF/, "");
  try {
    raw = JSON.parse(text);
  } catch {
    throw refuse(describeJsonError(text));
  }
  try {
    const parsed = parseWithSchema(agentConfigSchema, raw, path);
    return { path, raw: raw as ExistingConfig["raw"], jobsDir: resolve(dirname(path), parsed.jobsDir) };
  } catch (err) {
    throw refuse((err as Error).message.replace(`${path}: `, ""));
  }
}

/** Which remote the new job uses: an existing one as it is (`reuse`), or a new or replaced one. */
export interface RemoteChoice {
  name?: string;
  reuse: boolean;
}

const defaultPort = (tls: unknown) => (tls === "implicit" ? 990 : 21);

/**
 * The remote for the job: --remote, else the existing remote at --host (and --port), else, with
 * no --host, the only remote there is or (in a terminal) the one the user names.
 */
export async function chooseRemote(flags: ConnectionFlags, existing: ExistingConfig | undefined, ask?: (q: string) => Promise<string>): Promise<RemoteChoice> {
  if (!existing) return { name: flags.remote, reuse: false };
  const remotes = existing.raw.remotes;
  const names = Object.keys(remotes);
  const use = (name: string): RemoteChoice => ({ name, reuse: !flags.force });
  if (flags.remote !== undefined) return remotes[flags.remote] ? use(flags.remote) : { name: flags.remote, reuse: false };
  if (flags.host !== undefined) {
    const port = flags.port !== undefined ? Number(flags.port) : undefined;
    const same = names.find((n) => remotes[n].host === flags.host && (port === undefined || (remotes[n].port ?? defaultPort(remotes[n].tls)) === port));
    return same ? use(same) : { reuse: false };
  }
  if (ask && names.length > 0) {
    const answer = (await ask(`Remote: one of ${names.join(", ")}, or a new name [${names[0]}]: `)).trim() || names[0];
    return remotes[answer] ? use(answer) : { name: answer, reuse: false };
  }
  if (names.length === 1) return use(names[0]);
  throw new UsageError(`${existing.path} has ${names.length} remotes: name the job's remote with --remote (one of ${names.join(", ")}), or give --host for a new one`);
}

/** The connection flags given that say something else than the existing remote `entry`: init would not apply them. */
export function conflictingFlags(flags: ConnectionFlags, entry: Record<string, unknown>, configDir: string, cwd: string): string[] {
  const password = (entry.password ?? {}) as { env?: string; file?: string };
  const fingerprint = typeof entry.fingerprint === "string" ? normaliseFingerprint(entry.fingerprint) : undefined;
  const samePath = (flag: string, written: unknown) => typeof written === "string" && resolve(cwd, flag) === resolve(configDir, written);
  const differs: Array<[string, boolean]> = [
    ["--host", flags.host !== undefined && flags.host !== entry.host],
    ["--tls", flags.tls !== undefined && flags.tls !== entry.tls],
    ["--port", flags.port !== undefined && Number(flags.port) !== (entry.port ?? defaultPort(entry.tls))],
    ["--user", flags.user !== undefined && flags.user !== entry.user],
    ["--password-env", flags.passwordEnv !== undefined && flags.passwordEnv !== password.env],
    ["--password-file", flags.passwordFile !== undefined && !samePath(flags.passwordFile, password.file)],
    ["--ca", flags.ca !== undefined && !samePath(flags.ca, entry.ca)],
    ["--fingerprint", flags.fingerprint !== undefined && normaliseFingerprint(flags.fingerprint) !== fingerprint],
    ["--pin", flags.pin === true && flags.fingerprint === undefined && fingerprint === undefined],
    ["--no-pin", flags.pin === false && fingerprint !== undefined],
  ];
  return differs.filter(([, d]) => d).map(([flag]) => flag);
}

/** The remote as init writes it over an existing entry: init's keys first, from `written`; the entry's other keys kept. */
export function mergedRemote(before: Record<string, unknown> | undefined, written: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...(before ?? {}) };
  for (const key of INIT_REMOTE_KEYS) delete out[key];
  return { ...written, ...out };
}
