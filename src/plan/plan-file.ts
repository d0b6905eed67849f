/**
 * A plan file read back for `apply`: its shape checked, and every path it names checked like a
 * name from a server (one safe segment at a time, never absolute, never ".."), since the file may
 * have been edited by hand. Pure: text in, a SavedPlan or a ConfigError out.
 */
import { array, boolean, enum as oneOf, literal, looseObject, number, string, union, null as isNull, type ZodType } from "zod";
import { ConfigError } from "../errors.js";
import { actionKey, actionPaths, PLAN_FILE_SCHEMA, unsafePlanPath, type SavedPlan } from "./saved-plan.js";
import type { Action } from "./types.js";

const KINDS = ["mkdir-remote", "mkdir-local", "upload", "download", "delete-local", "delete-remote", "conflict", "compare", "adopt", "forget", "held-delete", "needs-user"] as const;

const sig = union([isNull(), looseObject({ type: oneOf(["file", "dir"]) })]);

// Loose objects: the fields apply reads are checked, the rest of an action comes from a fresh plan, never from the file.
const planFile = looseObject({
  schema: literal(PLAN_FILE_SCHEMA),
  createdAt: string().refine((s) => !Number.isNaN(Date.parse(s)), "must be an ISO 8601 time"),
  job: string(),
  config: string(),
  identity: looseObject({
    direction: string(),
    local: string(),
    remotePath: string(),
    remote: looseObject({ name: string(), host: string(), port: number(), user: string() }),
  }),
  force: boolean(),
  actions: array(
    looseObject({
      kind: oneOf(KINDS),
      path: string(),
      reason: string(),
      conflictName: string().optional(),
      ifDifferent: looseObject({ conflictName: string().optional() }).optional(),
    }),
  ),
  basis: array(looseObject({ path: string(), local: sig, remote: sig, state: sig, localBelow: string().optional(), remoteBelow: string().optional() })),
  skippedDeletes: number(),
  warnings: array(string()),
}) as unknown as ZodType<SavedPlan>;

/** The plan in `text` (the file `file`), checked; a ConfigError (exit 2) names what is wrong. */
export function parseSavedPlan(text: string, file: string): SavedPlan {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`not a plan file (invalid JSON: ${(err as Error).message})`, { file });
  }
  const parsed = planFile.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const field = issue.path.join(".") || "(top level)";
    throw new ConfigError(`not a plan file written by \`ftps-sync plan --out\`: ${issue.message}`, { file, field });
  }
  const plan = parsed.data;
  const based = new Set(plan.basis.map((b) => b.path));
  // Every path first: one that leaves the job folder is named as such, whatever else is wrong.
  plan.actions.forEach((a: Action, i) => {
    for (const path of actionPaths(a)) {
      // The job's remote root ("") is a path only for the action that creates it.
      const why = path === "" && a.kind === "mkdir-remote" ? undefined : unsafePlanPath(path);
      if (why) throw new ConfigError(`refusing a path outside the job folder: ${JSON.stringify(path)} (${why}); nothing was done`, { file, field: `actions.${i}` });
    }
  });
  const keys = new Set<string>();
  plan.actions.forEach((a: Action, i) => {
    // Each action once: one carried out twice would run two transfers of a path at once.
    if (keys.has(actionKey(a))) throw new ConfigError(`the action ${a.kind} on ${JSON.stringify(a.path)} appears twice; nothing was done`, { file, field: `actions.${i}` });
    keys.add(actionKey(a));
    for (const path of actionPaths(a)) {
      if (!based.has(path)) throw new ConfigError(`the action on ${JSON.stringify(path)} has no record of what it was based on; nothing was done`, { file, field: `actions.${i}` });
    }
  });
  return plan;
}
