import type { Db } from "./db.js";

/** An `ftps-sync run` process on this state directory, as it registered itself. */
export interface AgentRecord {
  pid: number;
  host: string;
  startedAt: number;
  heartbeatAt: number;
}

/**
 * The agents' rows (table agents, one per pid). Which of them are live (pid, heartbeat age) is
 * src/agent/agents.ts.
 */
export interface AgentStore {
  /** Adds the agent, or starts its row afresh when its pid is already there. */
  register(agent: AgentRecord): void;
  heartbeat(pid: number, now: number): void;
  remove(pid: number): void;
  all(): AgentRecord[];
}

export class SqliteAgentStore implements AgentStore {
  constructor(private readonly db: Db) {}

  register(a: AgentRecord): void {
    this.db
      .prepare(`INSERT INTO agents (pid, host, started_at, heartbeat_at) VALUES (?, ?, ?, ?)
        ON CONFLICT (pid) DO UPDATE SET host = excluded.host, started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at`)
      .run(a.pid, a.host, a.startedAt, a.heartbeatAt);
  }

  heartbeat(pid: number, now: number): void {
    this.db.prepare("UPDATE agents SET heartbeat_at = ? WHERE pid = ?").run(now, pid);
  }

  remove(pid: number): void {
    this.db.prepare("DELETE FROM agents WHERE pid = ?").run(pid);
  }

  all(): AgentRecord[] {
    const rows = this.db.prepare("SELECT pid, host, started_at, heartbeat_at FROM agents").all() as {
      pid: number; host: string; started_at: number; heartbeat_at: number;
    }[];
    return rows.map((r) => ({ pid: r.pid, host: r.host, startedAt: r.started_at, heartbeatAt: r.heartbeat_at }));
  }
}
