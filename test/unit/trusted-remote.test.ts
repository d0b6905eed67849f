import { describe, expect, it } from "vitest";
import type { DeletePolicy } from "../../src/config/types.js";
import { diff } from "../../src/plan/diff.js";
import { localMatchesState, remoteFromState, scanFingerprint } from "../../src/plan/trusted-remote.js";
import type { LocalEntry, StateEntry, TimePrecision } from "../../src/plan/types.js";
import { prng as rng } from "../helpers/prng.js";


const PRECISIONS: TimePrecision[] = ["ms", "second", "minute", "day", "none", "pending"];

/** State rows of a random tree: folders (some nested), files in them, every remote precision. */
function randomState(seed: number, withPending = false): Map<string, StateEntry> {
  const r = rng(seed);
  const precisions = withPending ? PRECISIONS : PRECISIONS.filter((p) => p !== "pending");
  const state = new Map<string, StateEntry>();
  const dirs = [""];
  const n = 20 + Math.floor(r() * 200);
  for (let i = 0; i < n; i++) {
    const parent = dirs[Math.floor(r() * dirs.length)];
    const path = (parent ? parent + "/" : "") + (r() < 0.15 ? `dir${i}` : `file${i}.bin`);
    const isDir = path.split("/").at(-1)!.startsWith("dir");
    if (isDir) dirs.push(path);
    const mtime = 1_700_000_000_000 + Math.floor(r() * 1e10);
    const precision = precisions[Math.floor(r() * precisions.length)];
    state.set(path, {
      path,
      type: isDir ? "dir" : "file",
      localSize: isDir ? 0 : Math.floor(r() * 5000),
      localMtimeMs: mtime,
      remoteSize: 0,
      remoteModifyMs: precision === "none" || precision === "pending" ? undefined : mtime + Math.floor(r() * 5000),
      remotePrecision: isDir ? "minute" : precision,
      placedRemote: r() < 0.8,
      placedLocal: false,
    });
  }
  for (const s of state.values()) s.remoteSize = s.localSize;
  return state;
}

/** The local tree the state describes (folder mtimes move on their own: they never count). */
function localFrom(state: Map<string, StateEntry>, seed: number): Map<string, LocalEntry> {
  const r = rng(seed + 1);
  const local = new Map<string, LocalEntry>();
  for (const s of state.values()) {
    local.set(s.path, { path: s.path, type: s.type, size: s.localSize, mtimeMs: s.type === "dir" ? Math.floor(r() * 1e12) : s.localMtimeMs });
  }
  return local;
}

const planOf = (local: Map<string, LocalEntry>, state: Map<string, StateEntry>, del: DeletePolicy) =>
  diff({ local, remote: remoteFromState(state), state, policy: { direction: "upload", delete: del, onConflict: "keep-both" }, now: new Date() });

