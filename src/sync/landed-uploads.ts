import { existsSync } from "node:fs";
import { localChanged, remoteChanged, sameLocalVersion, sameWithinPrecision } from "../plan/signatures.js";
import type { LocalEntry, RemoteListing, StateEntry } from "../plan/types.js";
import { isNotThere, type RemoteFolder } from "../remote/remote-folder.js";
import type { PartialTransfer } from "../state/partials.js";

/** A transfer that landed before an earlier run stopped: the record it should have written, and its partial row to close. */
export interface Landed {
  entry: StateEntry;
  direction: "upload" | "download";
}

interface LandedInput {
  partials: PartialTransfer[];
  local: Map<string, LocalEntry>;
  remote: RemoteListing;
  stateEntries: Map<string, StateEntry>;
}

/**
 * Uploads that were renamed into place but never recorded: the process died between the rename
 * and the state commit. Without a server that sets times (MFMT), the file then looks changed on
 * both sides, and a two-way job would keep both as a conflict copy of identical files.
 *
 * The upload's partial row says which local version was being sent. When that version is still
 * the local file, the server's file under the real name changed since the last record and has its
 * size, and the temporary file is gone (SIZE answers 550), the upload landed: its record is
 * written (record.ts), as the stopped run would have. Anything less certain is left to the plan.
 * Reads only: the records are returned.
 */
export async function findLandedUploads(o: LandedInput & { server: RemoteFolder }): Promise<Landed[]> {
  const found: Landed[] = [];
  for (const p of o.partials) {
    if (p.direction !== "upload") continue;
    const l = o.local.get(p.path);
    const r = o.remote.entries.get(p.path);
    if (l?.type !== "file" || r?.type !== "file") continue;
    if (p.sourceMtime === undefined || !sameLocalVersion(l, { size: p.sourceSize, mtimeMs: p.sourceMtime }) || r.size !== l.size) continue;
    // The server's file must have changed since the last record: not an old version of that size.
    const prev = o.stateEntries.get(p.path);
    if (prev && !remoteChanged(r, prev)) continue;
    const tempGone = await o.server.size(p.tempPath).then(
      () => false,
      (err: unknown) => isNotThere(err),
    );
    if (!tempGone) continue;
    const entry: StateEntry = {
      path: p.path,
      type: "file",
      localSize: l.size,
      localMtimeMs: l.mtimeMs,
      remoteSize: r.size,
      remoteModifyMs: r.modifyMs,
      remotePrecision: r.precision,
      placedRemote: true,
      placedLocal: prev?.placedLocal ?? false,
    };
    found.push({ entry, direction: "upload" });
  }
  return found;
}

/**
 * The same for downloads: renamed into place locally but never recorded. A download gives the
 * file the server's time before the rename, so when the partial row's source is still the
 * server's file (size and time), the local file has that size and exactly that time, and the
 * temporary file is gone, this job put it there: it is recorded now, not compared or made a
 * conflict. Without a server time nothing proves it, and the plan compares the two. Reads only.
 */
export function findLandedDownloads(o: LandedInput): Landed[] {
  const found: Landed[] = [];
  for (const p of o.partials) {
    if (p.direction !== "download") continue;
    const l = o.local.get(p.path);
    const r = o.remote.entries.get(p.path);
    if (l?.type !== "file" || r?.type !== "file" || r.modifyMs === undefined) continue;
    // The row holds the exact time the download took before its first byte (MDTM where the
    // listing shows minutes or days), and the local file got the listed time, or that exact one
    // where the listing had only the day (Transfers.download).
    const exact = p.sourceMtime;
    const sameSource = exact !== undefined && (exact === r.modifyMs || sameWithinPrecision(exact, "ms", r.modifyMs, r.precision));
    if (r.size !== p.sourceSize || !sameSource || l.size !== r.size || (l.mtimeMs !== r.modifyMs && l.mtimeMs !== exact)) continue;
    const prev = o.stateEntries.get(p.path);
    if ((prev && !localChanged(l, prev)) || existsSync(p.tempPath)) continue;
    const entry: StateEntry = {
      path: p.path,
      type: "file",
      localSize: l.size,
      localMtimeMs: l.mtimeMs,
      remoteSize: r.size,
      ...(r.precision === "day"
        ? { remoteModifyMs: exact, remotePrecision: exact! % 1000 === 0 ? ("second" as const) : ("ms" as const) }
        : { remoteModifyMs: r.modifyMs, remotePrecision: r.precision }),
      placedRemote: prev?.placedRemote ?? false,
      placedLocal: true,
    };
    found.push({ entry, direction: "download" });
  }
  return found;
}
