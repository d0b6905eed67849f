import { randomBytes } from "node:crypto";

/**
 * Temporary names for transfers in progress: hidden, beside the target, and recognisable so that
 * scans and watchers skip them and a later run can clean up after a crash.
 */
const TEMP_RE = /^\.ftps-sync\..+\.[0-9a-f]{8}\.part$/;

export function tempNameFor(baseName: string): string {
  return `.ftps-sync.${baseName}.${randomBytes(4).toString("hex")}.part`;
}

export function isTempName(baseName: string): boolean {
  return TEMP_RE.test(baseName);
}
