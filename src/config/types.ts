import type { BackupConfig } from "./backup.js";
import type { Secret } from "../secret.js";

/** A configured FTPS server, with defaults applied, paths resolved and the secret read. */
export interface RemoteConfig {
  name: string;
  host: string;
  /** Default 21 for explicit, 990 for implicit. */
  port: number;
  tls: "explicit" | "implicit";
  user: string;
  password: Secret;
  /** Absolute path of the password file, when the password comes from one (never synced by a job). */
  passwordFile?: string;
  /** Absolute path of the extra CA file, when set. */
  caPath?: string;
  /** PEM text read from caPath. */
  ca?: string;
  /** Normalised pin: "sha256:" + 32 upper-case hex bytes joined by ":". */
  fingerprint?: string;
  /** Size of the connection pool for this remote. Default 4. */
  maxConnections: number;
  /** Control and data socket timeout. Default 30 000 ms. */
  timeoutMs: number;
  /**
   * The agent keeps a connection to this server open this long unused, for the next run of any
   * job on this remote. Default 60 000 ms. Absent in tests' hand-made remotes: no idle closing.
   */
  idleTimeoutMs?: number;
  /**
   * Highest TLS version offered. Default "1.3". "1.2" makes each data connection cheaper for
   * both ends (a resumed TLS 1.2 session skips the key exchange and TLS 1.3's key schedule).
   */
  maxTlsVersion: "1.2" | "1.3";
  /**
   * Who opens data connections: the agent ("passive": EPSV, PASV) or the server ("active": EPRT,
   * PORT, for a server that forbids passive mode). Default (absent) "passive".
   */
  dataConnections?: "passive" | "active";
  /** Client certificate for mutual TLS (PEM text), read from clientCertPath; always with clientKey. */
  clientCert?: string;
  clientCertPath?: string;
  /** The client certificate's private key, decrypted (PEM text), read from clientKeyPath. */
  clientKey?: Secret;
  clientKeyPath?: string;
  /** Absolute path of the key's passphrase file, when the passphrase comes from one (never synced by a job). */
  clientKeyPassphraseFile?: string;
  /** The proxy every connection to this remote goes through (control and data), when set. */
  proxy?: ProxyConfig;
}

/** A SOCKS5 (RFC 1928) or HTTP CONNECT proxy; credentials optional (SOCKS5 user/password, HTTP Basic). */
export interface ProxyConfig {
  type: "socks5" | "http";
  host: string;
  port: number;
  user?: string;
  password?: Secret;
  /** Absolute path of the proxy password's file, when it comes from one (never synced by a job). */
  passwordFile?: string;
}

export type Direction = "upload" | "download" | "two-way";
export type DeletePolicy = "never" | "tracked" | "mirror";
export type ConflictPolicy = "keep-both" | "newer-wins" | "local-wins" | "remote-wins";
export type MaxDelete = { kind: "percent"; value: number } | { kind: "count"; value: number };
/**
 * What a one-way job does with a source file once its copy at the destination is verified and
 * recorded: leave it, delete it, or move it to a folder on the source side (relative to that
 * side's job root, "/"-separated, excluded from the sync).
 */
export type AfterTransfer = "keep" | "delete" | { archive: string };

/** One sync job: one file in jobs/, named after the file. */
export interface JobConfig {
  name: string;
  /** Absolute path of the job file. */
  file: string;
  remote: string;
  /** Absolute remote folder, "/" separated, no trailing slash (except "/"). */
  remotePath: string;
  /** Absolute local folder. */
  local: string;
  direction: Direction;
  schedule?: string;
  timezone?: string;
  /** Milliseconds: each scheduled run starts this job's fixed offset (a hash of its name) within it after the cron time. */
  scheduleSpreadMs?: number;
  watch: boolean;
  /** Milliseconds. Default 1000. */
  watchDebounceMs: number;
  /** Poll interval in milliseconds, when set. */
  pollMs?: number;
  delete: DeletePolicy;
  onConflict: ConflictPolicy;
  /**
   * Milliseconds a file's time may be ahead of this machine's clock and still win newer-wins
   * (default 5 minutes, DEFAULT_FUTURE_TOLERANCE_MS in plan/diff.ts).
   */
  futureToleranceMs?: number;
  include: string[];
  exclude: string[];
  maxDelete: MaxDelete;
  /** Bytes per second for this job, when set. */
  bandwidthLimit?: number;
  doneMarker?: string;
  verify: "size" | "hash";
  followSymlinks: boolean;
  /** The job's local folder may itself be a symbolic link (refused otherwise). The loader always sets it. */
  followRootSymlink?: boolean;
  trustRemote: boolean;
  /** Milliseconds: /healthz turns unhealthy without a successful run this recent. */
  maxAgeMs?: number;
  retries: { attempts: number; initialDelayMs: number; maxDelayMs: number };
  /** Who hears about the job's runs (the job's "notify", else the agent's). */
  notify?: NotifyConfig;
  /** When a file is expected to arrive ("expect"). */
  expect?: ExpectConfig;
  /** Versions of the files a run overwrites or deletes, on either side (config/backup.ts). */
  backup?: BackupConfig;
  /** One-way jobs only; absent means "keep" (sync/after-transfer.ts). */
  afterTransfer?: AfterTransfer;
  /** Filters on a file's time and size (plan/file-filters.ts); a file they hold back is neither transferred nor deleted. */
  minAgeMs?: number;
  maxFileAgeMs?: number;
  minSize?: number;
  maxSize?: number;
  /** Absolute path of the excludeFrom file, when set (its patterns are already in `exclude`). */
  excludeFrom?: string;
}

export type NotifyEvent = "failure" | "success" | "late" | "recovered";

/** "notify": a webhook and/or a command, told of the events in `on`. */
export interface NotifyConfig {
  /** https:// (or http:// to a loopback address) URL that receives a POST of JSON. */
  webhook?: string;
  /** PEM text of extra CA certificates trusted for the webhook, read from caPath. */
  ca?: string;
  caPath?: string;
  /** argv of a command run with the event in its environment and as JSON on its stdin. */
  command?: string[];
  on: NotifyEvent[];
  /** Per attempt. */
  timeoutMs: number;
  attempts: number;
}

/** "expect": a file matching `match` should have arrived by `by` on each of `days`. */
export interface ExpectConfig {
  /** As written ("07:00"), and as minutes after midnight. */
  by: string;
  byMinutes: number;
  timezone: string;
  match: string;
  /** As written ("mon-fri"), and as JavaScript weekdays (0 = Sunday). */
  days: string;
  weekdays: number[];
}

export interface AgentConfig {
  /** Absolute path of agent.config.json. */
  configPath: string;
  /** Folder that relative paths are resolved against. */
  baseDir: string;
  stateDir: string;
  jobsDir: string;
  log: { level: "error" | "warn" | "info" | "debug"; file?: string; format?: "text" | "json" };
  maxConcurrentJobs: number;
  shutdownGraceSeconds: number;
  http?: { host: string; port: number };
  /** The agent-wide "notify", the default of jobs without their own. */
  notify?: NotifyConfig;
  /** Run history kept: runs older than maxAgeMs, or past a job's newest maxRunsPerJob, are pruned. The loader always sets it. */
  history?: { maxAgeMs: number; maxRunsPerJob: number };
  remotes: Record<string, RemoteConfig>;
  jobs: Record<string, JobConfig>;
}