describe("trusted upload runs: a local tree that matches the state", () => {
  it("is recognised exactly when the diff it lets us skip is empty (300 random trees, every delete policy)", () => {
    const seen = { match: 0, noMatch: 0 };
    for (let seed = 1; seed <= 300; seed++) {
      const full = randomState(seed);
      const local = localFrom(full, seed);
      const state = new Map(full);
      // Folders often have no row of their own; an empty folder without one is new (mkdir).
      const r = rng(seed + 2);
      for (const s of full.values()) if (s.type === "dir" && r() < 0.5) state.delete(s.path);
      const match = localMatchesState(local, state);
      seen[match ? "match" : "noMatch"]++;
      for (const del of ["never", "tracked", "mirror"] as const) {
        const plan = planOf(local, state, del);
        if (match) expect(plan, `seed ${seed}, delete ${del}`).toEqual([]);
        else expect(plan.map((a) => a.kind), `seed ${seed}, delete ${del}`).toContain("mkdir-remote");
      }
    }
    // Both branches were exercised.
    expect(seen.match).toBeGreaterThan(50);
    expect(seen.noMatch).toBeGreaterThan(20);
  });

  it("is not recognised while a row waits for the server's time (the diff adopts it once)", () => {
    for (let seed = 1; seed <= 50; seed++) {
      const state = randomState(seed, true);
      const local = localFrom(state, seed);
      const pending = [...state.values()].filter((s) => s.type === "file" && s.remotePrecision === "pending");
      if (pending.length === 0) continue;
      expect(localMatchesState(local, state), `seed ${seed}`).toBe(false);
      expect(planOf(local, state, "mirror").map((a) => a.kind), `seed ${seed}`).toEqual(pending.map(() => "adopt"));
    }
  });

  it("is not recognised after any change the diff would act on", () => {
    for (let seed = 1; seed <= 50; seed++) {
      const state = randomState(seed);
      const files = [...state.values()].filter((s) => s.type === "file");
      const victim = files[seed % files.length];
      const changes: Record<string, (local: Map<string, LocalEntry>) => void> = {
        size: (l) => (l.get(victim.path)!.size += 1),
        mtime: (l) => (l.get(victim.path)!.mtimeMs += 1),
        type: (l) => l.set(victim.path, { path: victim.path, type: "dir", size: 0, mtimeMs: 0 }),
        removed: (l) => l.delete(victim.path),
        added: (l) => l.set("new.bin", { path: "new.bin", type: "file", size: 1, mtimeMs: 1 }),
        renamed: (l) => {
          const e = l.get(victim.path)!;
          l.delete(victim.path);
          l.set(victim.path + ".moved", { ...e, path: victim.path + ".moved" });
        },
      };
      for (const [what, change] of Object.entries(changes)) {
        const local = localFrom(state, seed);
        change(local);
        expect(localMatchesState(local, state), `seed ${seed}: ${what}`).toBe(false);
        expect(planOf(local, state, "mirror").length, `seed ${seed}: ${what}`).toBeGreaterThan(0);
      }
    }
  });

  it("takes the remote side from the state, a pending server time as no time", () => {
    const state = randomState(7, true);
    expect([...state.values()].some((s) => s.remotePrecision === "pending")).toBe(true);
    const remote = remoteFromState(state);
    expect(remote.complete).toBe(true);
    expect(remote.entries.size).toBe(state.size);
    for (const s of state.values()) {
      const e = remote.entries.get(s.path)!;
      expect(e).toMatchObject({ type: s.type, size: s.remoteSize, modifyMs: s.remoteModifyMs });
      expect(e.precision).toBe(s.remotePrecision === "pending" ? "none" : s.remotePrecision);
    }
  });
});

describe("scanFingerprint", () => {
  it("is the same for the same entries and differs for any difference a diff could see", () => {
    const state = randomState(3);
    const local = localFrom(state, 3);
    const fp = scanFingerprint(local);
    expect(scanFingerprint(new Map(local))).toBe(fp);
    const file = [...local.values()].find((e) => e.type === "file")!;
    const variants: Record<string, (e: LocalEntry) => LocalEntry> = {
      size: (e) => ({ ...e, size: e.size + 1 }),
      mtime: (e) => ({ ...e, mtimeMs: e.mtimeMs + 1 }),
      type: (e) => ({ ...e, type: "dir" }),
      diskPath: (e) => ({ ...e, diskPath: e.path.normalize("NFD") + "x" }),
    };
    for (const [what, change] of Object.entries(variants)) {
      const other = new Map(local);
      other.set(file.path, change(file));
      expect(scanFingerprint(other), what).not.toBe(fp);
    }
    const fewer = new Map(local);
    fewer.delete(file.path);
    expect(scanFingerprint(fewer)).not.toBe(fp);
    const renamed = new Map([...local].map(([p, e]) => (p === file.path ? [p + "x", { ...e, path: p + "x" }] : [p, e])));
    expect(scanFingerprint(renamed)).not.toBe(fp);
  });
});
