import { closeSync, existsSync, mkdirSync, readFileSync, readSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { JobFolder, UnsafeLocalPath, checkJobRoot, readStreamOf } from "../../src/local/safe-open.js";
import { scanLocal } from "../../src/local/scan.js";
import { testTempDir } from "../helpers/temp-dir.js";

/** A job folder and, beside it, an "outside" folder holding a secret. */
function setup(): { root: string; outside: string; secret: string } {
  const base = testTempDir("safe-open");
  const root = join(base, "job");
  const outside = join(base, "outside");
  mkdirSync(root);
  mkdirSync(outside);
  const secret = join(outside, "secret.key");
  writeFileSync(secret, "PRIVATE KEY");
  return { root, outside, secret };
}

function readAll(fd: number): string {
  const buf = Buffer.alloc(256);
  const n = readSync(fd, buf, 0, buf.length, 0);
  closeSync(fd);
  return buf.subarray(0, n).toString();
}

const noFollow = { followSymlinks: false, followRootSymlink: false };
const follow = { followSymlinks: true, followRootSymlink: false };

// Both ways of walking: by descriptor through /proc (Linux), and the path-and-lstat fallback.
describe.each([
  ["through /proc/self/fd", true],
  ["by paths checked with lstat (no /proc)", false],
])("JobFolder %s", (_how, proc) => {
  it("reads a file, and refuses it once it was swapped for a symlink to a file outside", () => {
    const { root, secret } = setup();
    writeFileSync(join(root, "a.txt"), "mine");
    const folder = new JobFolder(root, noFollow, proc);
    expect(readAll(folder.openFileForRead("a.txt").fd)).toBe("mine");

    // Between the scan and the upload, a.txt becomes a link to the key.
    renameSync(join(root, "a.txt"), join(root, "a.old"));
    symlinkSync(secret, join(root, "a.txt"));
    expect(() => folder.openFileForRead("a.txt")).toThrow(UnsafeLocalPath);
    // With followSymlinks too: the link leads out of the job folder.
    expect(() => new JobFolder(root, follow, proc).openFileForRead("a.txt")).toThrow(/leads out of the job folder/);
  });

  it("refuses to read through a parent folder swapped for a symlink to a folder outside", () => {
    const { root, outside } = setup();
    mkdirSync(join(root, "sub"));
    writeFileSync(join(root, "sub", "c.txt"), "mine");
    writeFileSync(join(outside, "c.txt"), "PASSWORDS");
    const folder = new JobFolder(root, noFollow, proc);
    expect(readAll(folder.openFileForRead("sub/c.txt").fd)).toBe("mine");

    renameSync(join(root, "sub"), join(root, "sub.old"));
    symlinkSync(outside, join(root, "sub"));
    expect(() => folder.openFileForRead("sub/c.txt")).toThrow(/sub is a symbolic link; not followed/);
    expect(() => new JobFolder(root, follow, proc).openFileForRead("sub/c.txt")).toThrow(/leads out of the job folder/);
  });

  it("with followSymlinks follows links that stay inside the job folder, files and folders", () => {
    const { root } = setup();
    mkdirSync(join(root, "real"));
    writeFileSync(join(root, "real", "f.txt"), "inside");
    symlinkSync(join(root, "real"), join(root, "in"));
    symlinkSync("real/f.txt", join(root, "lf"));
    const folder = new JobFolder(root, follow, proc);
    expect(readAll(folder.openFileForRead("in/f.txt").fd)).toBe("inside");
    expect(readAll(folder.openFileForRead("lf").fd)).toBe("inside");
    const dir = folder.openDir("in", { create: true });
    try {
      expect(dir.rel).toBe("real");
      writeFileSync(dir.at("new.txt"), "x");
    } finally {
      dir.close();
    }
    expect(readFileSync(join(root, "real", "new.txt"), "utf8")).toBe("x");
    // Without followSymlinks the same links are refused.
    expect(() => new JobFolder(root, noFollow, proc).openFileForRead("in/f.txt")).toThrow(UnsafeLocalPath);
    expect(() => new JobFolder(root, noFollow, proc).openFileForRead("lf")).toThrow(UnsafeLocalPath);
  });

  it("creates missing folders inside the job folder, and never through a symlinked folder", () => {
    const { root, outside } = setup();
    const folder = new JobFolder(root, noFollow, proc);
    folder.openDir("a/b/c", { create: true }).close();
    expect(existsSync(join(root, "a", "b", "c"))).toBe(true);

    symlinkSync(outside, join(root, "x"));
    expect(() => folder.openDir("x/y", { create: true })).toThrow(UnsafeLocalPath);
    expect(() => new JobFolder(root, follow, proc).openDir("x/y", { create: true })).toThrow(/leads out of the job folder/);
    expect(existsSync(join(outside, "y"))).toBe(false);
  });

  it("refuses a path that climbs out of the job folder", () => {
    const { root } = setup();
    const folder = new JobFolder(root, noFollow, proc);
    expect(() => folder.openDir("../outside")).toThrow(/outside the job folder/);
    expect(() => folder.openFileForRead("a/../../outside/secret.key")).toThrow(/outside the job folder/);
  });

  it("notices a folder it holds open that was moved out of the job folder, a symlink left in its place", () => {
    const { root, outside } = setup();
    mkdirSync(join(root, "sub"));
    const folder = new JobFolder(root, noFollow, proc);
    const dir = folder.openDir("sub");
    try {
      dir.checkStillInside(); // nothing changed yet
      renameSync(join(root, "sub"), join(outside, "moved"));
      symlinkSync(join(outside, "moved"), join(root, "sub"));
      expect(() => dir.checkStillInside()).toThrow(UnsafeLocalPath);
    } finally {
      dir.close();
    }
  });

  it("refuses a job root that is a symlink unless the job sets followRootSymlink", () => {
    const { root } = setup();
    writeFileSync(join(root, "a.txt"), "mine");
    const link = root + "-link";
    symlinkSync(root, link);
    expect(() => new JobFolder(link, noFollow, proc).openFileForRead("a.txt")).toThrow(/is a symbolic link; set "followRootSymlink": true/);
    expect(readAll(new JobFolder(link, { followSymlinks: false, followRootSymlink: true }, proc).openFileForRead("a.txt").fd)).toBe("mine");
  });
});

describe("the job root check", () => {
  it("refuses to scan a job root that is a symlink unless followRootSymlink", async () => {
    const { root } = setup();
    writeFileSync(join(root, "a.txt"), "mine");
    const link = root + "-link";
    symlinkSync(root, link);
    const filter = { include: [], exclude: [], skip: [] };
    expect(() => checkJobRoot(link, false)).toThrow(UnsafeLocalPath);
    expect(() => checkJobRoot(root, false)).not.toThrow();
    await expect(scanLocal(link, { filter, followSymlinks: false })).rejects.toThrow(/followRootSymlink/);
    const scan = await scanLocal(link, { filter, followSymlinks: false, followRootSymlink: true });
    expect([...scan.entries.keys()]).toEqual(["a.txt"]);
  });
});

describe("readStreamOf", () => {
  it("reads the given range of a descriptor and leaves it open when destroyed, for a retry to read again", async () => {
    const { root } = setup();
    writeFileSync(join(root, "f.txt"), "0123456789");
    const { fd } = new JobFolder(root, noFollow).openFileForRead("f.txt");
    const chunks: Buffer[] = [];
    for await (const c of readStreamOf(fd, { start: 2, end: 5 })) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe("2345");
    const cut = readStreamOf(fd, { start: 0 });
    cut.destroy();
    await new Promise<void>((r) => cut.once("close", () => r()));
    expect(readAll(fd)).toBe("0123456789"); // still open (readAll closes it)
  });
});
