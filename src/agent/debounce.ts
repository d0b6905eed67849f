/**
 * Trailing debounce with a ceiling: fires `waitMs` after the last call, but no later than
 * `maxWaitMs` after the first, so a folder that never stops changing still gets synced.
 */
export function debounce(fn: () => void, waitMs: number, maxWaitMs = Math.max(waitMs * 10, 10_000)) {
  let timer: NodeJS.Timeout | undefined;
  let firstAt: number | undefined;
  const fire = () => {
    timer = undefined;
    firstAt = undefined;
    fn();
  };
  return {
    call(): void {
      const now = Date.now();
      firstAt ??= now;
      if (timer) clearTimeout(timer);
      const due = Math.min(waitMs, firstAt + maxWaitMs - now);
      timer = setTimeout(fire, Math.max(0, due));
    },
    cancel(): void {
      if (timer) clearTimeout(timer);
      timer = undefined;
      firstAt = undefined;
    },
  };
}
