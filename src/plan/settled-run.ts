/**
 * A run that lists the server and finds nothing to do leaves both sides in step with the state.
 * The diff is a pure function of the local scan, the remote listing, the state and the job's
 * settings (the clock only names conflicts), so a later run that sees the same two sides, under
 * the same settings, with the state unwritten since, would find nothing to do either: it can skip
 * reading the state and the diff. UnchangedScanStore keeps the memo with the state's generation,
 * as it does for trusted runs.
 *
 * The memo is the local scan's fingerprint (scanFingerprint) and a digest of the remote side,
 * kept apart so that a run can tell from its scan alone, before the listing is in, that the
 * local side moved (and start reading the state beside the listing).
 */
import { LineDigest } from "./digest.js";
import type { LocalEntry, RemoteEntry } from "./types.js";

export interface SettledMemo {
  /** scanFingerprint of the local side. */
  local: string;
  /** remoteSideDigest of the remote side and the settings. */
  remote: string;
}

const SEPARATOR = ":r:";

export function formatSettledMemo(m: SettledMemo): string {
  return `${m.local}${SEPARATOR}${m.remote}`;
}

/** Undefined for a trusted run's memo (a scan fingerprint alone), which holds no ":r:". */
export function parseSettledMemo(memo: string): SettledMemo | undefined {
  const at = memo.indexOf(SEPARATOR);
  return at < 0 ? undefined : { local: memo.slice(0, at), remote: memo.slice(at + SEPARATOR.length) };
}

function remoteLine(e: RemoteEntry): string {
  // "\0" cannot occur in a name: the fields cannot run into each other.
  return `${e.path}\0${e.serverPath ?? ""}\0${e.type}\0${e.size}\0${e.modifyMs ?? ""}\0${e.precision}`;
}

/**
 * A digest of the remote entries and the job's settings. The entries are taken in the local
 * scan's order (sorted, unlike a listing spread over several connections), then those with no
 * local entry, sorted: the same remote side gives the same digest whatever order its folders'
 * listings arrived in.
 */
export function remoteSideDigest(local: Map<string, LocalEntry>, remote: Map<string, RemoteEntry>, settings: unknown): string {
  const digest = new LineDigest();
  digest.add(`settings\0${JSON.stringify(settings)}`);
  let paired = 0;
  for (const path of local.keys()) {
    const r = remote.get(path);
    if (r === undefined) {
      digest.add("-");
      continue;
    }
    paired++;
    digest.add(remoteLine(r));
  }
  if (paired < remote.size) {
    for (const path of [...remote.keys()].filter((p) => !local.has(p)).sort()) digest.add(`+\0${remoteLine(remote.get(path)!)}`);
  }
  return `${remote.size}:${digest.hex()}`;
}
