/**
 * Durations in config files are written for humans: "250ms", "30s", "5m", "1h", "2d",
 * or compound like "1h30m". Decimals are allowed ("1.5h"). A bare number is refused
 * because "5" could mean seconds or minutes.
 */
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Parse a duration string into milliseconds; throws RangeError when it is not one. */
export function parseDuration(text: string): number {
  const trimmed = text.trim();
  if (trimmed === "") throw new RangeError("a duration must not be empty");
  // Sticky regex: each part must start exactly where the previous one ended.
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;
  let total = 0;
  while (part.lastIndex < trimmed.length) {
    const match = part.exec(trimmed);
    if (!match) {
      throw new RangeError(`not a duration: use a number and a unit (ms, s, m, h, d), e.g. "30s", "5m" or "1h30m"`);
    }
    total += Number(match[1]) * UNIT_MS[match[2]];
  }
  // Sub-millisecond remainders ("0.0001s") are meaningless for timers.
  const ms = Math.round(total);
  if (!Number.isSafeInteger(ms)) throw new RangeError("too long a duration");
  return ms;
}
