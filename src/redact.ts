/**
 * The one place that knows every secret value this process has loaded, and scrubs them from
 * text. Every Secret registers its value when it is made (src/secret.ts), so nothing has to
 * remember to. It is applied where strings leave the process or enter the state database:
 * the log format (src/log.ts), the CLI's stdout and stderr (src/cli/main.ts), the HTTP
 * listener (src/agent/http.ts) and the state stores that keep text from a server (runs' errors,
 * FEAT replies). Whatever the source, a server's reply that repeats the password included.
 */

/** The text that replaces a secret. No quote or backslash: it keeps JSON text valid. */
export const REDACTED = "[redacted]";

/** The secret values registered so far. */
const registered = new Set<string>();
/** Every form of every secret with the pattern that finds it, longest first (see registerSecret). */
let forms: { form: string; pattern: RegExp }[] = [];

/** Shorter secrets are redacted only where they stand alone (see registerSecret). */
const SHORT_SECRET = 8;

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * Remember a secret value so that redact() scrubs it. Its JSON-escaped form is registered too: a
 * password with a quote or a backslash appears escaped in JSON output (`sync --json`, /healthz).
 * Longer forms are replaced first, so a secret that contains another is replaced whole.
 * A secret shorter than SHORT_SECRET characters is replaced only where it is not part of a
 * longer word: replacing "x" inside "explicit" would print "e[redacted]plicit", which both garbles
 * the message and tells the reader the password.
 */
export function registerSecret(value: string): void {
  if (value.length === 0 || registered.has(value)) return;
  registered.add(value);
  for (const form of new Set([value, JSON.stringify(value).slice(1, -1)])) {
    const escaped = escapeRegExp(form);
    const pattern = new RegExp(form.length < SHORT_SECRET ? `(?<![\\p{L}\\p{N}])${escaped}(?![\\p{L}\\p{N}])` : escaped, "gu");
    forms.push({ form, pattern });
  }
  forms = forms.sort((a, b) => b.form.length - a.form.length);
}

/** The text with every registered secret replaced by "[redacted]". */
export function redact(text: string): string {
  let out = text;
  for (const { form, pattern } of forms) if (out.includes(form)) out = out.replace(pattern, REDACTED);
  return out;
}

/**
 * A copy of a value (as JSON.stringify would see it) with every string in it redacted, keys
 * included. Plain objects and arrays are copied; other objects are returned as they are.
 */
export function redactDeep<T>(value: T): T {
  if (forms.length === 0) return value;
  if (typeof value === "string") return redact(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactDeep(v)) as T;
  if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [redact(k), redactDeep(v)])) as T;
  }
  return value;
}
