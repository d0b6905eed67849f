// The in-memory remote folder: a server's semantics behind the remote-folder interface, its
// listing's name checks (the FTPS listing's own code), and the faults engine tests inject.
import { createHash } from "node:crypto";
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Transform, Writable } from "node:stream";
import { afterAll, describe, expect, it } from "vitest";
import { ExitCode, RemoteError } from "../../src/errors.js";
import { tempNameFor } from "../../src/local/temp-names.js";
import type { Logger } from "../../src/log.js";
import { injectedError, MemoryFolder, type MemoryFolderOptions } from "../../src/remote/memory-folder.js";
import { twinWarning } from "../../src/plan/names.js";
import { isNotThere, RemoteRootMissing, type ListTreeOptions } from "../../src/remote/remote-folder.js";
import { RenameRefused } from "../../src/remote/rename-refused.js";
import { UNSAFE_NAMES } from "../helpers/unsafe-names.js";

const work = mkdtempSync(join(tmpdir(), "ftps-sync-memory-folder-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const RETRY = { attempts: 3, initialDelayMs: 1, maxDelayMs: 2 };
const T0 = Date.UTC(2026, 5, 1, 12, 30, 45, 678);

function folder(opts: MemoryFolderOptions = {}) {
  let now = T0;
  const f = new MemoryFolder({ clock: () => now, ...opts });
  return { f, setNow: (ms: number) => (now = ms) };
}

function logger() {
  const warned: string[] = [];
  const debugged: string[] = [];
  const log = { warn: (m: string) => void warned.push(m), debug: (m: string) => void debugged.push(m), info: () => undefined } as unknown as Logger;
  return { log, warned, debugged };
}

const listOpts = (extra: Partial<ListTreeOptions> = {}): ListTreeOptions => ({ accept: () => true, retry: RETRY, ...extra });

/** A sink that keeps what it is given; `onWrite` may fail a write or hold it. */
function collect(onWrite?: (chunk: Buffer, total: number) => Error | undefined | Promise<void>, highWaterMark?: number) {
  const chunks: Buffer[] = [];
  let total = 0;
  const sink = new Writable({
    highWaterMark,
    write(chunk: Buffer, _enc, done) {
      const r = onWrite?.(chunk, total);
      if (r instanceof Error) return done(r);
      const keep = () => {
        chunks.push(chunk);
        total += chunk.length;
        done();
      };
      if (r instanceof Promise) r.then(keep, done);
      else keep();
    },
  });
  return { sink, bytes: () => Buffer.concat(chunks), received: () => total };
}

async function rejection(p: Promise<unknown>): Promise<RemoteError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(Error);
  return err as RemoteError;
}

describe("seeding and inspecting", () => {
  it("put makes the folders a file needs, read gives its bytes, tree shows everything below a folder", () => {
    const { f } = folder();
    f.put("/job/a.txt", "hello");
    f.put("/job/sub/b.bin", Buffer.from([0, 1, 2]));
    f.putDir("/job/empty");
    expect(f.read("/job/a.txt")!.toString()).toBe("hello");
    expect(f.read("/job/sub")).toBeUndefined();
    expect(f.read("/job/missing")).toBeUndefined();
    expect(f.tree("/job")).toEqual({ "a.txt": "hello", empty: null, sub: null, "sub/b.bin": "\0\x01\x02" });
    expect(f.tree()).toEqual(expect.objectContaining({ job: null, "job/a.txt": "hello" }));
  });

  it("put keeps the time it is given, and the server's clock otherwise", () => {
    const { f } = folder();
    f.put("/a", "x", 1_000);
    f.put("/b", "y");
    expect(f.info("/a")).toEqual({ type: "file", size: 1, mtime: 1_000 });
    expect(f.info("/b")!.mtime).toBe(T0);
    expect(f.info("/nothing")).toBeUndefined();
  });
});

describe("open and capabilities", () => {
  it("tells its capabilities once open, with what was configured", async () => {
    const { f } = folder({ capabilities: { mfmt: false, hash: ["MD5"] } });
    expect(f.capabilities).toBeUndefined();
    const info = await f.open();
    expect(info.capabilities).toEqual(f.capabilities);
    expect(f.capabilities).toMatchObject({ mlsd: true, mfmt: false, mdtm: true, size: true, restStream: true, hash: ["MD5"] });
    expect(f.capabilities!.features).toMatchObject({ MLST: expect.any(String), HASH: "MD5" });
    expect(f.capabilities!.features.MFMT).toBeUndefined();
  });

  it("a LIST-only precision means no MLSD unless told otherwise", async () => {
    const { f } = folder({ precision: "list" });
    expect((await f.open()).capabilities.mlsd).toBe(false);
  });

  it("a refused login fails open at once with a connect error (exit 4); a transient one is retried", async () => {
    const { f } = folder();
    f.fail({ method: "open", error: () => injectedError("auth") });
    const err = await rejection(f.open(RETRY));
    expect(err.kind).toBe("auth");
    expect(err.phase).toBe("connect");
    expect(err.exitCode).toBe(ExitCode.Connect);
    expect(f.pathsOf("open")).toHaveLength(1);

    const { f: g } = folder();
    g.fail({ method: "open", nth: 1 });
    await g.open(RETRY);
    expect(g.pathsOf("open")).toHaveLength(2);
    expect(g.capabilities).toBeDefined();
  });
});

describe("listTree", () => {
  it("lists files and folders with sizes and times as MLSD shows them (to the second)", async () => {
    const { f } = folder();
    f.put("/job/a.txt", "hello", T0);
    f.putDir("/job/sub", T0 - 5_000);
    f.put("/job/sub/b.txt", "bb", T0 - 60_000);
    const l = await f.listTree("/job", listOpts());
    expect(l.complete).toBe(true);
    expect(l.failedDirs).toEqual([]);
    expect(l.nameProblems).toBeUndefined();
    // seeding leaves a folder's time alone (the server's own calls change it, as a file system does)
    expect([...l.entries.values()]).toEqual([
      { path: "a.txt", type: "file", size: 5, modifyMs: Math.floor(T0 / 1000) * 1000, precision: "second" },
      { path: "sub", type: "dir", size: 0, modifyMs: Math.floor((T0 - 5_000) / 1000) * 1000, precision: "second" },
      { path: "sub/b.txt", type: "file", size: 2, modifyMs: Math.floor((T0 - 60_000) / 1000) * 1000, precision: "second" },
    ]);
  });

  it.each([
    ["ms", T0, "ms"],
    ["minute", Math.floor(T0 / 60_000) * 60_000, "minute"],
    ["list", Math.floor(T0 / 60_000) * 60_000, "minute"],
  ] as const)("with precision %s a recent file's time is %s", async (precision, modifyMs, shown) => {
    const { f } = folder({ precision });
    f.put("/job/a", "x", T0);
    const l = await f.listTree("/job", listOpts());
    expect(l.entries.get("a")).toMatchObject({ modifyMs, precision: shown });
    expect(await f.stat("/job/a")).toEqual({ type: "file", size: 1, modifyMs, precision: shown });
  });

  it("a Unix LIST tells a file older than six months, or dated in the future, by its day only", async () => {
    const { f } = folder({ precision: "list" });
    const old = T0 - 200 * 86_400_000;
    f.put("/job/old", "x", old);
    f.put("/job/future", "x", T0 + 3_600_000);
    const l = await f.listTree("/job", listOpts());
    expect(l.entries.get("old")).toMatchObject({ modifyMs: Math.floor(old / 86_400_000) * 86_400_000, precision: "day" });
    expect(l.entries.get("future")).toMatchObject({ precision: "day" });
  });

  it("a root that does not exist (or is a file) throws RemoteRootMissing, never an empty listing", async () => {
    const { f } = folder();
    f.put("/file", "x");
    for (const root of ["/nothing", "/file"]) {
      const err = await rejection(f.listTree(root, listOpts()));
      expect(err).toBeInstanceOf(RemoteRootMissing);
      expect(isNotThere(err)).toBe(true);
    }
  });

  it("skips dot entries, our temporary files and symbolic links; the filter keeps a folder's contents out", async () => {
    const { f } = folder();
    const { log, debugged } = logger();
    f.put("/job/keep.txt", "k");
    f.put("/job/" + tempNameFor("keep.txt"), "partial");
    f.putName("/job", ".", { type: "dir" });
    f.putName("/job", "..", { type: "dir" });
    f.putName("/job", "link", { type: "symlink" });
    f.put("/job/skip/inner.txt", "i");
    const l = await f.listTree("/job", listOpts({ accept: (p) => p !== "skip", logger: log }));
    expect([...l.entries.keys()]).toEqual(["keep.txt"]);
    expect(l.nameProblems).toBeUndefined();
    expect(debugged).toContain("skipped remote symlink link");
    // the filtered folder is not even listed
    expect(f.pathsOf("list")).toEqual(["/job"]);
  });

  // The unsafe names (test/helpers/unsafe-names.ts) and a few only a listing can meet, seeded on the server: refused by the listing's own code.
  it.each([
    ...UNSAFE_NAMES,
    ["cr\rx", "contains CR or LF"],
    ["../../etc/passwd", "contains /"],
    ["a/b", "contains /"],
    ["back\\slash", "contains \\"],
    ["", "empty name"],
  ])("refuses the name %j (%s), reports it escaped, and lists the rest", async (name, why) => {
    const { f } = folder();
    const { log, warned } = logger();
    f.put("/job/good.txt", "g");
    f.putName("/job/sub", name, "PWNED");
    f.put("/job/sub/ok.txt", "o");
    const l = await f.listTree("/job", listOpts({ logger: log }));
    expect([...l.entries.keys()].sort()).toEqual(["good.txt", "sub", "sub/ok.txt"]);
    expect(l.nameProblems).toHaveLength(1);
    expect(l.nameProblems![0]).toMatch(/^refused a remote name in \/job\/sub: ".*" \(.*\); skipped$/);
    expect(l.nameProblems![0]).toContain(`(${why})`);
    expect(l.nameProblems![0]).not.toMatch(/[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/);
    expect(warned).toEqual(l.nameProblems);
    // the listing itself is complete: a refused name is not a failed folder
    expect(l.complete).toBe(true);
  });

  it("a folder named by a hostile name is refused and never walked into", async () => {
    const { f } = folder();
    f.putName("/job", "evil\x1b]0;x\x07", { type: "dir" });
    f.put("/job/ok.txt", "o");
    const l = await f.listTree("/job", listOpts());
    expect([...l.entries.keys()]).toEqual(["ok.txt"]);
    expect(f.pathsOf("list")).toEqual(["/job"]);
  });

  it("a name spelled in NFD is listed under its NFC path with the server's spelling kept, folders included", async () => {
    const { f } = folder();
    const nfd = "cafe\u0301";
    f.put(`/job/${nfd}/menu.txt`, "m");
    const l = await f.listTree("/job", listOpts());
    expect(l.entries.get("caf\u00e9")).toMatchObject({ type: "dir", serverPath: nfd });
    expect(l.entries.get("caf\u00e9/menu.txt")).toMatchObject({ type: "file", serverPath: `${nfd}/menu.txt` });
    expect(f.pathsOf("list")).toEqual(["/job", `/job/${nfd}`]);
    const { sink, bytes } = collect();
    await f.download(`/job/${nfd}/menu.txt`, sink);
    expect(bytes().toString()).toBe("m");
  });

  it("two names that differ only in normalisation are twins: reported, one entry kept, neither folder walked", async () => {
    const { f } = folder();
    const { log, warned } = logger();
    f.put("/job/caf\u00e9/x.txt", "nfc");
    f.put("/job/cafe\u0301/y.txt", "nfd");
    const l = await f.listTree("/job", listOpts({ logger: log }));
    expect(l.twins).toEqual(["caf\u00e9"]);
    expect([...l.entries.keys()]).toEqual(["caf\u00e9"]);
    expect(l.nameProblems).toEqual([twinWarning("remote", "/job", "cafe\u0301", "caf\u00e9")]);
    expect(warned).toEqual(l.nameProblems);
    expect(f.pathsOf("list")).toEqual(["/job"]);
  });

  it("a folder whose listing keeps failing makes the listing incomplete; the others are listed", async () => {
    const { f } = folder();
    const { log, warned } = logger();
    f.put("/job/a/1.txt", "1");
    f.put("/job/b/2.txt", "2");
    const fault = f.fail({ method: "list", path: "/job/b" });
    const l = await f.listTree("/job", listOpts({ logger: log }));
    expect(l.complete).toBe(false);
    expect(l.failedDirs).toEqual(["b"]);
    expect([...l.entries.keys()].sort()).toEqual(["a", "a/1.txt", "b"]);
    expect(fault.hits).toBe(RETRY.attempts);
    expect(warned).toEqual([expect.stringMatching(/^cannot list remote folder \/job\/b: /)]);
  });

  it("a folder's listing that fails once with a transient error is retried, and the listing is complete", async () => {
    const { f } = folder();
    f.put("/job/a/1.txt", "1");
    f.fail({ method: "list", path: "/job/a", nth: 1 });
    const l = await f.listTree("/job", listOpts());
    expect(l.complete).toBe(true);
    expect(l.entries.has("a/1.txt")).toBe(true);
    expect(f.pathsOf("list")).toEqual(["/job", "/job/a", "/job/a"]);
  });

  it("a folder refused for good (550) is not retried and is reported as not listed", async () => {
    const { f } = folder();
    f.put("/job/locked/x", "x");
    f.fail({ method: "list", path: "/job/locked", error: () => injectedError("path", 550) });
    const l = await f.listTree("/job", listOpts());
    expect(l.failedDirs).toEqual(["locked"]);
    expect(f.pathsOf("list")).toEqual(["/job", "/job/locked"]);
  });

  it("an aborted listing rejects with the signal's reason", async () => {
    const { f } = folder();
    f.put("/job/a/b/c.txt", "c");
    const ac = new AbortController();
    f.slow(20, { method: "list" });
    const p = f.listTree("/job", listOpts({ signal: ac.signal }));
    setTimeout(() => ac.abort(new Error("stop now")), 5);
    await expect(p).rejects.toThrow("stop now");
  });
});

describe("stat, stamp, exact time, size, hash", () => {
  it("stat tells a file, a folder, or nothing", async () => {
    const { f } = folder();
    f.put("/d/f.txt", "abc", T0);
    f.putDir("/d", T0);
    expect(await f.stat("/d/f.txt")).toEqual({ type: "file", size: 3, modifyMs: Math.floor(T0 / 1000) * 1000, precision: "second" });
    expect(await f.stat("/d")).toMatchObject({ type: "dir", size: 0 });
    expect(await f.stat("/d/none")).toBeUndefined();
  });

  it("stamp gives size and exact time (MLST), SIZE and MDTM without MLSD, and a missing file is a 550", async () => {
    const mlsd = folder().f;
    mlsd.put("/f", "abcd", T0);
    expect(await mlsd.stamp("/f")).toEqual({ size: 4, modifyMs: Math.floor(T0 / 1000) * 1000 });
    expect(isNotThere(await rejection(mlsd.stamp("/none")))).toBe(true);

    const list = folder({ precision: "list", capabilities: { mdtm: false } }).f;
    list.put("/f", "abcd", T0);
    expect(await list.stamp("/f")).toEqual({ size: 4, modifyMs: undefined });

    const bare = folder({ precision: "list", capabilities: { mdtm: false, size: false } }).f;
    bare.put("/f", "abcd", T0);
    expect(await bare.stamp("/f")).toEqual({ modifyMs: undefined });
  });

  it("exactTime is MDTM's (to the second), undefined without MDTM, a 550 for a missing file", async () => {
    const { f } = folder({ precision: "list" });
    f.put("/f", "x", T0);
    expect(await f.exactTime("/f")).toBe(Math.floor(T0 / 1000) * 1000);
    expect((await rejection(f.exactTime("/none"))).code).toBe(550);
    const noMdtm = folder({ capabilities: { mdtm: false } }).f;
    noMdtm.put("/f", "x", T0);
    expect(await noMdtm.exactTime("/f")).toBeUndefined();
  });

  it("size is the file's; a folder or a missing file is a 550", async () => {
    const { f } = folder();
    f.put("/d/f", "12345");
    expect(await f.size("/d/f")).toBe(5);
    for (const p of ["/d", "/d/none"]) expect(isNotThere(await rejection(f.size(p)))).toBe(true);
  });

  it("hash computes the real checksum by the best method offered, or the one asked for", async () => {
    const { f } = folder({ capabilities: { hash: ["SHA-256", "MD5"], hashCommands: ["XSHA1"] } });
    const bytes = Buffer.from("the quick brown fox");
    f.put("/f", bytes);
    const hex = (alg: string) => createHash(alg).update(bytes).digest("hex");
    expect(await f.hash("/f")).toEqual({ algorithm: "SHA-256", hex: hex("sha256"), command: "HASH" });
    expect(await f.hash("/f", { command: "HASH", algorithm: "MD5", nodeName: "md5" })).toEqual({ algorithm: "MD5", hex: hex("md5"), command: "HASH" });
    expect(await f.hash("/f", { command: "XSHA1", algorithm: "SHA-1", nodeName: "sha1" })).toEqual({ algorithm: "SHA-1", hex: hex("sha1"), command: "XSHA1" });
    // not offered, or nothing to hash: no answer
    expect(await f.hash("/f", { command: "HASH", algorithm: "SHA-512", nodeName: "sha512" })).toBeUndefined();
    expect(await f.hash("/none")).toBeUndefined();
    const none = folder({ capabilities: { hash: [] } }).f;
    none.put("/f", bytes);
    expect(await none.hash("/f")).toBeUndefined();
  });

  it("a hash follows the bytes: a changed file gives another", async () => {
    const { f } = folder();
    f.put("/f", "one");
    const before = await f.hash("/f");
    f.put("/f", "two");
    expect((await f.hash("/f"))!.hex).not.toBe(before!.hex);
  });
});

describe("upload", () => {
  it("writes bytes to a new file, stamped by the server's clock", async () => {
    const { f, setNow } = folder();
    f.putDir("/job");
    setNow(T0 + 10_000);
    await f.upload("/job/new.txt", { bytes: Buffer.from("fresh") });
    expect(f.read("/job/new.txt")!.toString()).toBe("fresh");
    expect(f.info("/job/new.txt")!.mtime).toBe(T0 + 10_000);
  });

  it("replaces what a file held, and an empty upload leaves an empty file", async () => {
    const { f } = folder();
    f.put("/job/a", "a long old content");
    await f.upload("/job/a", { bytes: Buffer.from("new") });
    expect(f.read("/job/a")!.toString()).toBe("new");
    await f.upload("/job/a", { bytes: Buffer.alloc(0) });
    expect(f.read("/job/a")!.length).toBe(0);
  });

  it("reads an open file up to the size given, from its start unless appending", async () => {
    const { f } = folder({ chunkSize: 3 });
    f.putDir("/job");
    const local = join(work, "upload-src.txt");
    writeFileSync(local, "0123456789-grown-later");
    const fd = openSync(local, "r");
    try {
      await f.upload("/job/a", { fd, size: 10, startAt: 4 });
      expect(f.read("/job/a")!.toString()).toBe("0123456789");
      f.put("/job/b", "0123");
      await f.upload("/job/b", { fd, size: 10, startAt: 4 }, { append: true });
      expect(f.read("/job/b")!.toString()).toBe("0123456789");
    } finally {
      closeSync(fd);
    }
  });

  it("appending to a file that is not there creates it", async () => {
    const { f } = folder();
    f.putDir("/job");
    await f.upload("/job/a", { bytes: Buffer.from("abc") }, { append: true });
    expect(f.read("/job/a")!.toString()).toBe("abc");
  });

  it("goes through the throttle when one is given", async () => {
    const { f } = folder({ chunkSize: 2 });
    f.putDir("/job");
    let through = 0;
    const throttle = () =>
      new Transform({
        transform(chunk: Buffer, _enc, done) {
          through += chunk.length;
          done(null, chunk);
        },
      });
    await f.upload("/job/a", { bytes: Buffer.from("abcdefg") }, { throttle });
    expect(through).toBe(7);
    expect(f.read("/job/a")!.toString()).toBe("abcdefg");
  });

  it("into a folder that is not there, or onto a folder, is a 550", async () => {
    const { f } = folder();
    f.putDir("/job/dir");
    for (const p of ["/none/a", "/job/dir"]) expect(isNotThere(await rejection(f.upload(p, { bytes: Buffer.from("x") })))).toBe(true);
  });

  it("a source that cannot be read fails the upload with its own error", async () => {
    const { f } = folder();
    f.putDir("/job");
    // A folder's descriptor: reading it fails (EISDIR). Not a closed descriptor: the fast tier's
    // worker threads share one process, and another test may be given that number meanwhile.
    const fd = openSync(work, "r");
    try {
      const err = (await rejection(f.upload("/job/a", { fd, size: 3 }))) as unknown as NodeJS.ErrnoException;
      expect(err).not.toBeInstanceOf(RemoteError);
      expect(err.code).toBe("EISDIR");
    } finally {
      closeSync(fd);
    }
  });
});

describe("download", () => {
  it("streams the whole file, or from an offset, and ends the sink", async () => {
    const { f } = folder({ chunkSize: 4 });
    f.put("/f", "0123456789");
    const whole = collect();
    let finished = false;
    whole.sink.on("finish", () => (finished = true));
    await f.download("/f", whole.sink);
    expect(whole.bytes().toString()).toBe("0123456789");
    expect(finished).toBe(true);
    const rest = collect();
    await f.download("/f", rest.sink, 6);
    expect(rest.bytes().toString()).toBe("6789");
  });

  it("a file that is not there, or a folder, is a 550 before any byte", async () => {
    const { f } = folder();
    f.putDir("/d");
    for (const p of ["/none", "/d"]) {
      const c = collect();
      expect(isNotThere(await rejection(f.download(p, c.sink)))).toBe(true);
      expect(c.received()).toBe(0);
    }
  });

  it("a server without REST STREAM refuses to start from an offset", async () => {
    const { f } = folder({ capabilities: { restStream: false } });
    f.put("/f", "0123456789");
    const err = await rejection(f.download("/f", collect().sink, 3));
    expect(err.code).toBe(502);
    expect(err.kind).toBe("path");
  });

  it("reads no further ahead than the sink takes (backpressure)", async () => {
    const { f } = folder({ chunkSize: 4 });
    f.put("/f", Buffer.alloc(4 * 64, 7));
    const slow = collect(() => new Promise((r) => setTimeout(r, 1)), 4);
    let ahead = 0;
    f.onChunk((ev) => void (ahead = Math.max(ahead, ev.offset - slow.received())));
    await f.download("/f", slow.sink);
    expect(slow.received()).toBe(256);
    // the source's buffer and the sink's, a chunk or two each: never the whole file
    expect(ahead).toBeLessThanOrEqual(4 * 4);
  });

  it("a sink that fails stops the transfer, and its error is what the download rejects with", async () => {
    const { f } = folder({ chunkSize: 4 });
    f.put("/f", Buffer.alloc(400, 1));
    const mine = new Error("too many bytes");
    let chunksRead = 0;
    f.onChunk(() => void chunksRead++);
    const c = collect((_chunk, total) => (total >= 8 ? mine : undefined));
    const err = await f.download("/f", c.sink).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBe(mine);
    expect(c.received()).toBe(8);
    expect(chunksRead).toBeLessThan(10);
  });
});

describe("rename", () => {
  it("moves a file; onto an existing file it replaces it (vsftpd, ProFTPD with AllowOverwrite)", async () => {
    const { f } = folder();
    f.put("/job/.tmp", "new");
    f.put("/job/a", "old");
    expect(await f.rename("/job/.tmp", "/job/a")).toBeUndefined();
    expect(f.tree("/job")).toEqual({ a: "new" });
    expect(f.pathsOf("rename")).toEqual(["/job/.tmp -> /job/a"]);
    expect(f.calls.filter((c) => c.method.startsWith("rename."))).toEqual([]);
  });

  it("a source that is not there is a 550 and the target is untouched", async () => {
    const { f } = folder({ renameOverwrite: false });
    f.put("/job/a", "old");
    const err = await rejection(f.rename("/job/none", "/job/a"));
    expect(isNotThere(err)).toBe(true);
    expect(f.tree("/job")).toEqual({ a: "old" });
    expect(f.calls.filter((c) => c.method.startsWith("rename."))).toEqual([]);
  });

  it("where the server refuses to rename onto a file, the old one is moved aside, the new one placed and the aside copy deleted", async () => {
    const { f } = folder({ renameOverwrite: false });
    f.put("/job/.tmp", "new");
    f.put("/job/a", "old");
    expect(await f.rename("/job/.tmp", "/job/a", 3)).toBeUndefined();
    expect(f.tree("/job")).toEqual({ a: "new" });
    expect(f.calls.map((c) => c.method)).toEqual(["rename", "rename.aside", "rename.place", "rename.removeAside"]);
    expect(f.calls[1].to).toMatch(/^\/job\/\.ftps-sync\.a\.[0-9a-f]{8}\.part$/);
  });

  it.each([true, false])("a folder where the file goes is never moved aside: the rename is refused and the folder stays with all it holds (overwrite %s)", async (renameOverwrite) => {
    const { f } = folder({ renameOverwrite });
    f.put("/job/.tmp", "new");
    f.put("/job/a/inside.txt", "partner's");
    await expect(f.rename("/job/.tmp", "/job/a", 3)).rejects.toBeInstanceOf(RenameRefused);
    expect(f.tree("/job")).toEqual({ ".tmp": "new", a: null, "a/inside.txt": "partner's" });
    expect(f.calls.map((c) => c.method)).toEqual(["rename"]);
  });

  it("when the new one cannot be placed, the old one is put back and the error says it is kept", async () => {
    const { f } = folder({ renameOverwrite: false });
    f.put("/job/.tmp", "new");
    f.put("/job/a", "old");
    f.fail({ method: "rename.place", error: () => injectedError("path", 553) });
    const err = await rejection(f.rename("/job/.tmp", "/job/a"));
    expect(err).toBeInstanceOf(RenameRefused);
    expect(err.code).toBe(553);
    expect(err.message).toMatch(/the old version is kept, the new version was not placed/);
    expect(f.tree("/job")).toEqual({ ".tmp": "new", a: "old" });
  });

  it("when even putting it back fails, the error names the aside copy, which holds the old file", async () => {
    const { f } = folder({ renameOverwrite: false });
    f.put("/job/.tmp", "new");
    f.put("/job/a", "old");
    f.fail({ method: ["rename.place", "rename.putBack"] });
    const err = await rejection(f.rename("/job/.tmp", "/job/a"));
    const aside = f.calls.find((c) => c.method === "rename.aside")!.to!;
    expect(err.message).toContain(`kept as ${aside}`);
    expect(f.read(aside)!.toString()).toBe("old");
    expect(f.read("/job/a")).toBeUndefined();
  });

  it("an aside copy that cannot be deleted is returned, the new file in place", async () => {
    const { f } = folder({ renameOverwrite: false });
    f.put("/job/.tmp", "new");
    f.put("/job/a", "old");
    f.fail({ method: "rename.removeAside" });
    const left = await f.rename("/job/.tmp", "/job/a");
    expect(left).toMatch(/^\/job\/\.ftps-sync\.a\.[0-9a-f]{8}\.part$/);
    expect(f.read(left!)!.toString()).toBe("old");
    expect(f.read("/job/a")!.toString()).toBe("new");
  });

  it("a placed file of another size than expected is undone: both files back where they were", async () => {
    const { f } = folder({ renameOverwrite: false });
    f.put("/job/.tmp", "new");
    f.put("/job/a", "old");
    const err = await rejection(f.rename("/job/.tmp", "/job/a", 99));
    expect(err).toBeInstanceOf(RenameRefused);
    expect(err.message).toMatch(/3 after the rename, expected 99/);
    expect(f.tree("/job")).toEqual({ ".tmp": "new", a: "old" });
  });
});

describe("folders, removal, times", () => {
  it("mkdir makes a folder; one that exists is fine; a missing parent or a file there is a 550", async () => {
    const { f } = folder();
    await f.mkdir("/job");
    await f.mkdir("/job");
    await f.mkdir("/job/sub");
    f.put("/job/file", "x");
    for (const p of ["/none/sub", "/job/file"]) expect(isNotThere(await rejection(f.mkdir(p)))).toBe(true);
    expect(f.tree()).toEqual({ job: null, "job/file": "x", "job/sub": null });
  });

  it("remove deletes a file; a missing one is a path error with code 550, a folder is refused", async () => {
    const { f } = folder();
    f.put("/job/a", "x");
    await f.remove("/job/a");
    expect(f.read("/job/a")).toBeUndefined();
    const err = await rejection(f.remove("/job/a"));
    expect(err).toBeInstanceOf(RemoteError);
    expect(err.kind).toBe("path");
    expect(err.code).toBe(550);
    expect(isNotThere(await rejection(f.remove("/job")))).toBe(true);
  });

  it("removeDir removes an empty folder only", async () => {
    const { f } = folder();
    f.put("/job/full/x", "x");
    f.putDir("/job/empty");
    await f.removeDir("/job/empty");
    expect(f.info("/job/empty")).toBeUndefined();
    expect((await rejection(f.removeDir("/job/full"))).code).toBe(550);
    expect((await rejection(f.removeDir("/job/full/x"))).code).toBe(550);
    expect((await rejection(f.removeDir("/job/none"))).code).toBe(550);
    expect(f.read("/job/full/x")!.toString()).toBe("x");
  });

  it("setTime sets a file's time to the second with MFMT, and says false without it", async () => {
    const { f } = folder();
    f.put("/f", "x", T0);
    expect(await f.setTime("/f", 1_700_000_000_999)).toBe(true);
    expect(f.info("/f")!.mtime).toBe(1_700_000_000_000);
    expect(await f.setTime("/none", 1_700_000_000_000)).toBe(false);

    const { f: noMfmt, setNow } = folder({ capabilities: { mfmt: false } });
    noMfmt.putDir("/job");
    setNow(T0 + 42_000);
    await noMfmt.upload("/job/f", { bytes: Buffer.from("x") });
    expect(await noMfmt.setTime("/job/f", 1_700_000_000_000)).toBe(false);
    expect(noMfmt.info("/job/f")!.mtime).toBe(T0 + 42_000);
  });
});

describe("width, close and destroy", () => {
  it("runs at most `width` calls at once; the others wait their turn", async () => {
    const { f } = folder({ width: 2 });
    f.put("/f", "x");
    f.slow(5, { method: "stat" });
    const all = await Promise.all(Array.from({ length: 6 }, () => f.stat("/f")));
    expect(all.every((s) => s?.size === 1)).toBe(true);
    expect(f.maxInFlight).toBe(2);
  });

  it("after close, calls are refused", async () => {
    const { f } = folder();
    f.put("/f", "x");
    await f.close();
    expect(f.closed).toBe(true);
    await expect(f.stat("/f")).rejects.toThrow(/closed/);
  });

  it("destroy cuts a transfer in flight with a transient error", async () => {
    const { f } = folder({ chunkSize: 2 });
    f.put("/f", "0123456789");
    f.onChunk((ev) => {
      if (ev.offset === 4) f.destroy();
    });
    const c = collect();
    const err = await rejection(f.download("/f", c.sink));
    expect(err.kind).toBe("transient");
    expect(c.received()).toBe(4);
  });
});

describe("faults", () => {
  it("fails the nth call of a method, once, with a transient 421 by default", async () => {
    const { f } = folder();
    f.put("/f", "x");
    const fault = f.fail({ method: "stat", nth: 2 });
    expect(await f.stat("/f")).toBeDefined();
    const err = await rejection(f.stat("/f"));
    expect(err).toMatchObject({ kind: "transient", code: 421 });
    expect(await f.stat("/f")).toBeDefined();
    expect(fault.hits).toBe(1);
  });

  it("fails only the calls on a matching path, `times` times, with the error given", async () => {
    const { f } = folder();
    f.put("/a", "x");
    f.put("/b", "y");
    f.fail({ method: ["size", "stat"], path: /\/b$/, times: 2, error: () => injectedError("space") });
    expect(await f.size("/a")).toBe(1);
    expect((await rejection(f.size("/b"))).kind).toBe("space");
    expect((await rejection(f.stat("/b"))).stopsJob).toBe(true);
    expect(await f.size("/b")).toBe(1);
  });

  it("a removed fault no longer fires", async () => {
    const { f } = folder();
    f.put("/a", "x");
    const fault = f.fail({ method: "stat" });
    await rejection(f.stat("/a"));
    fault.remove();
    expect(await f.stat("/a")).toBeDefined();
  });

  it("cuts a download after k bytes: the sink has exactly those, and a resume from there completes the file", async () => {
    const { f } = folder({ chunkSize: 4 });
    const content = "abcdefghijklmnopqrstuvwxyz";
    f.put("/f", content);
    f.cut({ method: "download", afterBytes: 10, nth: 1 });
    const first = collect();
    const err = await rejection(f.download("/f", first.sink));
    expect(err).toMatchObject({ kind: "transient", fault: "closed" });
    expect(first.bytes().toString()).toBe(content.slice(0, 10));
    const rest = collect();
    await f.download("/f", rest.sink, 10);
    expect(first.bytes().toString() + rest.bytes().toString()).toBe(content);
  });

  it("cuts an upload after k bytes: the server keeps them, and an append from there completes the file", async () => {
    const { f } = folder({ chunkSize: 4 });
    f.putDir("/job");
    const content = Buffer.from("abcdefghijklmnopqrstuvwxyz");
    f.cut({ method: "upload", afterBytes: 10, nth: 1 });
    const err = await rejection(f.upload("/job/p", { bytes: content }));
    expect(err.kind).toBe("transient");
    expect(f.read("/job/p")!.toString()).toBe("abcdefghij");
    await f.upload("/job/p", { bytes: content.subarray(10) }, { append: true });
    expect(f.read("/job/p")!.equals(content)).toBe(true);
  });

  it("a transfer of exactly k bytes is cut too: the connection dropped before the final reply", async () => {
    const { f } = folder({ chunkSize: 4 });
    f.put("/f", "12345678");
    f.putDir("/job");
    f.cut({ method: ["download", "upload"], afterBytes: 8 });
    const c = collect();
    expect((await rejection(f.download("/f", c.sink))).kind).toBe("transient");
    expect(c.received()).toBe(8);
    expect((await rejection(f.upload("/job/u", { bytes: Buffer.from("12345678") }))).kind).toBe("transient");
    expect(f.read("/job/u")!.toString()).toBe("12345678");
  });

  it("a file changed while it is read gives a torn copy: the first chunks old, the rest new", async () => {
    const { f } = folder({ chunkSize: 4 });
    f.put("/f", "AAAAAAAAAAAA");
    f.onChunk((ev) => {
      if (ev.method === "download" && ev.offset === 4) f.put("/f", "BBBBBBBBBBBB");
    });
    const c = collect();
    await f.download("/f", c.sink);
    expect(c.bytes().toString()).toBe("AAAABBBBBBBB");
  });

  it("a file replaced by a rename while it is read is read to its end as it was (the open file)", async () => {
    const { f } = folder({ chunkSize: 4 });
    f.put("/f", "AAAAAAAAAAAA");
    f.put("/new", "BBBBBB");
    f.onChunk(async (ev) => {
      if (ev.offset === 4 && f.read("/new")) await f.rename("/new", "/f");
    });
    const c = collect();
    await f.download("/f", c.sink);
    expect(c.bytes().toString()).toBe("AAAAAAAAAAAA");
    expect(f.read("/f")!.toString()).toBe("BBBBBB");
  });

  it("a slowed call answers after the others", async () => {
    const { f } = folder();
    f.put("/slow", "s");
    f.put("/fast", "f");
    f.slow(30, { method: "stat", path: "/slow" });
    const order: string[] = [];
    await Promise.all([f.stat("/slow").then(() => order.push("slow")), f.stat("/fast").then(() => order.push("fast"))]);
    expect(order).toEqual(["fast", "slow"]);
  });

  it("logs every call with its method and path, in order", async () => {
    const { f } = folder();
    f.put("/job/a", "x");
    await f.stat("/job/a");
    await f.mkdir("/job/sub");
    await f.rename("/job/a", "/job/sub/a");
    await f.remove("/job/sub/a");
    expect(f.calls).toEqual([
      { method: "stat", path: "/job/a" },
      { method: "mkdir", path: "/job/sub" },
      { method: "rename", path: "/job/a", to: "/job/sub/a" },
      { method: "remove", path: "/job/sub/a" },
    ]);
  });
});
