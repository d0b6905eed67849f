import { describe, expect, it } from "vitest";
import { formatSettledMemo, parseSettledMemo, remoteSideDigest } from "../../src/plan/settled-run.js";
import { scanFingerprint } from "../../src/plan/trusted-remote.js";
import type { LocalEntry, RemoteEntry } from "../../src/plan/types.js";
import { prng as rng } from "../helpers/prng.js";

/** Both sides of a random tree, in step: the local scan sorted by path (as the scan gives it). */
function sides(seed: number): { local: Map<string, LocalEntry>; remote: Map<string, RemoteEntry> } {
  const r = rng(seed);
  const paths = new Set<string>();
  for (let i = 0; i < 50 + Math.floor(r() * 100); i++) paths.add(`d${Math.floor(r() * 8)}/f${Math.floor(r() * 1000)}.bin`);
  const local = new Map<string, LocalEntry>();
  const remote = new Map<string, RemoteEntry>();
  for (const path of [...paths].sort()) {
    const size = Math.floor(r() * 5000);
    const mtimeMs = 1_700_000_000_000 + Math.floor(r() * 1e10);
    local.set(path, { path, type: "file", size, mtimeMs });
    remote.set(path, { path, type: "file", size, modifyMs: Math.floor(mtimeMs / 60_000) * 60_000, precision: "minute" });
  }
  return { local, remote };
}

const settings = { direction: "upload", delete: "never", include: ["**/*"] };

describe("settled-run memo", () => {
  it("parses what it formats, and is never a trusted run's scan fingerprint", () => {
    const { local, remote } = sides(1);
    const memo = { local: scanFingerprint(local), remote: remoteSideDigest(local, remote, settings) };
    expect(parseSettledMemo(formatSettledMemo(memo))).toEqual(memo);
    expect(parseSettledMemo(scanFingerprint(local))).toBeUndefined();
    expect(formatSettledMemo(memo)).not.toBe(scanFingerprint(local));
  });

  it("gives the same remote digest whatever order the listing arrived in", () => {
    for (const seed of [2, 3, 4]) {
      const { local, remote } = sides(seed);
      remote.set("zz-only-remote.txt", { path: "zz-only-remote.txt", type: "file", size: 1, precision: "none" });
      remote.set("aa-only-remote.txt", { path: "aa-only-remote.txt", type: "file", size: 2, precision: "none" });
      const shuffled = new Map([...remote].sort(() => rng(seed)() - 0.5).reverse());
      expect([...shuffled.keys()]).not.toEqual([...remote.keys()]);
      expect(remoteSideDigest(local, shuffled, settings)).toBe(remoteSideDigest(local, remote, settings));
    }
  });

  it("differs for any difference of the remote side a diff could see, and for other settings", () => {
    const { local, remote } = sides(5);
    const base = remoteSideDigest(local, remote, settings);
    const [path, entry] = [...remote][7];
    const variants: Record<string, RemoteEntry> = {
      size: { ...entry, size: entry.size + 1 },
      time: { ...entry, modifyMs: entry.modifyMs! + 60_000 },
      "no time": { ...entry, modifyMs: undefined },
      precision: { ...entry, precision: "second" },
      type: { ...entry, type: "dir" },
      spelling: { ...entry, serverPath: path.normalize("NFD") + "x" },
    };
    for (const [what, changed] of Object.entries(variants)) {
      expect(remoteSideDigest(local, new Map(remote).set(path, changed), settings), what).not.toBe(base);
    }
    const fewer = new Map(remote);
    fewer.delete(path);
    expect(remoteSideDigest(local, fewer, settings), "missing").not.toBe(base);
    const more = new Map(remote).set("extra.bin", { path: "extra.bin", type: "file", size: 0, precision: "none" });
    expect(remoteSideDigest(local, more, settings), "extra").not.toBe(base);
    expect(remoteSideDigest(local, remote, { ...settings, delete: "mirror" }), "settings").not.toBe(base);
  });
});
