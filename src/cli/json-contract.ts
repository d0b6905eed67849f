/**
 * The JSON contract of the CLI (README "JSON output") as zod shapes: what each command's one
 * object looks like, on success and on failure. The JSON Schemas in schemas/ are generated from
 * these (src/cli/schema-files.ts, `npm run schemas`), and the tests check every output against
 * them. Objects are strict: a field that appears or vanishes changes the contract, and with it
 * the committed schema files.
 *
 * Not loaded by the CLI at run time: json-output.ts and json-views.ts build the objects.
 */
import { z } from "zod";
import { FAILURE_CODES } from "./failure.js";

/** ISO 8601 UTC, as Date.prototype.toISOString writes it. */
export const isoTime = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/, "an ISO 8601 UTC time")
  .meta({ description: 'ISO 8601 UTC time, e.g. "2026-12-05T02:00:03.412Z"' });

export const failureShape = z
  .strictObject({
    code: z.enum(FAILURE_CODES).meta({ description: 'stable machine code (README "Exit codes")' }),
    exitCode: z.number().int().min(1).meta({ description: "the exit code the command ends with" }),
    message: z.string().min(1),
    hint: z.string().min(1).meta({ description: "what to do about it" }),
  })
  .meta({ description: "why the command failed; the same shape for every command" });

/** The `schema` field of a command's object. */
export const schemaField = (command: string) => z.literal(`ftps-sync/${command}/v1`);

/** A failure that stopped the command before it had anything else to say (usage, configuration). */
export const bareFailure = (command: string) => z.strictObject({ schema: schemaField(command), ok: z.literal(false), error: failureShape });

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
  kind: z.enum(["sync", "plan"]),
  status: z.enum(["ok", "failed", "aborted"]),
  dryRun: z.boolean(),
  startedAt: isoTime,
  endedAt: isoTime,
  durationMs: count,
  ...counts,
};

const summaryFields = {
  ...runFields,
  deferred: count,
  skippedDeletes: count,
  errors: z.array(z.string()),
  warnings: z.array(z.string()),
  peakRssBytes: count,
  plan: z.array(action).optional(),
  totals: planTotalsShape.optional(),
  /** `plan --out FILE`: the file saved (null when the plan did not end well). */
  planFile: z.string().nullable().optional(),
};

/** `sync --json` (and `plan --json`: kind "plan", with the plan and its totals) after a run. */
const summaryOk = (command: string) => z.strictObject({ schema: schemaField(command), ok: z.literal(true), ...summaryFields });
const summaryFailed = (command: string) => z.strictObject({ schema: schemaField(command), ok: z.literal(false), ...summaryFields, error: failureShape });
export function runSummaryShape(command: "sync" | "plan", ok: true): ReturnType<typeof summaryOk>;
export function runSummaryShape(command: "sync" | "plan", ok: false): ReturnType<typeof summaryFailed>;
export function runSummaryShape(command: "sync" | "plan", ok: boolean) {
  return ok ? summaryOk(command) : summaryFailed(command);
}

/** `sync --json` / `plan --json` when the run could not start or was stopped: zero counts and the error. */
export const runFailedShape = (command: "sync" | "plan") =>
  z.strictObject({ schema: schemaField(command), ok: z.literal(false), ...runFields, error: failureShape });

/** A path that changed since a reviewed plan was made (`apply`, exit 9). */
const changedPath = z.strictObject({ path: z.string(), side: z.enum(["local", "remote", "state"]), was: z.string(), now: z.string() });

const applyRunFields = { ...runFields, kind: z.literal("apply"), planFile: z.string().meta({ description: "absolute path of the plan applied" }) };

const applySummaryFields = {
  ...summaryFields,
  ...applyRunFields,
  plan: z.array(action).meta({ description: "what was carried out" }),
  totals: planTotalsShape,
  changed: z.array(changedPath).max(0),
};

/** `apply FILE --json` after a run: the summary, what was carried out and its totals. */
const applyOk = z.strictObject({ schema: schemaField("apply"), ok: z.literal(true), ...applySummaryFields });
const applyFailed = z.strictObject({ schema: schemaField("apply"), ok: z.literal(false), ...applySummaryFields, error: failureShape });
export function applyShape(ok: true): typeof applyOk;
export function applyShape(ok: false): typeof applyFailed;
export function applyShape(ok: boolean) {
  return ok ? applyOk : applyFailed;
}

/** `apply FILE --json` refused (plan-changed, a guard, already running, no connection): zero counts, the paths that changed, the error. */
export const applyFailedShape = z.strictObject({
  schema: schemaField("apply"), ok: z.literal(false), ...applyRunFields, changed: z.array(changedPath), error: failureShape,
});

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
  schema: schemaField("history"),
  ok: z.literal(true),
  job: z.string().nullable(),
  runs: z.array(runRecordShape),
});

const jobStatusShape = z.strictObject({
  job: z.string(),
  // null: the job's file cannot be loaded (the job is failing, its problem says why).
  direction: z.enum(["upload", "download", "two-way"]).nullable(),
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
  /** A watched job, as a running agent watches it: one watch per folder, or polling at the system's watch limit. */
  watch: z
    .union([
      z.strictObject({ mode: z.literal("watching"), watches: z.number().int() }),
      z.strictObject({ mode: z.literal("polling"), pollMs: z.number().int(), reason: z.string() }),
    ])
    .nullable(),
});

