/**
 * Which checksum commands a server's capabilities offer, and which is best (pure: the sync core
 * chooses the algorithm before it asks, so that it hashes its own copy at the same time).
 */

import type { Capabilities } from "./capabilities.js";
import type { HashAlgorithm, HashMethod } from "./remote-folder.js";

const ALGORITHMS: { algorithm: HashAlgorithm; nodeName: string; hexLength: number; xCommands: string[] }[] = [
  // Strongest widely offered first; for one algorithm HASH comes before the X-commands.
  { algorithm: "SHA-256", nodeName: "sha256", hexLength: 64, xCommands: ["XSHA256"] },
  { algorithm: "SHA-512", nodeName: "sha512", hexLength: 128, xCommands: ["XSHA512"] },
  { algorithm: "SHA-1", nodeName: "sha1", hexLength: 40, xCommands: ["XSHA1", "XSHA"] },
  { algorithm: "MD5", nodeName: "md5", hexLength: 32, xCommands: ["XMD5"] },
];

export function hexLength(algorithm: HashAlgorithm): number {
  return ALGORITHMS.find((a) => a.algorithm === algorithm)!.hexLength;
}

/** The best way this server offers to hash a file, or undefined when it offers none we know. */
export function chooseHashMethod(caps: Pick<Capabilities, "hash" | "hashCommands"> | undefined): HashMethod | undefined {
  if (!caps) return undefined;
  for (const a of ALGORITHMS) {
    if (caps.hash.includes(a.algorithm)) return { command: "HASH", algorithm: a.algorithm, nodeName: a.nodeName };
    const x = a.xCommands.find((cmd) => caps.hashCommands.includes(cmd));
    if (x) return { command: x, algorithm: a.algorithm, nodeName: a.nodeName };
  }
  return undefined;
}
