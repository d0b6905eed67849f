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
  if (isEnvRef(ref)) return fromEnv(ref.env, ctx);
  if (isFileRef(ref)) return fromFile(ref.file, ctx);
  throw fail(ctx, PASSWORD_SHAPE_MESSAGE);
}

/**
 * An FTP password cannot hold a line break (it would end the PASS command) nor NUL. A single line
 * break at the end of a variable (`PW=$(cat file)` keeps none, but an EnvironmentFile written with
 * `echo` or a heredoc may) is dropped with a warning; anywhere else the variable is refused.
 */
function fromEnv(name: string, ctx: SecretContext): ResolvedSecret {
  const raw = (ctx.env ?? process.env)[name];
  if (raw === undefined) throw fail(ctx, `environment variable ${name} is not set`);
  const { line, ending } = splitLineEnding(raw);
  if (line === "") throw fail(ctx, `environment variable ${name} is empty`);
  if (/[\r\n\0]/.test(line)) throw fail(ctx, `environment variable ${name} holds a line break or NUL inside the password; it must be the password alone`);
  const warning = ending
    ? `${ctx.configFile}: field "${ctx.field}": environment variable ${name} ends with a line break; it is not part of the password and was dropped`
    : undefined;
  return { secret: new Secret(line), warning };
}

/** "text\n" or "text\r\n" -> the text and whether a line ending was there. */
function splitLineEnding(text: string): { line: string; ending: boolean } {
  if (text.endsWith("\r\n")) return { line: text.slice(0, -2), ending: true };
  if (text.endsWith("\n")) return { line: text.slice(0, -1), ending: true };
  return { line: text, ending: false };
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
  // The file is the password's one line: editors add a final newline (LF or CRLF), never part of
  // the password. A second line or a stray CR would otherwise be sent as part of it (a login the
  // server refuses, found only after connecting): refused here, before anything connects.
  const { line: value } = splitLineEnding(text);
  if (value === "") throw fail(ctx, `secret file ${path} is empty`);
  if (/[\r\n]/.test(value)) throw fail(ctx, `secret file ${path} holds more than one line; it must hold the password alone, on one line`);
  if (value.includes("\0")) throw fail(ctx, `secret file ${path} holds a NUL character, which no FTP password can contain`);
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
