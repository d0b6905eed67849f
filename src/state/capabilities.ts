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

/** The FEAT probe result per configured remote. */
export class CapabilityStore {
  constructor(private readonly db: Db) {}

  /** FEAT lines are the server's text: secrets are scrubbed from them before they are stored. */
  save(p: ProbeRecord): void {
    this.db
      .prepare(`INSERT INTO remote_capabilities (remote, host, port, features, tls_version, cipher, fingerprint, probed_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (remote) DO UPDATE SET host = excluded.host, port = excluded.port, features = excluded.features,
          tls_version = excluded.tls_version, cipher = excluded.cipher, fingerprint = excluded.fingerprint,
          probed_at = excluded.probed_at`)
      .run(p.remote, p.host, p.port, JSON.stringify(redactDeep(p.features)), p.tlsVersion ?? null, p.cipher ?? null,
        p.fingerprint ?? null, p.probedAt);
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
}
