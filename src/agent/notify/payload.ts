/**
 * What a notification says: one JSON object (the webhook's body, the command's stdin), and the
 * same flattened into FTPS_SYNC_* environment variables for the command.
 */
import type { NotifyEvent } from "../../config/types.js";
import type { RunRecord } from "../../state/runs.js";
import type { ExpectEvent } from "../expect/arrivals.js";

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, "Z");

export interface Notification {
  event: NotifyEvent;
  /** When the event was fired, ISO 8601 UTC. */
  time: string;
  host: string;
  job: string;
  [field: string]: unknown;
}

/** A run's end: "success" for a run that went fine, "failure" otherwise (failed, or stopped by a guard). */
export function runNotification(r: RunRecord, errors: string[] | undefined, host: string, now: number): Notification {
  const ended = r.endedAt ?? now;
  return {
    event: r.status === "ok" ? "success" : "failure",
    time: iso(now),
    host,
    job: r.job,
    runId: r.id,
    status: r.status,
    trigger: r.trigger,
    counts: { uploaded: r.uploaded, downloaded: r.downloaded, deletedLocal: r.deletedLocal, deletedRemote: r.deletedRemote, conflicts: r.conflicts, failed: r.failed },
    bytes: r.bytes,
    errors: (errors && errors.length > 0 ? errors : r.error ? [r.error] : []).slice(0, 20),
    durationMs: ended - r.startedAt,
    startedAt: iso(r.startedAt),
    endedAt: iso(ended),
  };
}

export function expectNotification(e: ExpectEvent, host: string, now: number): Notification {
  return { ...e, time: iso(now), host };
}

/** "runId" → "RUN_ID", "deletedLocal" → "DELETED_LOCAL". */
const snake = (key: string) => key.replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/[^A-Za-z0-9]+/g, "_").toUpperCase();

/**
 * FTPS_SYNC_ and the field's path: FTPS_SYNC_EVENT, FTPS_SYNC_RUN_ID, FTPS_SYNC_COUNTS_UPLOADED,
 * FTPS_SYNC_EXPECTED_DEADLINE; a list is one variable, its items one a line (FTPS_SYNC_ERRORS).
 */
export function notificationEnv(n: Notification): Record<string, string> {
  const env: Record<string, string> = {};
  const put = (prefix: string, value: unknown) => {
    if (value === undefined || value === null) return;
    if (Array.isArray(value)) env[prefix] = value.map((v) => String(v).replace(/[\r\n]+/g, " ")).join("\n");
    else if (typeof value === "object") for (const [k, v] of Object.entries(value)) put(`${prefix}_${snake(k)}`, v);
    else env[prefix] = String(value);
  };
  put("FTPS_SYNC", n);
  return env;
}
