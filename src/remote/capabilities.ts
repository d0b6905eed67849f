/** What a server offers, from its FEAT reply. */
export interface Capabilities {
  mlsd: boolean;
  mfmt: boolean;
  mdtm: boolean;
  size: boolean;
  utf8: boolean;
  restStream: boolean;
  /** HASH algorithms offered (RFC draft-bryan-ftpext-hash), upper case, e.g. ["SHA-256", "MD5"]. */
  hash: string[];
  /**
   * Non-standard hash commands offered (XSHA256, XSHA512, XSHA1, XSHA, XMD5), upper case. FEAT
   * lists each as a feature of its own (Serv-U, ProFTPD's mod_digest).
   */
  hashCommands: string[];
  /** The raw FEAT lines: feature name to its parameters. */
  features: Record<string, string>;
}

/** The non-standard hash commands a client may use (see protocol/server-hash.ts). */
const HASH_COMMANDS = ["XSHA256", "XSHA512", "XSHA1", "XSHA", "XMD5"];

export function parseCapabilities(features: Map<string, string>): Capabilities {
  const raw: Record<string, string> = {};
  for (const [k, v] of features) raw[k.toUpperCase()] = v;
  const has = (k: string) => Object.prototype.hasOwnProperty.call(raw, k);
  const hashAlgos = has("HASH")
    ? raw.HASH.split(";")
        .map((a) => a.replace(/\*$/, "").trim().toUpperCase())
        .filter(Boolean)
    : [];
  return {
    // RFC 3659 7.8: "The presence of the MLST feature indicates that both MLST and MLSD are supported."
    mlsd: has("MLST") || has("MLSD"),
    mfmt: has("MFMT"),
    mdtm: has("MDTM"),
    size: has("SIZE"),
    utf8: has("UTF8"),
    restStream: has("REST") && /STREAM/i.test(raw.REST),
    hash: hashAlgos,
    hashCommands: HASH_COMMANDS.filter(has),
    features: raw,
  };
}

export function describeCapabilities(c: Capabilities): string {
  const flags = [
    c.mlsd ? "MLSD" : "LIST-only",
    c.mfmt && "MFMT",
    c.mdtm && "MDTM",
    c.size && "SIZE",
    c.utf8 && "UTF8",
    c.restStream && "REST STREAM",
    c.hash.length > 0 && `HASH(${c.hash.join(",")})`,
    ...c.hashCommands,
  ].filter(Boolean);
  return flags.join(" ");
}

/**
 * What the server's listing times can show, and what they cannot, for `check`: a change that keeps
 * a file's size within the time's precision looks like no change to any client. `hashCommand`
 * names the hash command the agent would use (protocol/server-hash.ts), if any.
 */
export function describeTimes(c: Capabilities, hashCommand?: string): string {
  if (c.mlsd) return "exact (MLSD)";
  const advice = hashCommand
    ? `; set "verify": "hash" to check each transfer with ${hashCommand}`
    : "; the server offers no hash command to check transfers with either";
  if (c.mdtm) {
    return `LIST, to the minute (MDTM for files listed by day): a change that keeps a file's size within the same minute cannot be seen${advice}`;
  }
  return `LIST only, no MDTM: a change that keeps a file's size within the listing's precision (a minute, or a day for files older than six months) cannot be seen${advice}`;
}
