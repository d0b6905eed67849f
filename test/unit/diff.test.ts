import { describe, expect, it } from "vitest";
import type { ConflictPolicy, DeletePolicy, Direction } from "../../src/config/types.js";
import { conflictName, diff, type DiffPolicy } from "../../src/plan/diff.js";
import type { Action, LocalEntry, RemoteEntry, StateEntry } from "../../src/plan/types.js";

const T = Date.UTC(2026, 0, 10, 12, 0, 0); // local mtime at the last sync
const UP = T + 5_000; // server time at the last sync (upload time, unrelated to the local clock)
const NOW = new Date(Date.UTC(2026, 10, 24, 2, 0, 0));
const STAMP = "20261124T020000";

// ---- builders --------------------------------------------------------------------------------

const file = (path: string, size = 10, mtimeMs = T): LocalEntry => ({ path, type: "file", size, mtimeMs });
const dir = (path: string): LocalEntry => ({ path, type: "dir", size: 0, mtimeMs: T });
/** `modifyMs: null` is a server that gave no usable time. */
const rfile = (path: string, size = 10, modifyMs: number | null = UP, precision: RemoteEntry["precision"] = "ms"): RemoteEntry => ({
  path,
  type: "file",
  size,
  modifyMs: modifyMs ?? undefined,
  precision: modifyMs === null ? "none" : precision,
});
const rdir = (path: string): RemoteEntry => ({ path, type: "dir", size: 0, modifyMs: UP, precision: "minute" });
const st = (path: string, over: Partial<StateEntry> = {}): StateEntry => ({
  path,
  type: "file",
  localSize: 10,
  localMtimeMs: T,
  remoteSize: 10,
  remoteModifyMs: UP,
  remotePrecision: "ms",
  placedRemote: true,
  placedLocal: true,
  ...over,
});
const sdir = (path: string, over: Partial<StateEntry> = {}): StateEntry =>
  st(path, { type: "dir", localSize: 0, remoteSize: 0, ...over });

function run(opts: {
  local?: Array<LocalEntry>;
  remote?: Array<RemoteEntry>;
  state?: Array<StateEntry>;
  direction?: Direction;
  del?: DeletePolicy;
  onConflict?: ConflictPolicy;
  complete?: boolean;
  failedDirs?: string[];
  futureToleranceMs?: number;
}): Action[] {
  const policy: DiffPolicy = {
    direction: opts.direction ?? "two-way",
    delete: opts.del ?? "tracked",
    onConflict: opts.onConflict ?? "keep-both",
    ...(opts.futureToleranceMs !== undefined ? { futureToleranceMs: opts.futureToleranceMs } : {}),
  };
  return diff({
    local: new Map((opts.local ?? []).map((e) => [e.path, e])),
    remote: {
      entries: new Map((opts.remote ?? []).map((e) => [e.path, e])),
      complete: opts.complete ?? true,
      failedDirs: opts.failedDirs ?? [],
    },
    state: new Map((opts.state ?? []).map((e) => [e.path, e])),
    policy,
    now: NOW,
  });
}

const summary = (plan: Action[]) => plan.map((a) => `${a.kind} ${a.path}`);
const isDeleteKind = (a: Action) => a.kind === "delete-local" || a.kind === "delete-remote";

// ---- one path, every rule ---------------------------------------------------------------------

/** How one side of "f.txt" looks now, relative to the state below. */
type LocalNow = "none" | "same" | "changed" | "match";
type RemoteNow = "none" | "same" | "changed" | "match" | "differ";
type StateNow = "none" | "synced" | "foreign" | "pending";

const localOf: Record<LocalNow, LocalEntry | undefined> = {
  none: undefined,
  same: file("f.txt"),
  changed: file("f.txt", 20, T + 100_000),
  match: file("f.txt"),
};
const remoteOf: Record<RemoteNow, RemoteEntry | undefined> = {
  none: undefined,
  same: rfile("f.txt"),
  changed: rfile("f.txt", 30, UP + 200_000),
  // first sync: same size, server time equals the local mtime (within its minute precision)
  match: rfile("f.txt", 10, T + 30_000, "minute"),
  // first sync: same size, another time
  differ: rfile("f.txt", 10, T + 3 * 60_000, "minute"),
};
const stateOf: Record<StateNow, StateEntry | undefined> = {
  none: undefined,
  synced: st("f.txt"),
  // the target copy was there before this job: not placed by it
  foreign: st("f.txt", { placedRemote: false, placedLocal: false }),
  pending: st("f.txt", { remotePrecision: "pending", remoteModifyMs: undefined }),
};

type Row = [string, Direction, DeletePolicy, LocalNow, RemoteNow, StateNow, string | undefined, string?];

