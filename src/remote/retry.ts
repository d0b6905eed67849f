import { RemoteError, type ErrorClass } from "../errors.js";

export interface RetryPolicy {
  attempts: number;
  initialDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, initialDelayMs: 1000, maxDelayMs: 60_000 };

/**
 * Exponential backoff with "equal jitter": half the capped delay is fixed, half random. The random
 * half spreads the retries of many workers over time; the fixed half keeps a retry from coming at
 * once, which a server that just said 421 (too many connections) or 450 would only refuse again.
 */
export function backoffDelay(attempt: number, p: RetryPolicy, random = Math.random): number {
  const cap = Math.min(p.maxDelayMs, p.initialDelayMs * 2 ** (attempt - 1));
  return Math.round(cap / 2 + (random() * cap) / 2);
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * What a failure means by default: a RemoteError says it (its kind was decided where it happened);
 * anything else (local I/O, a source that changed, a bug) would fail the same way again.
 */
export function remoteErrorClass(err: unknown): ErrorClass {
  return err instanceof RemoteError ? err.errorClass : "permanent";
}

/**
 * Runs `fn` until it succeeds, a permanent error occurs, or attempts run out.
 * Transient errors (connection lost, timeouts, 421/425/426/450/451) are retried. `classify`: for
 * code that sees failures before they are RemoteErrors (the protocol layer's own retries).
 */
export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  policy: RetryPolicy,
  opts: {
    signal?: AbortSignal;
    onRetry?: (err: unknown, attempt: number, delayMs: number) => void;
    /** A further condition on transient failures (e.g. not a TLS failure). */
    retryIf?: (err: unknown) => boolean;
    classify?: (err: unknown) => ErrorClass;
  } = {},
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (opts.signal?.aborted) throw err;
      if ((opts.classify ?? remoteErrorClass)(err) === "permanent" || attempt >= policy.attempts) throw err;
      if (opts.retryIf && !opts.retryIf(err)) throw err;
      const delay = backoffDelay(attempt, policy);
      opts.onRetry?.(err, attempt, delay);
      await sleep(delay, opts.signal);
    }
  }
}
