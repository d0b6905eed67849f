/**
 * Byte sizes and rates in config files: a plain integer (bytes), or a number with a unit.
 * K/M/G (and KB/MB/GB) are 1000-based; KiB/MiB/GiB are 1024-based. An optional "/s" suffix
 * is accepted because these values are usually rates ("10MB/s"). Units are case-insensitive.
 */
const UNIT_BYTES: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
};
const SIZE = /^(\d+(?:\.\d+)?)\s*([a-z]*)(?:\/s)?$/i;

/** Parse "10MB", "512KiB" or "1000" into a whole number of bytes; throws RangeError otherwise. */
export function parseSize(text: string): number {
  const match = SIZE.exec(text.trim());
  const factor = match ? UNIT_BYTES[match[2].toLowerCase()] : undefined;
  if (!match || factor === undefined) {
    throw new RangeError(`not a size: use bytes or a number with K, M, G (1000-based) or KiB, MiB, GiB (1024-based), e.g. "10MB" or "512KiB"`);
  }
  return Math.floor(Number(match[1]) * factor);
}