function single(direction: Direction, del: DeletePolicy, l: LocalNow, r: RemoteNow, s: StateNow, onConflict: ConflictPolicy = "keep-both") {
  const plan = run({
    local: [localOf[l]].filter((e) => e !== undefined),
    remote: [remoteOf[r]].filter((e) => e !== undefined),
    state: [stateOf[s]].filter((e) => e !== undefined),
    direction,
    del,
    onConflict,
  });
  return plan.filter((a) => a.path === "f.txt");
}

describe("two-way: equal only on evidence", () => {
  it("two edits of the same size within the same second of the server's clock are compared, never taken as identical", () => {
    // `echo LOCALEDIT > f` here and `printf 'PARTNERED\n' > f` on the server in the same second
    const plan = run({
      local: [file("f.txt", 20, T + 100_400)],
      remote: [rfile("f.txt", 20, T + 100_000, "second")],
      state: [st("f.txt")],
      direction: "two-way",
    });
    expect(summary(plan)).toEqual(["compare f.txt"]);
    expect(plan[0]).toMatchObject({
      reason: expect.stringContaining("changed on both sides"),
      ifDifferent: { kind: "conflict", path: "f.txt", resolution: "keep-both", conflictName: `f.conflict-${STAMP}-remote.txt` },
    });
  });

  it("two edits within the same minute of a LIST-only server are compared too", () => {
    const plan = run({
      local: [file("f.txt", 20, T + 100_000)],
      remote: [rfile("f.txt", 20, T + 100_000 + 20_000, "minute")],
      state: [st("f.txt")],
    });
    expect(summary(plan)).toEqual(["compare f.txt"]);
  });

  it("a first sync over two same-size files with the same time compares them", () => {
    const plan = run({ local: [file("f.txt", 10, T)], remote: [rfile("f.txt", 10, T, "second")] });
    expect(summary(plan)).toEqual(["compare f.txt"]);
    expect(plan[0].reason).toContain("first sync");
  });

  it("the fallback of a compare follows onConflict", () => {
    const plan = run({ local: [file("f.txt", 20, T + 100_000)], remote: [rfile("f.txt", 20, T + 50_000)], state: [st("f.txt")], onConflict: "local-wins" });
    expect(plan[0]).toMatchObject({ kind: "compare", ifDifferent: { kind: "conflict", resolution: "upload" } });
  });

  it("files of different sizes changed on both sides are a conflict without a compare", () => {
    const plan = run({ local: [file("f.txt", 20, T + 100_000)], remote: [rfile("f.txt", 21, T + 100_000, "second")], state: [st("f.txt")] });
    expect(summary(plan)).toEqual(["conflict f.txt"]);
    expect(plan[0].reason).toContain("sizes differ");
  });

  it("one-way jobs still adopt a first sync with the same size and time", () => {
    const plan = run({ direction: "upload", local: [file("f.txt", 10, T)], remote: [rfile("f.txt", 10, T, "second")] });
    expect(summary(plan)).toEqual(["adopt f.txt"]);
  });
});

