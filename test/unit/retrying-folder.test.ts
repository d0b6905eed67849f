// The retry decorator: idempotent calls retried for transient failures only, within the policy
// and the signal; transfers, renames and removals passed through for the caller to decide.
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { RemoteError } from "../../src/errors.js";
import { injectedError, MemoryFolder, type MemoryMethod } from "../../src/remote/memory-folder.js";
import type { RemoteFolder } from "../../src/remote/remote-folder.js";
import { retrying } from "../../src/remote/retrying-folder.js";

const POLICY = { attempts: 4, initialDelayMs: 1, maxDelayMs: 2 };

function setup() {
  const inner = new MemoryFolder();
  inner.put("/job/a.txt", "hello");
  inner.putDir("/job/empty");
  const retries: { method: string; path: string; attempt: number }[] = [];
  const folder = retrying(inner, POLICY, { onRetry: (_err, attempt, _delay, call) => retries.push({ ...call, attempt }) });
  return { inner, folder, retries };
}

const sink = () =>
  new Writable({
    write(_c, _e, done) {
      done();
    },
  });

/** One call of each retried method, on paths setup() made. */
const retried: [MemoryMethod, (f: RemoteFolder) => Promise<unknown>][] = [
  ["stat", (f) => f.stat("/job/a.txt")],
  ["stamp", (f) => f.stamp("/job/a.txt")],
  ["exactTime", (f) => f.exactTime("/job/a.txt")],
  ["size", (f) => f.size("/job/a.txt")],
  ["hash", (f) => f.hash("/job/a.txt")],
  ["mkdir", (f) => f.mkdir("/job/new")],
  ["setTime", (f) => f.setTime("/job/a.txt", 1_700_000_000_000)],
  ["removeDir", (f) => f.removeDir("/job/empty")],
];

/** One call of each method passed through as it is. */
const passed: [MemoryMethod, (f: RemoteFolder) => Promise<unknown>][] = [
  ["upload", (f) => f.upload("/job/u.txt", { bytes: Buffer.from("x") })],
  ["download", (f) => f.download("/job/a.txt", sink())],
  ["rename", (f) => f.rename("/job/a.txt", "/job/b.txt")],
  ["remove", (f) => f.remove("/job/a.txt")],
];

describe("the retry decorator", () => {
  it.each(retried)("retries %s after transient failures, and succeeds", async (method, call) => {
    const { inner, folder, retries } = setup();
    inner.fail({ method, times: 2 });
    await call(folder);
    expect(inner.calls.filter((c) => c.method === method)).toHaveLength(3);
    expect(retries).toEqual([
      { method, path: expect.stringMatching(/^\/job\//), attempt: 1 },
      { method, path: expect.stringMatching(/^\/job\//), attempt: 2 },
    ]);
  });

  it.each(["path", "auth", "tls", "space"] as const)("does not retry a failure of kind %s", async (kind) => {
    const { inner, folder, retries } = setup();
    inner.fail({ method: "stat", error: () => injectedError(kind) });
    const err = await folder.stat("/job/a.txt").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).kind).toBe(kind);
    expect(inner.pathsOf("stat")).toHaveLength(1);
    expect(retries).toEqual([]);
  });

  it("does not retry an error that is not a RemoteError, even one whose code looks transient", async () => {
    const { inner, folder } = setup();
    inner.fail({ method: "size", error: () => Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }) });
    await expect(folder.size("/job/a.txt")).rejects.toThrow("ECONNRESET");
    expect(inner.pathsOf("size")).toHaveLength(1);
  });

  it("stops at the policy's attempts and rejects with the last failure", async () => {
    const { inner, folder } = setup();
    let n = 0;
    inner.fail({ method: "stat", error: () => injectedError("transient", 421, `busy ${++n}`) });
    await expect(folder.stat("/job/a.txt")).rejects.toThrow(`busy ${POLICY.attempts}`);
    expect(inner.pathsOf("stat")).toHaveLength(POLICY.attempts);
  });

  it.each(passed)("passes %s through: a transient failure is the caller's to retry", async (method, call) => {
    const { inner, folder, retries } = setup();
    inner.fail({ method, nth: 1 });
    const err = await call(folder).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((err as RemoteError).kind).toBe("transient");
    expect(inner.calls.filter((c) => c.method === method)).toHaveLength(1);
    expect(retries).toEqual([]);
    // and works when the folder does
    await call(folder);
  });

  it("leaves listTree to its own per-folder retry", async () => {
    const { inner, folder } = setup();
    inner.fail({ method: "listTree", nth: 1 });
    const once = { accept: () => true, retry: { attempts: 1, initialDelayMs: 1, maxDelayMs: 1 } };
    await expect(folder.listTree("/job", once)).rejects.toMatchObject({ kind: "transient" });
    expect(inner.pathsOf("listTree")).toHaveLength(1);
    const l = await folder.listTree("/job", once);
    expect([...l.entries.keys()].sort()).toEqual(["a.txt", "empty"]);
  });

  it("an abort during the wait between attempts ends the call with the signal's reason, and no attempt follows", async () => {
    const inner = new MemoryFolder();
    inner.put("/a", "x");
    const ac = new AbortController();
    const folder = retrying(inner, { attempts: 2, initialDelayMs: 5_000, maxDelayMs: 5_000 }, { signal: ac.signal, onRetry: () => ac.abort(new Error("job stopped")) });
    inner.fail({ method: "stat" });
    await expect(folder.stat("/a")).rejects.toThrow("job stopped");
    expect(inner.pathsOf("stat")).toHaveLength(1);
  });

  it("a failure after the signal was aborted is not retried", async () => {
    const inner = new MemoryFolder();
    inner.put("/a", "x");
    const ac = new AbortController();
    ac.abort(new Error("stopped before"));
    const folder = retrying(inner, POLICY, { signal: ac.signal });
    inner.fail({ method: "stat" });
    await expect(folder.stat("/a")).rejects.toMatchObject({ kind: "transient" });
    expect(inner.pathsOf("stat")).toHaveLength(1);
  });

  it("shows the wrapped folder's width, capabilities and state", async () => {
    const inner = new MemoryFolder({ width: 3 });
    const folder = retrying(inner, POLICY);
    expect(folder.width).toBe(3);
    expect(folder.capabilities).toBeUndefined();
    await folder.open();
    expect(folder.capabilities).toBe(inner.capabilities);
    folder.destroy();
    expect(folder.closed).toBe(true);
  });
});
