import { hostname } from "node:os";
import type { Db } from "../state/db.js";
import { pidAlive } from "./pid.js";

export interface AgentRecord {
  pid: number;
  host: string;
  startedAt: number;
  heartbeatAt: number;
}

/** A heartbeat older than this means the agent is hung or gone, whatever its pid says. */
export const HEARTBEAT_MS = 5_000;
export const STALE_AFTER_MS = 30_000;

/** The `ftps-sync run` processes on this state directory, for `status`. */
export class AgentRegistry {
  constructor(private readonly db: Db) {}

  register(pid = process.pid, now = Date.now()): void {
    this.db
      .prepare(`INSERT INTO agents (pid, host, started_at, heartbeat_at) VALUES (?, ?, ?, ?)
        ON CONFLICT (pid) DO UPDATE SET host = excluded.host, started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at`)
      .run(pid, hostname(), now, now);
  }

  heartbeat(pid = process.pid, now = Date.now()): void {
    this.db.prepare("UPDATE agents SET heartbeat_at = ? WHERE pid = ?").run(now, pid);
  }

  unregister(pid = process.pid): void {
    this.db.prepare("DELETE FROM agents WHERE pid = ?").run(pid);
  }

  /** Agents whose process is alive and whose heartbeat is recent; forgets the others. */
  live(now = Date.now(), isAlive = pidAlive): AgentRecord[] {
    const rows = this.db.prepare("SELECT pid, host, started_at, heartbeat_at FROM agents").all() as {
      pid: number; host: string; started_at: number; heartbeat_at: number;
    }[];
    const out: AgentRecord[] = [];
    for (const r of rows) {
      if (isAlive(r.pid) && now - r.heartbeat_at < STALE_AFTER_MS) {
        out.push({ pid: r.pid, host: r.host, startedAt: r.started_at, heartbeatAt: r.heartbeat_at });
      }
    }
    return out;
  }
}
