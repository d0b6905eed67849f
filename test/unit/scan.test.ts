import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, utimesSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { scanLocal, type LocalScan, type ScanOptions } from "../../src/local/scan.js";
import { scanFingerprint } from "../../src/plan/trusted-remote.js";
import { prng } from "../helpers/prng.js";

// The worker thread runs compiled code: the suite's global setup builds dist/ before any test.
const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const WORKER = join(repo, "dist", "local", "scan-worker.js");
const work = mkdtempSync(join(tmpdir(), "ftps-sync-scan-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/**
 * A random tree under `root`: nested folders of uneven size, NFD and odd names, a name with a
 * line feed (skipped with a warning), temporary names, symlinks inside and out of the tree.
 */
function randomTree(root: string, seed: number, files: number): void {
  const r = prng(seed);
  const dirs = [""];
  mkdirSync(root, { recursive: true });
  const names = ["a.txt", "B.bin", "caf\u0065\u0301.txt", "n\u00e4me", "line\nfeed", ".hidden", "x y", "z"];
  for (let i = 0; i < files; i++) {
    const parent = dirs[Math.floor(r() * r() * dirs.length)];
    const kind = r();
    const base = `${names[Math.floor(r() * names.length)]}-${i}`;
    const rel = parent ? `${parent}/${base}` : base;
    const abs = join(root, rel);
    if (kind < 0.08) {
      mkdirSync(abs);
      dirs.push(rel);
    } else if (kind < 0.1) {
      // A link out of the tree (a small folder beside it: /etc took most of this file's time), or within it.
      symlinkSync(r() < 0.5 ? outsideFolder() : join(root, dirs[Math.floor(r() * dirs.length)] || "."), abs);
    } else if (kind < 0.11) {
      writeFileSync(join(root, parent, `.${base}.ftps-sync-tmp-1a2b3c`), "temp");
    } else {
      writeFileSync(abs, Buffer.alloc(Math.floor(r() * 300)));
      utimesSync(abs, 1_700_000_000 + Math.floor(r() * 1e7), 1_700_000_000 + Math.floor(r() * 1e7));
    }
  }
}

/** A folder outside every random tree, with a few files and a subfolder, for links that leave the tree. */
function outsideFolder(): string {
  const dir = join(work, "outside");
  if (existsSync(dir)) return dir;
  mkdirSync(join(dir, "sub"), { recursive: true });
  for (let i = 0; i < 20; i++) writeFileSync(join(dir, i % 2 ? "sub" : "", `f${i}`), `outside ${i}`);
  return dir;
}

/** 300 folders of 40 files, all under only/one/ (made once). */
function manyFolders(): string {
  const root = join(work, "deep");
  if (existsSync(root)) return root;
  for (let d = 0; d < 300; d++) {
    const dir = join(root, "only", "one", `d${d}`);
    mkdirSync(dir, { recursive: true });
    for (let f = 0; f < 40; f++) writeFileSync(join(dir, `f${f}`), String(d * f));
  }
  return root;
}

async function both(root: string, opts: Omit<ScanOptions, "parallel" | "logger">, workerFile = WORKER, waitForWorker = true) {
  const warned = { one: [] as string[], two: [] as string[] };
  const one = await scanLocal(root, { ...opts, logger: { warn: (m) => warned.one.push(m) } });
  const two = await scanLocal(root, { ...opts, parallel: true, logger: { warn: (m) => warned.two.push(m) } }, { workerFile, waitForWorker });
  return { one, two, warned };
}

function expectSame(a: LocalScan, b: LocalScan): void {
  // Same entries in the same order: the fingerprint of unchanged trusted runs depends on it.
  expect([...b.entries.entries()]).toEqual([...a.entries.entries()]);
  expect(b.failedDirs).toEqual(a.failedDirs);
  expect(scanFingerprint(b.entries)).toBe(scanFingerprint(a.entries));
}

describe("scanLocal following symlinks", () => {
  it("does not follow a symlink back into a folder it is inside of (it used to walk that loop without end)", async () => {
    const root = join(work, "loop");
    mkdirSync(join(root, "a", "b"), { recursive: true });
    mkdirSync(join(root, "c"));
    symlinkSync(root, join(root, "a", "b", "up"));
    symlinkSync(join(root, "a"), join(root, "c", "toa"));
    const warned: string[] = [];
    const scan = await scanLocal(root, { filter: { include: [], exclude: [], skip: [] }, followSymlinks: true, logger: { warn: (m) => warned.push(m) } });
    // c/toa is a second way into a/ (followed, as asked); the links back up are not.
    expect([...scan.entries.keys()]).toEqual(["a", "c", "a/b", "c/toa", "c/toa/b"]);
    expect(warned).toEqual([
      `skipped symlink ${join(root, "a", "b", "up")}: it points to a folder it is inside of (a loop)`,
      `skipped symlink ${join(root, "c", "toa", "b", "up")}: it points to a folder it is inside of (a loop)`,
    ]);
  });
});

describe("scanLocal split over two threads", () => {
  it("finds what one thread finds, in the same order, over random trees and filters", async () => {
    const filters = [
      { include: [], exclude: [], skip: [] },
      { include: [], exclude: ["**/*.bin", ".hidden*"], skip: ["z-3"] },
      { include: ["**/a.txt*", "**/n\u00e4me*"], exclude: [], skip: [] },
    ];
    let workerWalked = 0;
    for (let seed = 1; seed <= 4; seed++) {
      const root = join(work, `tree-${seed}`);
      randomTree(root, seed, 300 + seed * 80);
      for (const filter of filters) {
        for (const followSymlinks of [false, true]) {
          const { one, two, warned } = await both(root, { filter, followSymlinks });
          expectSame(one, two);
          expect([...warned.two].sort()).toEqual([...warned.one].sort());
          workerWalked += two.walkedByWorker ?? 0;
        }
      }
      expect((await scanLocal(root, { filter: filters[0], followSymlinks: false })).entries.size).toBeGreaterThan(100);
    }
    // The worker took part (it claims folders as soon as it runs, beside this thread).
    expect(workerWalked).toBeGreaterThan(0);
  });

  it("splits a tree that sits under one folder below that folder, and shares out many folders", async () => {
    const root = manyFolders();
    const { one, two } = await both(root, { filter: { include: [], exclude: [], skip: [] }, followSymlinks: false });
    expectSame(one, two);
    expect(two.entries.size).toBe(2 + 300 * 41);
    expect(two.walkedByWorker).toBeGreaterThan(0);
    // As in a run, without waiting for the worker to start: the same result, whoever walked what.
    const { one: again, two: unsynced } = await both(root, { filter: { include: [], exclude: [], skip: [] }, followSymlinks: false }, WORKER, false);
    expectSame(again, unsynced);
  });

  it("works with the worker file of the bundled CLI (dist/bin), as runs use it", async () => {
    const root = manyFolders();
    const { one, two } = await both(root, { filter: { include: [], exclude: [], skip: [] }, followSymlinks: false }, join(repo, "dist", "bin", "scan-worker.js"));
    expectSame(one, two);
    expect(two.walkedByWorker).toBeGreaterThan(0);
  });

  it("walks the worker's share itself when the worker fails", async () => {
    const root = join(work, "tree-1");
    const broken = join(work, "broken-worker.mjs");
    writeFileSync(broken, "throw new Error('worker failed on purpose');\n");
    const { one, two } = await both(root, { filter: { include: [], exclude: [], skip: [] }, followSymlinks: false }, broken);
    expectSame(one, two);
    expect(two.walkedByWorker).toBe(0);
  });
});