const statusFields = {
  schema: schemaField("status"),
  healthy: z.boolean(),
  agents: z.array(z.strictObject({ pid: z.number().int(), host: z.string(), startedAt: isoTime, heartbeatAt: isoTime })),
  jobs: z.array(jobStatusShape),
};

/** `status --json`: an unhealthy job makes it a failure (exit 6 or 7) with the same fields. */
const statusOk = z.strictObject({ ...statusFields, ok: z.literal(true) });
const statusFailed = z.strictObject({ ...statusFields, ok: z.literal(false), error: failureShape });
export function statusShape(ok: true): typeof statusOk;
export function statusShape(ok: false): typeof statusFailed;
export function statusShape(ok: boolean) {
  return ok ? statusOk : statusFailed;
}

const remoteFields = { remote: z.string(), host: z.string(), port: z.number().int(), tlsMode: z.enum(["explicit", "implicit"]) };

const checkedRemote = z.discriminatedUnion("ok", [
  z.strictObject({
    ...remoteFields,
    ok: z.literal(true),
    tls: z.strictObject({ protocol: z.string(), cipher: z.string() }),
    certificate: z.strictObject({ subject: z.string(), altNames: z.string().nullable(), issuer: z.string(), validTo: isoTime, fingerprint: z.string().regex(/^sha256:(?:[0-9A-F]{2}:){31}[0-9A-F]{2}$/) }),
    trustedBy: z.enum(["pinned-fingerprint", "certificate-chain"]),
    capabilities: z.string(),
    features: z.array(z.string()),
    remembered: z.array(z.strictObject({ technique: z.string().min(1), reason: z.string().min(1), learntAt: isoTime })),
    hash: z.string().nullable(),
    times: z.string(),
    listedEntries: count,
  }),
  z.strictObject({ ...remoteFields, ok: z.literal(false), error: failureShape }),
]);

/** `check --json`: a result per remote; any remote that failed makes the command fail. */
const checkOk = z.strictObject({ schema: schemaField("check"), ok: z.literal(true), remotes: z.array(checkedRemote) });
const checkFailed = z.strictObject({ schema: schemaField("check"), ok: z.literal(false), remotes: z.array(checkedRemote), error: failureShape });
export function checkShape(ok: true): typeof checkOk;
export function checkShape(ok: false): typeof checkFailed;
export function checkShape(ok: boolean) {
  return ok ? checkOk : checkFailed;
}

const validatedFile = z.strictObject({
  file: z.string().meta({ description: "absolute path" }),
  kind: z.enum(["agent-config", "job"]),
  ok: z.boolean(),
  error: failureShape.nullable(),
});

const validateFields = { schema: schemaField("validate"), files: z.array(validatedFile), warnings: z.array(z.string()) };

/** `validate --json`: a result per file; any invalid file makes the command fail (exit 2). */
const validateOk = z.strictObject({ ...validateFields, ok: z.literal(true) });
const validateFailed = z.strictObject({ ...validateFields, ok: z.literal(false), error: failureShape });
export function validateShape(ok: true): typeof validateOk;
export function validateShape(ok: false): typeof validateFailed;
export function validateShape(ok: boolean) {
  return ok ? validateOk : validateFailed;
}

/** A kept version of a file (`versions`, and `restore`'s `from`). */
const keptVersion = z.strictObject({
  path: z.string(),
  side: z.enum(["local", "remote"]),
  run: z.string(),
  at: isoTime,
  size: count,
  modifiedAt: isoTime.nullable(),
  keptAs: z.string(),
});

/** `versions --json`: what a job with "backup" keeps, on both sides. */
export const versionsShape = z.strictObject({
  schema: schemaField("versions"),
  ok: z.literal(true),
  job: z.string(),
  dir: z.string(),
  path: z.string().nullable(),
  versions: z.array(keptVersion),
});

/** `restore --json`: the version put back, and where the current file went (null: there was none). */
export const restoreShape = z.strictObject({
  schema: schemaField("restore"),
  ok: z.literal(true),
  job: z.string(),
  path: z.string(),
  from: keptVersion,
  currentKeptAs: z.string().nullable(),
});

/** Every command with --json and every object it can print, for the schema files. */
export const OUTPUT_SHAPES = {
  sync: z.union([summaryOk("sync"), summaryFailed("sync"), runFailedShape("sync"), bareFailure("sync")]),
  plan: z.union([summaryOk("plan"), summaryFailed("plan"), runFailedShape("plan"), bareFailure("plan")]),
  check: z.union([checkOk, checkFailed, bareFailure("check")]),
  status: z.union([statusOk, statusFailed, bareFailure("status")]),
  history: z.union([historyShape, bareFailure("history")]),
  validate: z.union([validateOk, validateFailed, bareFailure("validate")]),
  versions: z.union([versionsShape, bareFailure("versions")]),
  restore: z.union([restoreShape, bareFailure("restore")]),
  apply: z.union([applyOk, applyFailed, applyFailedShape, bareFailure("apply")]),
} as const;
