/**
 * Node's timers hold at most 2^31 - 1 ms (about 24.8 days): a longer delay is taken as 1 ms,
 * so a 30-day setInterval fires every millisecond. These chain timers of at most that length.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export interface LongTimer {
  clear(): void;
}

/** Calls `fn` once, `ms` from now, however long that is. */
export function setLongTimeout(fn: () => void, ms: number): LongTimer {
  let left = Math.max(0, ms);
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    const step = Math.min(left, MAX_TIMER_MS);
    left -= step;
    timer = setTimeout(left > 0 ? arm : fn, step);
  };
  arm();
  return { clear: () => clearTimeout(timer) };
}

/** Calls `fn` every `ms`, however long that is. */
export function setLongInterval(fn: () => void, ms: number): LongTimer {
  if (ms <= MAX_TIMER_MS) {
    const timer = setInterval(fn, ms);
    return { clear: () => clearInterval(timer) };
  }
  let current: LongTimer;
  const next = () => {
    current = setLongTimeout(() => {
      next();
      fn();
    }, ms);
  };
  next();
  return { clear: () => current.clear() };
}
