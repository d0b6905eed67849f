/**
 * The JSON contract of the CLI (README "JSON output") as zod shapes, for tests: what each
 * command's one object must look like on success and on failure. Strict objects: a field that
 * appears or vanishes without the contract changing fails the test.
 */
import { z } from "zod";

/** ISO 8601 UTC, as Date.prototype.toISOString writes it. */
export const isoTime = z.string().regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/, "an ISO 8601 UTC time");

export const FAILURE_CODES = [
  "usage", "config", "failures", "error", "internal", "safety-guard", "connect", "already-running", "job-failing", "job-stale", "http-listen", "job-late",
] as const;

export const failureShape = z.strictObject({
  code: z.enum(FAILURE_CODES),
  exitCode: z.number().int().min(1),
  message: z.string().min(1),
  hint: z.string().min(1),
});

const schemaOf = (command: string) => z.literal(`ftps-sync/${command}/v1`);

/** Any failure of any command: the envelope and the error, whatever else the object holds. */
export const failureOf = (command: string, code?: (typeof FAILURE_CODES)[number], exitCode?: number) =>
  z.object({
    schema: schemaOf(command),
    ok: z.literal(false),
    error: failureShape.extend({
      code: code ? z.literal(code) : failureShape.shape.code,
      exitCode: exitCode !== undefined ? z.literal(exitCode) : failureShape.shape.exitCode,
    }),
  });

const count = z.number().int().min(0);
const counts = { uploaded: count, downloaded: count, deletedLocal: count, deletedRemote: count, conflicts: count, failed: count, bytes: count };

const action = z.strictObject({
  kind: z.enum(["mkdir-remote", "mkdir-local", "upload", "download", "delete-local", "delete-remote", "conflict", "compare", "held-delete", "needs-user"]),
  path: z.string(),
  reason: z.string().min(1),
  bytes: count.optional(),
  side: z.enum(["local", "remote"]).optional(),
  resolution: z.enum(["keep-both", "upload", "download"]).optional(),
  conflictName: z.string().nullable().optional(),
});

export const planTotalsShape = z.strictObject({
  actions: count,
  upload: z.strictObject({ files: count, bytes: count }),
  download: z.strictObject({ files: count, bytes: count }),
  conflicts: count,
  compare: count,
  deleteRemote: count,
  deleteLocal: count,
  mkdir: count,
  heldDeletes: count,
  needsUser: count,
});

const runFields = {
  job: z.string(),
  status: z.enum(["ok", "failed", "aborted"]),
  dryRun: z.boolean(),
  startedAt: isoTime,
  endedAt: isoTime,
  durationMs: count,
  ...counts,
};

/** `sync --json` (and `plan --json`: kind "plan", with the plan and its totals) after a run. */
export const runSummaryShape = (command: "sync" | "plan", ok: boolean) =>
  z.strictObject({
    schema: schemaOf(command),
    ok: z.literal(ok),
    kind: z.enum(["sync", "plan"]),
    ...runFields,
    deferred: count,
    skippedDeletes: count,
    errors: z.array(z.string()),
    warnings: z.array(z.string()),
    peakRssBytes: count,
    plan: z.array(action).optional(),
    totals: planTotalsShape.optional(),
    error: ok ? z.undefined().optional() : failureShape,
  });

/** `sync --json` / `plan --json` when the run could not start or was stopped: zero counts and the error. */
export const runFailedShape = (command: "sync" | "plan") =>
  z.strictObject({ schema: schemaOf(command), ok: z.literal(false), kind: z.enum(["sync", "plan"]), ...runFields, error: failureShape });

export const runRecordShape = z.strictObject({
  id: z.number().int(),
  job: z.string(),
  kind: z.enum(["sync", "plan"]),
  dryRun: z.boolean(),
  trigger: z.string(),
  status: z.enum(["running", "ok", "failed", "aborted", "interrupted"]),
  startedAt: isoTime,
  endedAt: isoTime.nullable(),
  ...counts,
  error: z.string().nullable(),
});

