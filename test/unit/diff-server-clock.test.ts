// The diff on a server in local time (remoteClockMs: how far ahead of UTC its listed times are):
// where a remote time meets this machine's clock (newer-wins, the first sync's same-time match),
// the offset is taken off; remote times compared with the server's own earlier ones stay as listed.
import { describe, expect, it } from "vitest";
import { diff } from "../../src/plan/diff.js";
import type { Action, LocalEntry, RemoteEntry, StateEntry } from "../../src/plan/types.js";

const H = 3_600_000;
const NOW = new Date(Date.UTC(2026, 11, 5, 20, 0, 0));
const now = NOW.getTime();
const SYNCED = now - 24 * H;

const local = (mtimeMs: number, size = 20): LocalEntry => ({ path: "f.txt", type: "file", size, mtimeMs });
const remote = (modifyMs: number, size = 30): RemoteEntry => ({ path: "f.txt", type: "file", size, modifyMs, precision: "second" });
const synced: StateEntry = {
  path: "f.txt", type: "file", localSize: 10, localMtimeMs: SYNCED, remoteSize: 10, remoteModifyMs: SYNCED, remotePrecision: "second", placedRemote: true, placedLocal: false,
};

function plan(l: LocalEntry, r: RemoteEntry, opts: { state?: StateEntry; remoteClockMs?: number; direction?: "two-way" | "upload" }): Action[] {
  return diff({
    local: new Map([[l.path, l]]),
    remote: { entries: new Map([[r.path, r]]), complete: true, failedDirs: [] },
    state: new Map(opts.state ? [[opts.state.path, opts.state]] : []),
    policy: { direction: opts.direction ?? "two-way", delete: "tracked", onConflict: "newer-wins" },
    now: NOW,
    ...(opts.remoteClockMs !== undefined ? { remoteClockMs: opts.remoteClockMs } : {}),
  });
}

describe("newer-wins against a server in local time", () => {
  it("5 hours east: a partner's edit 6 hours ago (listed 1 hour ago) loses to a local edit 3 hours ago", () => {
    const p = plan(local(now - 3 * H), remote(now - 6 * H + 5 * H), { state: synced, remoteClockMs: 5 * H });
    expect(p[0]).toMatchObject({ kind: "conflict", resolution: "upload" });
  });

  it("5 hours west: a partner's edit an hour ago (listed 6 hours ago) wins over a local edit 3 hours ago", () => {
    const p = plan(local(now - 3 * H), remote(now - H - 5 * H), { state: synced, remoteClockMs: -5 * H });
    expect(p[0]).toMatchObject({ kind: "conflict", resolution: "download" });
  });

  it("a listed time ahead only by the server's zone is no time in the future", () => {
    const p = plan(local(now - 3 * H), remote(now - H + 5 * H), { state: synced, remoteClockMs: 5 * H });
    expect(p[0]).toMatchObject({ kind: "conflict", resolution: "download" });
  });

  it("without a known offset, times are taken as listed (as before)", () => {
    const p = plan(local(now - 3 * H), remote(now - 6 * H + 5 * H), { state: synced });
    expect(p[0]).toMatchObject({ kind: "conflict", resolution: "download" });
  });
});

describe("the first sync of a one-way job against a server in local time", () => {
  it("a file of the same size whose listed time is its local time plus the server's offset is the same file", () => {
    const at = now - 2 * H;
    expect(plan(local(at, 10), remote(at + 5 * H, 10), { direction: "upload", remoteClockMs: 5 * H }).map((a) => a.kind)).toEqual(["adopt"]);
    expect(plan(local(at, 10), remote(at + 5 * H, 10), { direction: "upload" }).map((a) => a.kind)).toEqual(["upload"]);
  });
});
