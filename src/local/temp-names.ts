/**
 * Temporary names for transfers in progress: hidden, beside the target, and recognisable so that
 * scans and watchers skip them and a later run can clean up after a crash.
 */
const TEMP_RE = /^\.ftps-sync\..+\.[0-9a-f]{8}\.part$/;

export function tempNameFor(baseName: string): string {
  // Only needs to differ between attempts and agents, not to be secret: Math.random is enough,
  // and crypto.randomBytes cost more than the rest of naming a file.
  const suffix = Math.floor(Math.random() * 2 ** 32).toString(16).padStart(8, "0");
  return `.ftps-sync.${baseName}.${suffix}.part`;
}

export function isTempName(baseName: string): boolean {
  return TEMP_RE.test(baseName);
}
