import type { RunCounts } from "../../src/state/runs.js";
import { assertOutputSchema } from "./json-schemas.js";
import type { Workspace } from "./workspace.js";

/** The JSON line `ftps-sync sync --json` ends its output with. */
export interface SyncJson extends RunCounts {
  schema: "ftps-sync/sync/v1" | "ftps-sync/plan/v1";
  ok: boolean;
  job: string;
  status: "ok" | "failed" | "aborted";
  durationMs: number;
  deferred?: number;
  skippedDeletes?: number;
  peakRssBytes: number;
  errors?: string[];
  warnings?: string[];
  plan?: { kind: string; path: string; reason: string; bytes?: number }[];
  /** A failure (README "JSON output"). */
  error?: { code: string; exitCode: number; message: string; hint: string };
}

/** Parses the last line of a `sync --json` run's stdout, with the whole output in the error if it is not JSON. */
export function lastJsonLine(stdout: string, stderr = ""): SyncJson {
  const last = stdout.trim().split("\n").at(-1) ?? "";
  let obj: SyncJson;
  try {
    obj = JSON.parse(last) as SyncJson;
  } catch {
    throw new Error(`no JSON summary on the last line:\n${stdout}\n${stderr}`);
  }
  // Every summary a test reads is also checked against the committed schema (schemas/output/).
  assertOutputSchema(obj as unknown as Record<string, unknown>);
  return obj;
}

/** `ftps-sync sync JOB --json [flags]` in a workspace: its exit code, its summary (checked against the schema) and its stderr. */
export async function syncJson(ws: Workspace, job: string, ...flags: string[]): Promise<{ code: number | null; summary: SyncJson; stderr: string }> {
  const r = await ws.cli(["sync", job, "--json", ...flags]);
  return { code: r.code, summary: lastJsonLine(r.stdout, r.stderr), stderr: r.stderr };
}
