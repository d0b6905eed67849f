/**
 * The "notify" key of a job (or of agent.config.json, the default of every job without its own):
 * its schema, and the step of the loader that reads its CA file.
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { array, enum as oneOf, number, strictObject, string, type output } from "zod";
import { parsedField } from "./parsed-field.js";
import { parseDuration } from "./duration.js";
import { fieldError } from "./schema.js";
import type { NotifyConfig } from "./types.js";

export const NOTIFY_EVENTS = ["failure", "success", "late", "recovered"] as const;

const LOOPBACK_HOSTS = /^(localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\])$/i;

/**
 * https:// is required: the payload names the job, its errors and this host. http:// is allowed to
 * this machine only (a local relay), where nothing crosses a network.
 */
export function checkWebhookUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new RangeError('must be a URL such as "https://hooks.example.com/ftps-sync"');
  }
  if (url.username || url.password) throw new RangeError("must not carry a user or password in the URL");
  if (url.protocol === "https:") return url.href;
  if (url.protocol === "http:") {
    if (LOOPBACK_HOSTS.test(url.hostname)) return url.href;
    throw new RangeError("http:// is allowed only to a loopback address (127.0.0.1, [::1], localhost); use https://");
  }
  throw new RangeError("must be an https:// URL (or http:// to a loopback address)");
}

const DURATION_TYPE = 'must be a duration string such as "10s"';

function timeout(text: string): number {
  const ms = parseDuration(text);
  if (ms < 100) throw new RangeError('must be at least "100ms"');
  if (ms > 300_000) throw new RangeError('must be at most "5m"');
  return ms;
}

export const notifySchema = strictObject({
  webhook: string().transform(parsedField(checkWebhookUrl)).optional(),
  ca: string().min(1).optional(),
  command: array(string().min(1)).min(1).optional(),
  on: array(oneOf(NOTIFY_EVENTS)).min(1).default(() => ["failure", "late", "recovered"] as ("failure" | "late" | "recovered")[]),
  timeout: string({ error: DURATION_TYPE }).transform(parsedField(timeout)).default(10_000),
  attempts: number().int().min(1).max(10).default(3),
})
  .refine((n) => n.webhook !== undefined || n.command !== undefined, { message: 'needs a "webhook" or a "command" (or both)' })
  .refine((n) => n.ca === undefined || n.webhook?.startsWith("https:"), { message: 'is used only with an https:// "webhook"', path: ["ca"] });
export type RawNotify = output<typeof notifySchema>;

/** The config value; `at` is the field's path for errors ("notify"). */
export function buildNotify(raw: RawNotify, ctx: { file: string; baseDir: string; at: string }): NotifyConfig {
  const notify: NotifyConfig = { on: [...new Set(raw.on)], timeoutMs: raw.timeout, attempts: raw.attempts };
  if (raw.webhook !== undefined) notify.webhook = raw.webhook;
  if (raw.command !== undefined) notify.command = raw.command;
  if (raw.ca !== undefined) {
    notify.caPath = resolve(ctx.baseDir, raw.ca);
    let pem: string;
    try {
      pem = readFileSync(notify.caPath, "utf8");
    } catch (err) {
      throw fieldError(ctx.file, `${ctx.at}.ca`, `cannot read CA file ${notify.caPath}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    if (!pem.includes("-----BEGIN CERTIFICATE-----")) {
      throw fieldError(ctx.file, `${ctx.at}.ca`, `CA file ${notify.caPath} does not contain a PEM certificate ("-----BEGIN CERTIFICATE-----")`);
    }
    notify.ca = pem;
  }
  return notify;
}
