import { hostname } from "node:os";
import type { AgentRecord, AgentStore } from "../state/agents.js";
import { pidAlive } from "./pid.js";

export type { AgentRecord };

/** A heartbeat older than this means the agent is hung or gone, whatever its pid says. */
export const HEARTBEAT_MS = 5_000;
export const STALE_AFTER_MS = 30_000;

/** The `ftps-sync run` processes on this state directory, for `status`. */
export class AgentRegistry {
  constructor(private readonly store: AgentStore) {}

  register(pid = process.pid, now = Date.now()): void {
    this.store.register({ pid, host: hostname(), startedAt: now, heartbeatAt: now });
  }

  heartbeat(pid = process.pid, now = Date.now()): void {
    this.store.heartbeat(pid, now);
  }

  unregister(pid = process.pid): void {
    this.store.remove(pid);
  }

  /** Agents whose process is alive and whose heartbeat is recent. */
  live(now = Date.now(), isAlive = pidAlive): AgentRecord[] {
    return this.store.all().filter((a) => isAlive(a.pid) && now - a.heartbeatAt < STALE_AFTER_MS);
  }
}
