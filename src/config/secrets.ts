import { accessSync, constants, readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { ConfigError } from "../errors.js";
import { Secret } from "../secret.js";
import { fieldError, LITERAL_PASSWORD_MESSAGE, PASSWORD_SHAPE_MESSAGE, type PasswordRef } from "./schema.js";

export type { PasswordRef };

export interface SecretContext {
  /** Folder that a relative `file` is resolved against (the config file's folder). */
  baseDir: string;
  /** Config file and field, used in error messages. */
  configFile: string;
  field: string;
  /** Environment to read from; defaults to process.env (tests pass their own). */
  env?: NodeJS.ProcessEnv;
}

export interface ResolvedSecret {
  secret: Secret;
  /** Set when the secret file can be read by group or others. */
  warning?: string;
}

/**
 * Resolve a password reference into a Secret.
 * Error messages name the variable or file, never the value: they end up in logs.
 */
export function resolvePassword(ref: PasswordRef | unknown, ctx: SecretContext): ResolvedSecret {
  if (typeof ref === "string") throw fail(ctx, LITERAL_PASSWORD_MESSAGE);
  if (isEnvRef(ref)) return { secret: fromEnv(ref.env, ctx) };
  if (isFileRef(ref)) return fromFile(ref.file, ctx);
  throw fail(ctx, PASSWORD_SHAPE_MESSAGE);
}

function fromEnv(name: string, ctx: SecretContext): Secret {
  const value = (ctx.env ?? process.env)[name];
  if (value === undefined) throw fail(ctx, `environment variable ${name} is not set`);
  if (value === "") throw fail(ctx, `environment variable ${name} is empty`);
  return new Secret(value);
}

function fromFile(file: string, ctx: SecretContext): ResolvedSecret {
  const path = resolve(ctx.baseDir, file);
  let mode: number;
  let text: string;
  try {
    const stat = statSync(path);
    if (!stat.isFile()) throw fail(ctx, `secret file ${path} is not a regular file`);
    mode = stat.mode;
    accessSync(path, constants.R_OK);
    text = readFileSync(path, "utf8");
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw fail(ctx, `cannot read secret file ${path}: ${fsReason(err)}`);
  }
  // Editors add a final newline; it is never part of the password.
  const value = text.replace(/\r?\n$/, "");
  if (value === "") throw fail(ctx, `secret file ${path} is empty`);
  const warning =
    (mode & 0o077) !== 0
      ? `${ctx.configFile}: field "${ctx.field}": secret file ${path} is readable by other users (mode ${(mode & 0o777).toString(8)}); run chmod 600 ${path}`
      : undefined;
  return { secret: new Secret(value), warning };
}

function isEnvRef(ref: unknown): ref is { env: string } {
  return typeof ref === "object" && ref !== null && typeof (ref as { env?: unknown }).env === "string" && !("file" in ref);
}

function isFileRef(ref: unknown): ref is { file: string } {
  return typeof ref === "object" && ref !== null && typeof (ref as { file?: unknown }).file === "string" && !("env" in ref);
}

function fail(ctx: SecretContext, message: string): ConfigError {
  return fieldError(ctx.configFile, ctx.field, message);
}

/** A short, value-free reason for a failed file operation ("no such file", "permission denied"). */
export function fsReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case "ENOENT":
      return "no such file";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EISDIR":
      return "is a directory";
    case "ENOTDIR":
      return "a parent is not a directory";
    default:
      return code ?? String((err as Error)?.message ?? err);
  }
}
