/**
 * Types shared by the scanners, the diff and the sync runner.
 * Every `path` is relative to the job root, "/"-separated, no leading or trailing slash,
 * Unicode NFC (the key used for comparison). The root itself is never an entry.
 */

export type EntryType = "file" | "dir";

/** What the local scan saw. */
export interface LocalEntry {
  path: string;
  type: EntryType;
  size: number; // 0 for dirs
  mtimeMs: number; // integer milliseconds
  /** The path as spelled on disk, when it differs from the NFC `path`. */
  diskPath?: string;
}

/**
 * Precision of a remote modification time, as the server reported it.
 * "pending": we uploaded the file and did not learn what the server's listing will say;
 * the next listing adopts its time if the size still matches.
 */
export type TimePrecision = "ms" | "second" | "minute" | "day" | "none" | "pending";

/** What the remote listing saw. */
export interface RemoteEntry {
  path: string;
  type: EntryType;
  size: number;
  /** Epoch ms as parsed from the listing; undefined when the server gave no usable time. */
  modifyMs?: number;
  precision: TimePrecision;
  /** The path as the server spells it, when it differs from the NFC `path`. */
  serverPath?: string;
}

/** What a path looked like on each side when this job last synced it. */
export interface StateEntry {
  path: string;
  type: EntryType;
  localSize: number;
  localMtimeMs: number;
  remoteSize: number;
  remoteModifyMs?: number;
  remotePrecision: TimePrecision;
  /** This job put the remote copy there (upload). Used by delete: "tracked". */
  placedRemote: boolean;
  /** This job put the local copy there (download). Used by delete: "tracked". */
  placedLocal: boolean;
  /**
   * One-way job with afterTransfer "delete" or "archive": the source file was (or is about to be)
   * taken away after this copy was recorded. Its absence on the source is then no deletion.
   */
  sourceTaken?: boolean;
}

/** A remote listing and whether it can be trusted for deletions. */
export interface RemoteListing {
  entries: Map<string, RemoteEntry>;
  /** False when any folder failed to list or a listing was cut short. */
  complete: boolean;
  /** Folders (relative paths, "" for the root) whose listing failed. */
  failedDirs: string[];
  /** Names skipped (unsafe) or held back (twins), as warnings for the run; already logged. */
  nameProblems?: string[];
  /** Paths two spellings share (names that differ only in Unicode normalisation): left alone. */
  twins?: string[];
}

/**
 * Both sides changed the same file (or hold different files at the first sync): resolved per
 * onConflict. keep-both: rename the remote file to `conflictName` on the server, upload the local
 * version to `path`, download the renamed copy to `conflictName` locally (both sides end with both
 * files). upload / download: one side's version wins and overwrites the other.
 */
export interface ConflictAction {
  kind: "conflict";
  path: string;
  reason: string;
  resolution: "keep-both" | "upload" | "download";
  conflictName?: string;
  local: LocalEntry;
  remote: RemoteEntry;
}

export type Action =
  | { kind: "mkdir-remote"; path: string; reason: string }
  | { kind: "mkdir-local"; path: string; reason: string }
  | { kind: "upload"; path: string; reason: string; local: LocalEntry; remote?: RemoteEntry; placedRemote: boolean }
  | { kind: "download"; path: string; reason: string; remote: RemoteEntry; local?: LocalEntry; placedLocal: boolean }
  | { kind: "delete-local"; path: string; reason: string; type: EntryType }
  | { kind: "delete-remote"; path: string; reason: string; type: EntryType }
  | ConflictAction
  /**
   * Two-way: both sides hold a file of the same size that changed on both (or that the first sync
   * finds on both). Equal only on evidence: the runner compares the contents (HASH, or the bytes)
   * and adopts them when they are the same, or carries out `ifDifferent` when they are not.
   */
  | { kind: "compare"; path: string; reason: string; local: LocalEntry; remote: RemoteEntry; ifDifferent: ConflictAction }
  /** Both sides already agree: record their signatures, transfer nothing. */
  | { kind: "adopt"; path: string; reason: string; local: LocalEntry; remote: RemoteEntry }
  /** Gone from both sides: drop the state row. */
  | { kind: "forget"; path: string; reason: string }
  /**
   * A deletion the policy holds back (two-way, delete=tracked: this job did not put the file
   * there, so it stays; one-way, delete=never: the target keeps its copy). Nothing is done; the
   * run counts it in skippedDeletes and warns.
   */
  | { kind: "held-delete"; path: string; reason: string; side: "local" | "remote"; type: EntryType }
  /**
   * Only the user can settle this path (a file on one side, a folder on the other): nothing at or
   * below it is done, and every run reports it.
   */
  | { kind: "needs-user"; path: string; reason: string };

export type ActionKind = Action["kind"];