export const historyShape = z.strictObject({
  schema: schemaOf("history"),
  ok: z.literal(true),
  job: z.string().nullable(),
  runs: z.array(runRecordShape),
});

const jobStatusShape = z.strictObject({
  job: z.string(),
  direction: z.enum(["upload", "download", "two-way"]),
  triggers: z.array(z.string()),
  healthy: z.boolean(),
  problemKind: z.enum(["failing", "stale", "late"]).nullable(),
  problem: z.string().nullable(),
  running: z.strictObject({ pid: z.number().int(), trigger: z.string().nullable(), acquiredAt: isoTime }).nullable(),
  queued: z.boolean(),
  lastRun: runRecordShape.nullable(),
  lastSuccessAt: isoTime.nullable(),
  nextRunAt: isoTime.nullable(),
  expect: z
    .strictObject({ by: z.string(), timezone: z.string(), days: z.string(), match: z.string(), late: z.boolean(), deadline: isoTime.nullable(), lastArrivalAt: isoTime.nullable() })
    .nullable(),
});

export const statusShape = (ok: boolean) =>
  z.strictObject({
    schema: schemaOf("status"),
    ok: z.literal(ok),
    healthy: z.boolean(),
    agents: z.array(z.strictObject({ pid: z.number().int(), host: z.string(), startedAt: isoTime, heartbeatAt: isoTime })),
    jobs: z.array(jobStatusShape),
    error: ok ? z.undefined().optional() : failureShape,
  });

const checkedRemote = z.discriminatedUnion("ok", [
  z.strictObject({
    remote: z.string(),
    host: z.string(),
    port: z.number().int(),
    tlsMode: z.enum(["explicit", "implicit"]),
    ok: z.literal(true),
    tls: z.strictObject({ protocol: z.string(), cipher: z.string() }),
    certificate: z.strictObject({ subject: z.string(), altNames: z.string().nullable(), issuer: z.string(), validTo: isoTime, fingerprint: z.string().startsWith("sha256:") }),
    trustedBy: z.enum(["pinned-fingerprint", "certificate-chain"]),
    capabilities: z.string(),
    features: z.array(z.string()),
    remembered: z.array(z.strictObject({ technique: z.string().min(1), reason: z.string().min(1), learntAt: isoTime })),
    hash: z.string().nullable(),
    times: z.string(),
    listedEntries: count,
  }),
  z.strictObject({ remote: z.string(), host: z.string(), port: z.number().int(), tlsMode: z.enum(["explicit", "implicit"]), ok: z.literal(false), error: failureShape }),
]);

export const checkShape = (ok: boolean) =>
  z.strictObject({ schema: schemaOf("check"), ok: z.literal(ok), remotes: z.array(checkedRemote), error: ok ? z.undefined().optional() : failureShape });

/**
 * Every time in the object is ISO text: no key ending in "At" holds a number, and no number
 * anywhere is in the range of epoch milliseconds (after 2001).
 */
export function epochMillisIn(value: unknown, path = "$"): string[] {
  if (typeof value === "number") return value > 1e12 ? [path] : [];
  if (Array.isArray(value)) return value.flatMap((v, i) => epochMillisIn(v, `${path}[${i}]`));
  if (value && typeof value === "object") {
    return Object.entries(value).flatMap(([k, v]) => [
      ...(/At$/.test(k) && v !== null && typeof v !== "string" ? [`${path}.${k}`] : []),
      ...epochMillisIn(v, `${path}.${k}`),
    ]);
  }
  return [];
}

/** stdout of a --json command: exactly one line, one JSON object. */
export function theOneObject(stdout: string, context = ""): Record<string, unknown> {
  const lines = stdout.split("\n").filter((l) => l.trim() !== "");
  if (lines.length !== 1) throw new Error(`expected exactly one line of JSON on stdout, got ${lines.length}:\n${stdout}\n${context}`);
  const value = JSON.parse(lines[0]) as unknown;
  if (!value || typeof value !== "object" || Array.isArray(value)) throw new Error(`expected a JSON object, got: ${lines[0]}`);
  return value as Record<string, unknown>;
}