describe("newer-wins never trusts a time in the future", () => {
  const H = 3_600_000;
  const now = NOW.getTime();
  it.each<[string, LocalEntry, RemoteEntry, number | undefined, "keep-both" | "upload" | "download"]>([
    ["a server time two hours ahead of this clock does not win: both are kept", file("f.txt", 20, now - 60_000), rfile("f.txt", 30, now + 2 * H), undefined, "keep-both"],
    ["a local time two hours ahead does not win either", file("f.txt", 20, now + 2 * H), rfile("f.txt", 30, now - 60_000), undefined, "keep-both"],
    ["a server time a minute ahead is within the default tolerance and wins", file("f.txt", 20, now - 60_000), rfile("f.txt", 30, now + 60_000), undefined, "download"],
    ["futureTolerance widens the tolerance", file("f.txt", 20, now - 60_000), rfile("f.txt", 30, now + 2 * H), 3 * H, "download"],
    ["futureTolerance narrows it", file("f.txt", 20, now - 60_000), rfile("f.txt", 30, now + 60_000), 10_000, "keep-both"],
  ])("%s", (_name, l, r, futureToleranceMs, resolution) => {
    const plan = run({ local: [l], remote: [r], state: [st("f.txt")], onConflict: "newer-wins", futureToleranceMs });
    expect(plan).toHaveLength(1);
    expect(plan[0]).toMatchObject({ kind: "conflict", resolution });
    if (resolution === "keep-both") expect(plan[0].reason).toMatch(/ahead of this machine's clock/);
  });

  it("a compare's fallback under newer-wins keeps both when the server's time is in the future", () => {
    const plan = run({ local: [file("f.txt", 10, NOW.getTime() - 1000)], remote: [rfile("f.txt", 10, NOW.getTime() + 2 * H)], state: [st("f.txt")], onConflict: "newer-wins" });
    expect(plan[0]).toMatchObject({ kind: "compare", ifDifferent: { resolution: "keep-both", reason: expect.stringContaining("ahead") } });
  });
});

describe("diff of one file", () => {
  it.each<Row>([
    // upload
    ["upload: a new local file is uploaded", "upload", "tracked", "same", "none", "none", "upload", "new on local"],
    ["upload: a file missing on the remote is uploaded again", "upload", "never", "same", "none", "synced", "upload", "missing on remote"],
    ["upload: first sync with the same size and time is adopted", "upload", "tracked", "match", "match", "none", "adopt"],
    ["upload: first sync with another time is uploaded", "upload", "tracked", "same", "differ", "none", "upload", "first sync"],
    ["upload: a file changed on local is uploaded", "upload", "tracked", "changed", "same", "synced", "upload", "changed on local"],
    ["upload: a target changed by someone else is left alone (tracked)", "upload", "tracked", "same", "changed", "synced", undefined],
    ["upload: a target changed by someone else is left alone (never)", "upload", "never", "same", "changed", "synced", undefined],
    ["upload: mirror restores a target changed by someone else", "upload", "mirror", "same", "changed", "synced", "upload", "mirror restores"],
    ["upload: both changed is an upload, not a conflict", "upload", "tracked", "changed", "changed", "synced", "upload"],
    ["upload: a pending server time with the same size is adopted", "upload", "tracked", "same", "same", "pending", "adopt"],
    ["upload: an unchanged file needs nothing", "upload", "mirror", "same", "same", "synced", undefined],
    ["upload: a local deletion is held back and reported with delete=never", "upload", "never", "none", "same", "synced", "held-delete", "deleted on local; delete=never keeps the remote copy"],
    ["upload: a local deletion of a file edited on the remote is held back too (never)", "upload", "never", "none", "changed", "synced", "held-delete", "delete=never"],
    ["upload: a local deletion removes a remote copy we placed (tracked)", "upload", "tracked", "none", "same", "synced", "delete-remote", "deleted on local; delete=tracked"],
    ["upload: a local deletion keeps a remote copy we did not place (tracked)", "upload", "tracked", "none", "same", "foreign", undefined],
    ["upload: a local deletion keeps a remote copy edited since (tracked)", "upload", "tracked", "none", "changed", "synced", undefined],
    ["upload: a local deletion removes the remote copy (mirror)", "upload", "mirror", "none", "same", "foreign", "delete-remote", "delete=mirror"],
    ["upload: a local deletion removes an edited remote copy (mirror)", "upload", "mirror", "none", "changed", "synced", "delete-remote"],
    ["upload: a file others put on the remote stays (tracked)", "upload", "tracked", "none", "same", "none", undefined],
    ["upload: a file others put on the remote stays (never)", "upload", "never", "none", "same", "none", undefined],
    ["upload: a file others put on the remote goes (mirror)", "upload", "mirror", "none", "same", "none", "delete-remote", "not on local"],
    ["upload: a file gone from both sides is forgotten", "upload", "tracked", "none", "none", "synced", "forget"],
    // download
    ["download: a new remote file is downloaded", "download", "tracked", "none", "same", "none", "download", "new on remote"],
    ["download: a file missing locally is downloaded again", "download", "never", "none", "same", "synced", "download", "missing on local"],
    ["download: first sync with the same size and time is adopted", "download", "tracked", "match", "match", "none", "adopt"],
    ["download: first sync with another time is downloaded", "download", "tracked", "same", "differ", "none", "download"],
    ["download: a file changed on the remote is downloaded", "download", "tracked", "same", "changed", "synced", "download", "changed on remote"],
    ["download: a local edit is left alone (tracked)", "download", "tracked", "changed", "same", "synced", undefined],
    ["download: mirror restores a local edit", "download", "mirror", "changed", "same", "synced", "download", "mirror restores"],
    ["download: a pending server time with the same size is adopted", "download", "tracked", "same", "same", "pending", "adopt"],
    ["download: a remote deletion is held back and reported with delete=never", "download", "never", "same", "none", "synced", "held-delete", "deleted on remote; delete=never keeps the local copy"],
    ["download: a remote deletion removes a local copy we placed (tracked)", "download", "tracked", "same", "none", "synced", "delete-local", "deleted on remote; delete=tracked"],
    ["download: a remote deletion keeps a local copy we did not place (tracked)", "download", "tracked", "same", "none", "foreign", undefined],
    ["download: a remote deletion keeps a local copy edited since (tracked)", "download", "tracked", "changed", "none", "synced", undefined],
    ["download: a remote deletion removes the local copy (mirror)", "download", "mirror", "changed", "none", "synced", "delete-local"],
    ["download: a local-only file stays (tracked)", "download", "tracked", "same", "none", "none", undefined],
    ["download: a local-only file goes (mirror)", "download", "mirror", "same", "none", "none", "delete-local", "not on remote"],
    ["download: a file gone from both sides is forgotten", "download", "mirror", "none", "none", "synced", "forget"],
    // two-way
    ["two-way: both changed is a conflict", "two-way", "tracked", "changed", "changed", "synced", "conflict", "changed on both sides"],
    ["two-way: a local change is uploaded", "two-way", "tracked", "changed", "same", "synced", "upload"],
    ["two-way: a remote change is downloaded", "two-way", "tracked", "same", "changed", "synced", "download"],
    ["two-way: an unchanged file needs nothing", "two-way", "mirror", "same", "same", "synced", undefined],
    ["two-way: a pending server time with the same size is adopted", "two-way", "tracked", "same", "same", "pending", "adopt"],
    ["two-way: first sync with the same size and time is compared", "two-way", "tracked", "match", "match", "none", "compare", "first sync"],
    ["two-way: first sync with the same size and another time is compared", "two-way", "tracked", "same", "differ", "none", "compare", "first sync"],
    ["two-way: a remote deletion of a locally edited file keeps the edit", "two-way", "mirror", "changed", "none", "synced", "upload", "edit kept"],
    ["two-way: a remote deletion is undone with delete=never", "two-way", "never", "same", "none", "synced", "upload", "delete=never"],
    ["two-way: a remote deletion is propagated with delete=tracked", "two-way", "tracked", "same", "none", "synced", "delete-local"],
    ["two-way: a remote deletion keeps a local copy this job did not place (tracked)", "two-way", "tracked", "same", "none", "foreign", "held-delete", "did not put it there"],
    ["two-way: a remote deletion is propagated with delete=mirror", "two-way", "mirror", "same", "none", "synced", "delete-local"],
    ["two-way: a new local file is uploaded", "two-way", "mirror", "same", "none", "none", "upload", "new on local"],
    ["two-way: a local deletion of a remotely edited file keeps the edit", "two-way", "mirror", "none", "changed", "synced", "download", "edit kept"],
    ["two-way: a local deletion is undone with delete=never", "two-way", "never", "none", "same", "synced", "download"],
    ["two-way: a local deletion is propagated with delete=tracked", "two-way", "tracked", "none", "same", "synced", "delete-remote"],
    ["two-way: a local deletion keeps a remote copy this job did not place (tracked)", "two-way", "tracked", "none", "same", "foreign", "held-delete", "did not put it there"],
    ["two-way: a local deletion is propagated with delete=mirror", "two-way", "mirror", "none", "same", "synced", "delete-remote"],
    ["two-way: a new remote file is downloaded", "two-way", "mirror", "none", "same", "none", "download", "new on remote"],
    ["two-way: a file gone from both sides is forgotten", "two-way", "tracked", "none", "none", "synced", "forget"],
  ])("%s", (_name, direction, del, l, r, s, kind, reason) => {
    const plan = single(direction, del, l, r, s);
    expect(plan.map((a) => a.kind)).toEqual(kind === undefined ? [] : [kind]);
    if (reason) expect(plan[0].reason).toContain(reason);
  });

  it.each<[string, Direction]>([
    ["an upload marks the remote copy as placed by this job", "upload"],
    ["a two-way upload marks the remote copy as placed by this job", "two-way"],
  ])("%s", (_name, direction) => {
    const [action] = single(direction, "tracked", "same", "none", "none");
    expect(action).toMatchObject({ kind: "upload", placedRemote: true, local: localOf.same });
  });

  it.each<[string, Direction]>([
    ["a download marks the local copy as placed by this job", "download"],
    ["a two-way download marks the local copy as placed by this job", "two-way"],
  ])("%s", (_name, direction) => {
    const [action] = single(direction, "tracked", "none", "same", "none");
    expect(action).toMatchObject({ kind: "download", placedLocal: true, remote: remoteOf.same });
  });
});

// ---- no delete where the rules say keep ----------------------------------------------------------

const LOCALS: LocalNow[] = ["none", "same", "changed"];
const REMOTES: RemoteNow[] = ["none", "same", "changed"];
const STATES: StateNow[] = ["none", "synced", "foreign", "pending"];
const DIRECTIONS: Direction[] = ["upload", "download", "two-way"];
const combos = <T,>(f: (d: Direction, l: LocalNow, r: RemoteNow, s: StateNow) => T[]) =>
  DIRECTIONS.flatMap((d) => LOCALS.flatMap((l) => REMOTES.flatMap((r) => STATES.flatMap((s) => f(d, l, r, s)))));

describe("diff never deletes where the rules keep", () => {
  it.each(combos((d, l, r, s) => [[`delete=never, ${d}, local ${l}, remote ${r}, state ${s}: nothing is deleted`, d, l, r, s] as const]))(
    "%s",
    (_name, d, l, r, s) => {
      expect(single(d, "never", l, r, s).filter(isDeleteKind)).toEqual([]);
    },
  );

  it.each(
    combos((d, l, r, s) =>
      d === "two-way" ? [] : [[`delete=tracked, ${d}, local ${l}, remote ${r}, state ${s}: only an unedited copy this job placed is deleted`, d, l, r, s] as const],
    ),
  )("%s", (_name, d, l, r, s) => {
    const deletes = single(d, "tracked", l, r, s).filter(isDeleteKind);
    const targetUntouched = d === "upload" ? r === "same" : l === "same";
    const sourceGone = d === "upload" ? l === "none" : r === "none";
    const placedByUs = s === "synced" || s === "pending";
    const allowed = placedByUs && sourceGone && targetUntouched;
    expect(deletes.length).toBe(allowed ? 1 : 0);
  });

  it.each(
    combos((d, l, r, s) =>
      d !== "two-way" ? [] : [[`delete=tracked, two-way, local ${l}, remote ${r}, state ${s}: only an unedited copy this job placed on that side is deleted`, d, l, r, s] as const],
    ),
  )("%s", (_name, d, l, r, s) => {
    const plan = single(d, "tracked", l, r, s);
    const deletes = plan.filter(isDeleteKind);
    // stateOf: "synced" and "pending" rows were placed by this job on both sides, "foreign" on neither.
    const placedByUs = s === "synced" || s === "pending";
    const oneSideGone = (l === "none") !== (r === "none");
    const untouched = l === "none" ? r === "same" : l === "same";
    expect(deletes.length).toBe(placedByUs && oneSideGone && untouched ? 1 : 0);
    // what stays is reported as held back, never silently restored or dropped
    if (s === "foreign" && oneSideGone && untouched) expect(plan.map((a) => a.kind)).toEqual(["held-delete"]);
  });

  it.each(
    combos((d, l, r, s) =>
      d === "two-way" ? [] : [[`${d}, local ${l}, remote ${r}, state ${s}: the source side is never deleted from`, d, l, r, s] as const],
    ),
  )("%s", (_name, d, l, r, s) => {
    const sourceDelete = d === "upload" ? "delete-local" : "delete-remote";
    for (const del of ["never", "tracked", "mirror"] as const) {
      expect(single(d, del, l, r, s).filter((a) => a.kind === sourceDelete)).toEqual([]);
    }
  });

  it.each(
    combos((d, l, r, s) =>
      d !== "two-way" ? [] : [[`two-way, local ${l}, remote ${r}, state ${s}: a changed or new file is never deleted`, d, l, r, s] as const],
    ),
  )("%s", (_name, d, l, r, s) => {
    for (const del of ["never", "tracked", "mirror"] as const) {
      const deletes = single(d, del, l, r, s).filter(isDeleteKind);
      if (l === "changed" || r === "changed" || s === "none") expect(deletes).toEqual([]);
    }
  });
});

// ---- conflicts ---------------------------------------------------------------------------------

describe("conflict names", () => {
  it.each<[string, string, string[], string]>([
    ["the stamp goes before the extension", "docs/report.pdf", [], `docs/report.conflict-${STAMP}-remote.pdf`],
    ["a name without an extension gets the stamp at the end", "Makefile", [], `Makefile.conflict-${STAMP}-remote`],
    ["a leading-dot file has no extension", ".bashrc", [], `.bashrc.conflict-${STAMP}-remote`],
    ["only the last extension is kept after the stamp", "a.tar.gz", [], `a.tar.conflict-${STAMP}-remote.gz`],
    ["a dot in a folder name is not an extension", "v1.2/notes", [], `v1.2/notes.conflict-${STAMP}-remote`],
    ["a taken name gets -2", "a.txt", [`a.conflict-${STAMP}-remote.txt`], `a.conflict-${STAMP}-remote-2.txt`],
    ["a taken -2 gets -3", "a.txt", [`a.conflict-${STAMP}-remote.txt`, `a.conflict-${STAMP}-remote-2.txt`], `a.conflict-${STAMP}-remote-3.txt`],
  ])("%s", (_name, path, taken, expected) => {
    expect(conflictName(path, STAMP, (p) => taken.includes(p))).toBe(expected);
  });

  it.each<[string, "local" | "remote"]>([
    ["a conflict name already used on local is skipped", "local"],
    ["a conflict name already used on remote is skipped", "remote"],
  ])("%s", (_name, where) => {
    const existing = `docs/r.conflict-${STAMP}-remote.pdf`;
    const plan = run({
      local: [file("docs/r.pdf", 20, T + 100_000), ...(where === "local" ? [file(existing)] : [])],
      remote: [rfile("docs/r.pdf", 30, UP + 200_000), ...(where === "remote" ? [rfile(existing)] : [])],
      state: [st("docs/r.pdf")],
    });
    expect(plan.find((a) => a.kind === "conflict")).toMatchObject({
      resolution: "keep-both",
      conflictName: `docs/r.conflict-${STAMP}-remote-2.pdf`,
    });
  });
});

describe("conflict resolution (both sides changed)", () => {
  const MIN = 60_000;
  it.each<[string, ConflictPolicy, LocalEntry, RemoteEntry, "keep-both" | "upload" | "download"]>([
    ["keep-both keeps both", "keep-both", file("f.txt", 20, T + 10 * MIN), rfile("f.txt", 30, UP + 20 * MIN), "keep-both"],
    ["local-wins uploads", "local-wins", file("f.txt", 20, T + 10 * MIN), rfile("f.txt", 30, UP + 20 * MIN), "upload"],
    ["remote-wins downloads", "remote-wins", file("f.txt", 20, T + 30 * MIN), rfile("f.txt", 30, UP + 20 * MIN), "download"],
    ["newer-wins uploads a newer local file", "newer-wins", file("f.txt", 20, T + 30 * MIN), rfile("f.txt", 30, T + 20 * MIN), "upload"],
    ["newer-wins downloads a newer remote file", "newer-wins", file("f.txt", 20, T + 10 * MIN), rfile("f.txt", 30, T + 20 * MIN), "download"],
    ["newer-wins keeps both when the remote has no time", "newer-wins", file("f.txt", 20, T + 10 * MIN), rfile("f.txt", 30, null), "keep-both"],
    [
      "newer-wins keeps both when the times are within the remote precision",
      "newer-wins",
      file("f.txt", 20, T + 20 * MIN + 30_000),
      rfile("f.txt", 30, T + 20 * MIN, "minute"),
      "keep-both",
    ],
  ])("%s", (_name, onConflict, l, r, resolution) => {
    const plan = run({ local: [l], remote: [r], state: [st("f.txt")], onConflict });
    expect(plan).toHaveLength(1);
    expect(plan[0]).toMatchObject({ kind: "conflict", resolution, local: l, remote: r });
    expect(plan[0].kind === "conflict" && plan[0].conflictName !== undefined).toBe(resolution === "keep-both");
  });

  it("keep-both names the remote copy after `now` in UTC", () => {
    const plan = run({ local: [file("docs/report.pdf", 20, T + 1)], remote: [rfile("docs/report.pdf", 30, UP + 1)], state: [st("docs/report.pdf")] });
    expect(plan.find((a) => a.kind === "conflict")).toMatchObject({ conflictName: `docs/report.conflict-${STAMP}-remote.pdf` });
  });
});

describe("type mismatches", () => {
  it.each<[string, Direction, ConflictPolicy]>([
    ["an upload job leaves a file-vs-folder path to the user", "upload", "keep-both"],
    ["a download job leaves a file-vs-folder path to the user", "download", "keep-both"],
    ["a two-way job with keep-both leaves it to the user", "two-way", "keep-both"],
    ["a two-way job with local-wins leaves it to the user", "two-way", "local-wins"],
    ["a two-way job with remote-wins leaves it to the user", "two-way", "remote-wins"],
    ["a two-way job with newer-wins leaves it to the user", "two-way", "newer-wins"],
  ])("%s", (_name, direction, onConflict) => {
    const plan = run({
      local: [file("x")],
      remote: [rdir("x"), rfile("x/inner.txt")],
      state: [st("x")],
      direction,
      del: "mirror",
      onConflict,
    });
    // not a conflict the runner would have to carry out: a path for the user, nothing else
    expect(summary(plan)).toEqual(["needs-user x"]);
    expect(plan[0].reason).toMatch(/type mismatch: file on local, folder on remote; rename or remove one/);
  });

  it.each<[string, Direction]>([
    ["a folder on local and a file on remote deletes nothing in an upload mirror", "upload"],
    ["a folder on local and a file on remote deletes nothing in a download mirror", "download"],
    ["a folder on local and a file on remote deletes nothing in a two-way mirror", "two-way"],
  ])("%s", (_name, direction) => {
    const plan = run({ local: [dir("x"), file("x/a.txt")], remote: [rfile("x")], state: [st("x/a.txt")], direction, del: "mirror" });
    expect(summary(plan)).toEqual(["needs-user x"]);
  });
});

// ---- folders -------------------------------------------------------------------------------------

describe("folders", () => {
  it.each<[string, Parameters<typeof run>[0], string[]]>([
    [
      "upload creates missing remote folders, parents first, before the upload",
      { direction: "upload", local: [file("a/b/c.txt"), dir("a/b"), dir("a")] },
      ["mkdir-remote a", "mkdir-remote a/b", "upload a/b/c.txt"],
    ],
    [
      "upload creates remote folders implied by a scan that lists no folders",
      { direction: "upload", local: [file("a/b/c.txt")] },
      ["mkdir-remote a", "mkdir-remote a/b", "upload a/b/c.txt"],
    ],
    ["upload creates an empty local folder on the remote", { direction: "upload", local: [dir("empty")] }, ["mkdir-remote empty"]],
    [
      "download creates missing local folders, parents first",
      { direction: "download", remote: [rdir("a"), rdir("a/b"), rfile("a/b/c.txt")] },
      ["mkdir-local a", "mkdir-local a/b", "download a/b/c.txt"],
    ],
    [
      "two-way creates folders on whichever side lacks them",
      { direction: "two-way", local: [file("l/x.txt")], remote: [rfile("r/y.txt")] },
      ["mkdir-remote l", "mkdir-local r", "upload l/x.txt", "download r/y.txt"],
    ],
    [
      "an upload mirror deletes a remote folder tree: files first, then folders deepest first",
      { direction: "upload", del: "mirror", remote: [rdir("old"), rdir("old/sub"), rfile("old/a.txt"), rfile("old/sub/b.txt")] },
      ["delete-remote old/a.txt", "delete-remote old/sub/b.txt", "delete-remote old/sub", "delete-remote old"],
    ],
    ["an upload mirror deletes an empty remote-only folder", { direction: "upload", del: "mirror", remote: [rdir("junk")] }, ["delete-remote junk"]],
    ["delete=never keeps a remote-only folder, and reports the file it keeps", { direction: "upload", del: "never", remote: [rdir("old"), rfile("old/a.txt")], state: [st("old/a.txt")] }, ["held-delete old/a.txt"]],
    [
      "tracked deletes a folder it emptied",
      { direction: "upload", del: "tracked", remote: [rdir("old"), rfile("old/a.txt")], state: [st("old/a.txt"), sdir("old")] },
      ["delete-remote old/a.txt", "delete-remote old"],
    ],
    [
      "tracked keeps a folder that still holds a file someone else put there",
      { direction: "upload", del: "tracked", remote: [rdir("old"), rfile("old/a.txt"), rfile("old/theirs.txt")], state: [st("old/a.txt")] },
      ["delete-remote old/a.txt"],
    ],
    ["tracked keeps an empty folder it did not place", { direction: "upload", del: "tracked", remote: [rdir("theirs")], state: [sdir("theirs", { placedRemote: false })] }, []],
    ["tracked deletes an empty folder it placed", { direction: "upload", del: "tracked", remote: [rdir("ours")], state: [sdir("ours")] }, ["delete-remote ours"]],
    [
      "a download mirror deletes a local-only folder tree",
      { direction: "download", del: "mirror", local: [dir("old"), file("old/a.txt")] },
      ["delete-local old/a.txt", "delete-local old"],
    ],
    [
      "two-way propagates a remote folder deletion to local",
      { direction: "two-way", del: "tracked", local: [dir("d"), file("d/x.txt")], state: [sdir("d"), st("d/x.txt")] },
      ["delete-local d/x.txt", "delete-local d"],
    ],
    [
      "two-way propagates a remote folder deletion even when state has no folder rows",
      { direction: "two-way", del: "tracked", local: [dir("d"), file("d/x.txt")], state: [st("d/x.txt")] },
      ["delete-local d/x.txt", "delete-local d"],
    ],
    [
      "two-way keeps a remotely deleted folder that gained a new local file, and recreates it",
      { direction: "two-way", del: "tracked", local: [dir("d"), file("d/x.txt"), file("d/new.txt")], state: [sdir("d"), st("d/x.txt")] },
      ["mkdir-remote d", "upload d/new.txt", "delete-local d/x.txt"],
    ],
    [
      "two-way tracked keeps a remotely deleted folder holding only files this job did not put there, without recreating it",
      {
        direction: "two-way",
        del: "tracked",
        local: [dir("d"), file("d/mine.txt")],
        state: [sdir("d", { placedLocal: false }), st("d/mine.txt", { placedLocal: false })],
      },
      ["held-delete d", "held-delete d/mine.txt"],
    ],
    [
      "two-way tracked deletes what it placed in a remotely deleted folder and keeps the rest",
      {
        direction: "two-way",
        del: "tracked",
        local: [dir("d"), file("d/mine.txt"), file("d/theirs.txt")],
        state: [sdir("d"), st("d/mine.txt", { placedLocal: false }), st("d/theirs.txt")],
      },
      ["delete-local d/theirs.txt", "held-delete d", "held-delete d/mine.txt"],
    ],
    [
      "two-way with delete=never recreates a remotely deleted folder",
      { direction: "two-way", del: "never", local: [dir("d")], state: [sdir("d")] },
      ["mkdir-remote d"],
    ],
    [
      "two-way propagates a local folder deletion to the remote",
      { direction: "two-way", del: "mirror", remote: [rdir("d"), rfile("d/x.txt")], state: [sdir("d"), st("d/x.txt")] },
      ["delete-remote d/x.txt", "delete-remote d"],
    ],
    ["a folder on both sides needs nothing", { direction: "two-way", local: [dir("d")], remote: [rdir("d")], state: [sdir("d")] }, []],
    ["a folder gone from both sides is forgotten", { direction: "two-way", state: [sdir("d")] }, ["forget d"]],
  ])("%s", (_name, opts, expected) => {
    expect(summary(run(opts))).toEqual(expected);
  });
});

// ---- failed listings ----------------------------------------------------------------------------

describe("paths below a folder whose remote listing failed", () => {
  const failed = { remote: [rdir("sub"), rfile("top.txt")], complete: false, failedDirs: ["sub"] };
  it.each<[string, Parameters<typeof run>[0], string[]]>([
    [
      "are not re-uploaded as if missing",
      { ...failed, direction: "upload", del: "never", local: [file("top.txt"), dir("sub"), file("sub/a.txt")], state: [st("top.txt"), st("sub/a.txt")] },
      [],
    ],
    [
      "are not deleted locally in two-way",
      { ...failed, direction: "two-way", del: "mirror", local: [file("top.txt"), dir("sub"), file("sub/a.txt")], state: [st("top.txt"), st("sub/a.txt")] },
      [],
    ],
    [
      "are not forgotten when missing locally",
      { ...failed, direction: "two-way", del: "mirror", local: [file("top.txt"), dir("sub")], state: [st("top.txt"), st("sub/gone.txt")] },
      [],
    ],
    [
      "keep the failed folder itself from being deleted",
      { ...failed, direction: "upload", del: "mirror", local: [file("top.txt")], state: [st("top.txt")] },
      [],
    ],
    [
      "leave the rest of the plan alone",
      { ...failed, direction: "upload", del: "never", local: [file("top.txt", 20, T + 1), dir("sub"), file("new.txt")], state: [st("top.txt")] },
      ["upload new.txt", "upload top.txt"],
    ],
    [
      "a failed root listing leaves nothing to do",
      { direction: "two-way", del: "mirror", complete: false, failedDirs: [""], local: [file("a.txt")], state: [st("a.txt")] },
      [],
    ],
  ])("%s", (_name, opts, expected) => {
    expect(summary(run(opts))).toEqual(expected);
  });
});

// ---- order and purity ---------------------------------------------------------------------------

describe("plan order", () => {
  it("lists mkdirs, then transfers, conflicts, compares and adopts, then file deletes, then folder deletes deepest first, then forgets", () => {
    const plan = run({
      direction: "two-way",
      del: "tracked",
      local: [file("new/n.txt"), file("both.txt", 20, T + 1), file("same.txt"), dir("gone"), dir("gone/deep"), file("gone/deep/g.txt")],
      remote: [rfile("both.txt", 30, UP + 1), rfile("same.txt", 10, T), rfile("z-remote.txt")],
      state: [st("both.txt"), st("gone/deep/g.txt"), sdir("gone"), sdir("gone/deep"), st("vanished.txt")],
    });
    expect(plan.map((a) => `${a.kind} ${a.path}`)).toEqual([
      "mkdir-remote new",
      "conflict both.txt",
      "upload new/n.txt",
      "compare same.txt",
      "download z-remote.txt",
      "delete-local gone/deep/g.txt",
      "delete-local gone/deep",
      "delete-local gone",
      "forget vanished.txt",
    ]);
  });

  it("gives every action a human-readable reason", () => {
    const plan = run({ direction: "two-way", del: "mirror", local: [file("a/b.txt")], remote: [rfile("c.txt")], state: [st("d.txt")] });
    for (const action of plan) expect(action.reason.length).toBeGreaterThan(5);
  });

  it("returns the same plan for the same input and does not modify its inputs", () => {
    const local = new Map([["a.txt", file("a.txt")]]);
    const remote = { entries: new Map([["b.txt", rfile("b.txt")]]), complete: true, failedDirs: [] };
    const state = new Map([["c.txt", st("c.txt")]]);
    const input = { local, remote, state, policy: { direction: "two-way", delete: "mirror", onConflict: "keep-both" } as DiffPolicy, now: NOW };
    const first = diff(input);
    expect(diff(input)).toEqual(first);
    expect([...local.keys()]).toEqual(["a.txt"]);
    expect([...remote.entries.keys()]).toEqual(["b.txt"]);
    expect([...state.keys()]).toEqual(["c.txt"]);
  });
});
