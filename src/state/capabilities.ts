import { redactDeep } from "../redact.js";
import type { Db } from "./db.js";

export interface ProbeRecord {
  remote: string;
  host: string;
  port: number;
  features: Record<string, string>;
  tlsVersion?: string;
  cipher?: string;
  fingerprint?: string;
  probedAt: number;
}

/** How long a technique a server did not take is remembered before it is tried again. */
export const TECHNIQUE_OFF_MEMORY_MS = 30 * 86_400_000;

/** How long a server's measured clock is trusted before it is measured again. */
export const CLOCK_MEMORY_MS = 30 * 86_400_000;

/** A server's clock as remembered (migration 008). */
export interface ServerClockRecord {
  /** How far ahead of UTC its listing times are, in ms. */
  listingMs: number;
  /** The same for MDTM's replies, when measured. */
  exactMs?: number;
  /** What it was learnt from. */
  how: string;
  at: number;
}

/** How long a refused upload resume is remembered. */
export const UPLOAD_RESUME_REFUSAL_MEMORY_MS = 30 * 86_400_000;

/** One thing the agent remembers of a server, for `check`: a technique it does not take, why, and since when. */
export interface RememberedTechnique {
  technique: string;
  reason: string;
  /** When it was learnt (epoch ms). */
  at: number;
}

/**
 * The columns of remote_capabilities that keep, as JSON, something learnt of the server at the
 * row's host and port (migrations 007, 008 and 016). A closed set: a column name is written into
 * SQL below, so it never comes from outside this module.
 */
type LearntColumn = "techniques_off" | "clock" | "key_share";

/** The FEAT probe result per configured remote, and what the agent learnt about it. */
export class CapabilityStore {
  constructor(private readonly db: Db) {}

  /** FEAT lines are the server's text: secrets are scrubbed from them before they are stored. */
  save(p: ProbeRecord): void {
    this.db
      .prepare(`INSERT INTO remote_capabilities (remote, host, port, features, tls_version, cipher, fingerprint, probed_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (remote) DO UPDATE SET host = excluded.host, port = excluded.port, features = excluded.features,
          tls_version = excluded.tls_version, cipher = excluded.cipher, fingerprint = excluded.fingerprint,
          probed_at = excluded.probed_at,
          upload_resume_refused_at = CASE WHEN remote_capabilities.host = excluded.host AND remote_capabilities.port = excluded.port
            THEN remote_capabilities.upload_resume_refused_at END,
          techniques_off = CASE WHEN remote_capabilities.host = excluded.host AND remote_capabilities.port = excluded.port
            THEN remote_capabilities.techniques_off END,
          clock = CASE WHEN remote_capabilities.host = excluded.host AND remote_capabilities.port = excluded.port
            THEN remote_capabilities.clock END,
          key_share = CASE WHEN remote_capabilities.host = excluded.host AND remote_capabilities.port = excluded.port
            THEN remote_capabilities.key_share END`)
      .run(p.remote, p.host, p.port, JSON.stringify(redactDeep(p.features)), p.tlsVersion ?? null, p.cipher ?? null,
        p.fingerprint ?? null, p.probedAt);
  }

  /**
   * Whether the remote refused to resume an upload within `withinMs` (a server's setting may
   * change: after that long, resuming is tried again, and learnt again if still refused).
   */
  uploadResumeRefused(remote: string, now = Date.now(), withinMs = UPLOAD_RESUME_REFUSAL_MEMORY_MS): boolean {
    const row = this.db.prepare("SELECT upload_resume_refused_at AS at FROM remote_capabilities WHERE remote = ?").get(remote) as
      | { at: number | null }
      | undefined;
    return row?.at != null && now - row.at < withinMs;
  }

  /** The remote refused to resume an upload (see migration 006). */
  rememberUploadResumeRefused(remote: string, at = Date.now()): void {
    this.db.prepare("UPDATE remote_capabilities SET upload_resume_refused_at = ? WHERE remote = ?").run(at, remote);
  }

  /**
   * The techniques the server at `host`:`port` was found not to take within `withinMs`, each
   * with why (see migration 007).
   */
  techniquesOff(remote: string, host: string, port: number, now = Date.now(), withinMs = TECHNIQUE_OFF_MEMORY_MS): Record<string, string> {
    const known = this.readLearnt<Record<string, { reason: string; at: number }>>(remote, host, port, "techniques_off");
    const off: Record<string, string> = {};
    for (const [technique, { reason, at }] of Object.entries(known ?? {})) {
      if (now - at < withinMs) off[technique] = reason;
    }
    return off;
  }

  /** The server at `host`:`port` does not take `technique` (the row is made if the run got no further). */
  rememberTechniqueOff(remote: string, host: string, port: number, technique: string, reason: string, at = Date.now()): void {
    const off = this.readLearnt<Record<string, unknown>>(remote, host, port, "techniques_off") ?? {};
    off[technique] = { reason: String(redactDeep(reason)), at };
    this.writeLearnt(remote, host, port, "techniques_off", off, at);
  }

