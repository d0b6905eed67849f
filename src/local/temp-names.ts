import { createHash } from "node:crypto";

/**
 * Temporary names for transfers in progress: hidden, beside the target, and recognisable so that
 * scans and watchers skip them and a later run can clean up after a crash.
 *
 * Two forms, both ".ftps-sync.<middle>.<8 hex>.part" (so one pattern recognises both, and temp
 * files left by earlier versions are still skipped and cleaned up):
 * - readable: the middle is the target's own name, when the whole still fits in NAME_MAX;
 * - short: the middle is "h" and 16 hex digits of the name's SHA-256, for names too long for the
 *   readable form (a 231- to 255-byte name would otherwise get a temporary name the file system
 *   or the server refuses, and never sync).
 */
const TEMP_RE = /^\.ftps-sync\..+\.[0-9a-f]{8}\.part$/;

/** The longest file name Linux file systems and FTP servers on them take, in bytes (NAME_MAX). */
export const NAME_MAX_BYTES = 255;
/** ".ftps-sync." + "." + 8 hex + ".part" */
const WRAPPER_BYTES = ".ftps-sync.".length + 1 + 8 + ".part".length;

export function tempNameFor(baseName: string): string {
  // Only needs to differ between attempts and agents, not to be secret: Math.random is enough,
  // and crypto.randomBytes cost more than the rest of naming a file.
  const suffix = Math.floor(Math.random() * 2 ** 32).toString(16).padStart(8, "0");
  return `.ftps-sync.${tempMiddle(baseName)}.${suffix}.part`;
}

function tempMiddle(baseName: string): string {
  if (Buffer.byteLength(baseName) + WRAPPER_BYTES <= NAME_MAX_BYTES) return baseName;
  return "h" + createHash("sha256").update(baseName).digest("hex").slice(0, 16);
}

export function isTempName(baseName: string): boolean {
  return TEMP_RE.test(baseName);
}