  /**
   * Everything remembered of the server at `host`:`port` and still in force, oldest first: each
   * technique off (whatever its name: other parts of the agent add their own) and a refused upload
   * resume.
   */
  remembered(remote: string, host: string, port: number, now = Date.now()): RememberedTechnique[] {
    const row = this.db
      .prepare("SELECT host, port, techniques_off AS off, upload_resume_refused_at AS resumeAt FROM remote_capabilities WHERE remote = ?")
      .get(remote) as { host: string; port: number; off: string | null; resumeAt: number | null } | undefined;
    if (!row || row.host !== host || row.port !== port) return [];
    const out: RememberedTechnique[] = [];
    for (const [technique, { reason, at }] of Object.entries(JSON.parse(row.off ?? "{}") as Record<string, { reason: string; at: number }>)) {
      if (now - at < TECHNIQUE_OFF_MEMORY_MS) out.push({ technique, reason, at });
    }
    if (row.resumeAt != null && now - row.resumeAt < UPLOAD_RESUME_REFUSAL_MEMORY_MS) {
      out.push({ technique: "uploadResume", reason: "APPE refused: resumes off (an interrupted upload is sent whole again)", at: row.resumeAt });
    }
    return out.sort((a, b) => a.at - b.at);
  }

  get(remote: string): ProbeRecord | undefined {
    const row = this.db.prepare("SELECT * FROM remote_capabilities WHERE remote = ?").get(remote) as
      | { remote: string; host: string; port: number; features: string; tls_version: string | null; cipher: string | null; fingerprint: string | null; probed_at: number }
      | undefined;
    if (!row) return undefined;
    return {
      remote: row.remote,
      host: row.host,
      port: row.port,
      features: JSON.parse(row.features) as Record<string, string>,
      tlsVersion: row.tls_version ?? undefined,
      cipher: row.cipher ?? undefined,
      fingerprint: row.fingerprint ?? undefined,
      probedAt: row.probed_at,
    };
  }

  /**
   * The clock of the server at `host`:`port` (how far ahead of UTC its times are, see migration
   * 008), when measured within `withinMs`.
   */
  clockOffset(remote: string, host: string, port: number, now = Date.now(), withinMs = CLOCK_MEMORY_MS): ServerClockRecord | undefined {
    const clock = this.readLearnt<ServerClockRecord>(remote, host, port, "clock");
    return clock && now - clock.at < withinMs ? clock : undefined;
  }

  /** The server at `host`:`port` shows its times `clock` ahead of UTC (the row is made if the run got no further). */
  rememberClockOffset(remote: string, host: string, port: number, clock: { listingMs: number; exactMs?: number }, how: string, at = Date.now()): void {
    const record: ServerClockRecord = { listingMs: clock.listingMs, ...(clock.exactMs !== undefined ? { exactMs: clock.exactMs } : {}), how: String(redactDeep(how)), at };
    this.writeLearnt(remote, host, port, "clock", record, at);
  }

  /** The key-exchange group the server at `host`:`port` chose (migration 016), when learnt within `withinMs`. */
  keyShareGroup(remote: string, host: string, port: number, now = Date.now(), withinMs = TECHNIQUE_OFF_MEMORY_MS): { group: string; at: number } | undefined {
    const known = this.readLearnt<{ group: string; at: number }>(remote, host, port, "key_share");
    return known && now - known.at < withinMs ? known : undefined;
  }

  /** The server at `host`:`port` chose `group` (the row is made if the run got no further). */
  rememberKeyShareGroup(remote: string, host: string, port: number, group: string, at = Date.now()): void {
    this.writeLearnt(remote, host, port, "key_share", { group, at }, at);
  }

  /** What `column` keeps of the remote, parsed; undefined when nothing is kept or the row is of another server than `host`:`port`. */
  private readLearnt<T>(remote: string, host: string, port: number, column: LearntColumn): T | undefined {
    const row = this.db.prepare(`SELECT host, port, ${column} AS learnt FROM remote_capabilities WHERE remote = ?`).get(remote) as
      | { host: string; port: number; learnt: string | null }
      | undefined;
    if (!row?.learnt || row.host !== host || row.port !== port) return undefined;
    return JSON.parse(row.learnt) as T;
  }

  /** Keeps `value` as JSON in `column` of the remote's row, the row made (with `at` as its probe time) if the run got no further. */
  private writeLearnt(remote: string, host: string, port: number, column: LearntColumn, value: unknown, at: number): void {
    this.db
      .prepare(`INSERT INTO remote_capabilities (remote, host, port, features, probed_at, ${column}) VALUES (?, ?, ?, '{}', ?, ?)
        ON CONFLICT (remote) DO UPDATE SET ${column} = excluded.${column}`)
      .run(remote, host, port, at, JSON.stringify(value));
  }
}
