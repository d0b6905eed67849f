import { describe, expect, it } from "vitest";
import { RemoteError } from "../../src/errors.js";
import { injectedError } from "../../src/remote/memory-folder.js";
import { at, engine, filesOf, tempPaths, type Engine } from "./harness.js";

const TEXT = "0123456789abcdefghijklmnopqrstuvwxyz"; // 36 bytes: nine 4-byte chunks

/**
 * The connection drops after `afterBytes` of the next transfer and the run is stopped right then
 * (as at a shutdown): a stopped run keeps its partial transfer for the next run to resume.
 * Returns the run's options.
 */
function cutAndStop(e: Engine, method: "upload" | "download", afterBytes: number) {
  const stop = new AbortController();
  const fault = e.remote.cut({ method, afterBytes, nth: 1, error: () => {
    stop.abort(new Error("stopped by the test"));
    return injectedError("transient");
  } });
  return { opts: { signal: stop.signal }, fault };
}

describe("retries", () => {
  it("a transient failure of an upload is retried and the file ends whole", async () => {
    const e = engine({ job: { direction: "upload" } });
    e.writeLocal("a.txt", TEXT);
    e.remote.fail({ method: "upload", nth: 1, times: 2 });
    const s = await e.run();
    expect(s).toMatchObject({ status: "ok", uploaded: 1, failed: 0 });
    expect(e.readRemote("a.txt")).toBe(TEXT);
    expect(e.remote.pathsOf("upload")).toHaveLength(3);
    expect(tempPaths(e.remoteTree())).toEqual([]);
  });

  it("a transient failure of a download is retried and the file ends whole", async () => {
    const e = engine({ job: { direction: "download" } });
    e.putRemote("a.txt", TEXT);
    e.remote.fail({ method: "download", nth: 1, times: 2 });
    const s = await e.run();
    expect(s).toMatchObject({ status: "ok", downloaded: 1, failed: 0 });
    expect(e.localTree()).toEqual({ "a.txt": TEXT });
  });

  it("a transient failure of a folder's creation, of a file's exact time and of its check after the download is retried (the retrying folder)", async () => {
    const up = engine({ job: { direction: "upload" } });
    up.writeLocal("sub/a.txt", TEXT);
    up.remote.fail({ method: "mkdir", nth: 1, times: 2 });
    expect(await up.run()).toMatchObject({ status: "ok", uploaded: 1, failed: 0 });
    expect(up.readRemote("sub/a.txt")).toBe(TEXT);

    // A server that lists by the minute: the download asks MDTM before and checks after (a file
    // over 1 MiB asks it in a round trip of its own; a smaller one with the transfer, see below).
    const down = engine({ job: { direction: "download" }, server: { precision: "minute" } });
    const big = "x".repeat(1024 * 1024 + 1);
    down.putRemote("a.txt", big);
    down.remote.fail({ method: "exactTime", nth: 1, times: 2 });
    down.remote.fail({ method: "stamp", nth: 1, times: 2 });
    expect(await down.run()).toMatchObject({ status: "ok", downloaded: 1, failed: 0 });
    expect(down.localTree()).toEqual({ "a.txt": big });
    expect(down.remote.pathsOf("exactTime").length).toBeGreaterThanOrEqual(3);
    expect(down.remote.pathsOf("stamp").length).toBeGreaterThanOrEqual(3);
  });

  it("a small download from a server that lists by the minute asks its exact time with the transfer, not in a call of its own", async () => {
    const down = engine({ job: { direction: "download" }, server: { precision: "minute" } });
    down.putRemote("a.txt", TEXT);
    expect(await down.run()).toMatchObject({ status: "ok", downloaded: 1, failed: 0 });
    expect(down.localTree()).toEqual({ "a.txt": TEXT });
    expect(down.remote.pathsOf("exactTime")).toEqual([]);
  });

  it("a rename whose reply is lost with its connection, though done, is not done again: the upload counts as whole", async () => {
    const e = engine({ job: { direction: "upload" } });
    e.writeLocal("a.txt", TEXT);
    e.writeLocal("b.txt", TEXT);
    e.remote.loseReply({ method: "rename", path: /a\.txt$/, nth: 1 });
    expect(await e.run()).toMatchObject({ status: "ok", uploaded: 2, failed: 0 });
    expect(e.readRemote("a.txt")).toBe(TEXT);
    expect(tempPaths(filesOf(e.remoteTree()))).toEqual([]);
    // Once only: the second try found it in place.
    expect(e.remote.pathsOf("rename").filter((r) => r.endsWith("-> /job/a.txt"))).toHaveLength(1);
    expect(await e.run()).toMatchObject({ status: "ok", uploaded: 0 });
  });

  it("a transient failure that outlasts the job's attempts fails that file only; the next run sends it", async () => {
    const e = engine({ job: { direction: "upload" } });
    e.writeLocal("a.txt", "A");
    e.writeLocal("b.txt", "B");
    const fault = e.remote.fail({ method: "upload", path: /\.ftps-sync\.b\.txt\./ });
    const s = await e.run();
    expect(s).toMatchObject({ status: "failed", uploaded: 1, failed: 1 });
    expect(fault.hits).toBe(3); // retries.attempts
    expect(e.readRemote("a.txt")).toBe("A");
    expect(e.readRemote("b.txt")).toBeUndefined();
    expect(e.stateRows().has("b.txt")).toBe(false);
    fault.remove();
    expect(await e.run()).toMatchObject({ status: "ok", uploaded: 1 });
    expect(e.readRemote("b.txt")).toBe("B");
  });

  it("a failure for one path (550) is not retried and is confined to that file", async () => {
    const e = engine({ job: { direction: "upload" } });
    for (const n of ["a", "b", "c"]) e.writeLocal(`${n}.txt`, n);
    const fault = e.remote.fail({ method: "upload", path: /\.ftps-sync\.b\.txt\./, error: () => injectedError("path", 553) });
    const s = await e.run();
    expect(s).toMatchObject({ status: "failed", uploaded: 2, failed: 1 });
    expect(fault.hits).toBe(1);
    expect(s.errors.join("\n")).toMatch(/b\.txt/);
    expect(filesOf(e.remoteTree())).toEqual({ "a.txt": "a", "c.txt": "c" });
  });

  it.each(["space", "auth"] as const)("a %s failure stops the job: no further file is tried", async (kind) => {
    const e = engine({ job: { direction: "upload" }, server: { width: 1 } });
    for (const n of ["a", "b", "c", "d"]) e.writeLocal(`${n}.txt`, n);
    const fault = e.remote.fail({ method: "upload", error: () => injectedError(kind) });
    const s = await e.run();
    expect(s).toMatchObject({ status: "failed", uploaded: 0, failed: 1 });
    expect(fault.hits).toBe(1);
    expect(e.remote.pathsOf("upload")).toHaveLength(1);
    expect(filesOf(e.remoteTree())).toEqual({});
  });
});

describe("cut transfers", () => {
  it("an upload cut after some bytes is resumed in the same run and ends whole, with no temporary file left", async () => {
    const e = engine({ job: { direction: "upload" }, server: { chunkSize: 4 } });
    e.writeLocal("a.txt", TEXT);
    e.remote.cut({ method: "upload", afterBytes: 12, nth: 1 });
    const s = await e.run();
    expect(s).toMatchObject({ status: "ok", uploaded: 1 });
    expect(e.readRemote("a.txt")).toBe(TEXT);
    expect(tempPaths(e.remoteTree())).toEqual([]);
    expect(e.state.partials.list("job")).toEqual([]);
  });

  it("an upload that timed out is sent again from the start under a fresh temporary name, and ends whole", async () => {
    const e = engine({ job: { direction: "upload" }, server: { chunkSize: 4 } });
    e.writeLocal("a.txt", TEXT);
    const timeout = () => new RemoteError("timeout: no answer within 30 s (injected)", { kind: "transient", fault: "timeout", phase: "operation" });
    e.remote.cut({ method: "upload", afterBytes: 12, nth: 1, error: timeout });
    const received: number[] = [];
    e.remote.onChunk((ev) => void (ev.method === "upload" && received.push(ev.offset)));
    const s = await e.run();
    expect(s).toMatchObject({ status: "ok", uploaded: 1 });
    expect(e.remoteTree()).toEqual({ "a.txt": TEXT });
    const temps = e.remote.pathsOf("upload");
    expect(temps).toHaveLength(2);
    expect(temps[0]).not.toBe(temps[1]);
    expect(received.filter((n) => n === 4)).toHaveLength(2); // both tries sent the file from its first byte
  });

  it("an upload cut at every try leaves the server's copy as it was (temporary name, then rename), and the next run ends it whole", async () => {
    const e = engine({ job: { direction: "upload" }, server: { chunkSize: 4 } });
    e.writeLocal("a.txt", "old version");
    await e.run();
    e.writeLocal("a.txt", TEXT, at(5));
    const fault = e.remote.cut({ method: "upload", afterBytes: 12 });
    const s = await e.run();
    expect(s).toMatchObject({ status: "failed", uploaded: 0, failed: 1 });
    expect(e.readRemote("a.txt")).toBe("old version");
    expect(tempPaths(e.remoteTree())).toEqual([]); // a failed run removes its temporary files
    fault.remove();
    // Stopped in the middle of the upload: the partial file is kept under its temporary name.
    const stopped = cutAndStop(e, "upload", 12);
    expect(await e.run(stopped.opts)).toMatchObject({ status: "failed", uploaded: 0 });
    expect(e.readRemote("a.txt")).toBe("old version");
    const tree = e.remoteTree();
    expect(tempPaths(tree)).toHaveLength(1);
    expect(tree[tempPaths(tree)[0]]).toBe(TEXT.slice(0, 12));
    expect(await e.run()).toMatchObject({ status: "ok", uploaded: 1 });
    expect(e.remoteTree()).toEqual({ "a.txt": TEXT });
  });

  it("a new upload cut at every try never shows a partial file under its real name", async () => {
    const e = engine({ job: { direction: "upload" }, server: { chunkSize: 4 } });
    e.writeLocal("a.txt", TEXT);
    e.remote.cut({ method: "upload", afterBytes: 8 });
    expect(await e.run()).toMatchObject({ status: "failed", failed: 1 });
    expect(e.readRemote("a.txt")).toBeUndefined();
  });

  it("a download cut at every try leaves the local copy as it was, and the next run resumes it from where it stopped", async () => {
    const e = engine({ job: { direction: "download" }, server: { chunkSize: 4 } });
    e.putRemote("a.txt", "old version", at(1));
    await e.run();
    e.putRemote("a.txt", TEXT, at(5));
    const fault = e.remote.cut({ method: "download", afterBytes: 12 });
    const s = await e.run();
    expect(s).toMatchObject({ status: "failed", downloaded: 0, failed: 1 });
    expect(e.readLocal("a.txt")).toBe("old version");
    fault.remove();
    // Stopped in the middle of the download: the partial file is kept, beside the old copy.
    const stopped = cutAndStop(e, "download", 12);
    expect(await e.run(stopped.opts)).toMatchObject({ status: "failed", downloaded: 0 });
    expect(e.readLocal("a.txt")).toBe("old version");
    expect(tempPaths(e.localTree())).toHaveLength(1);
    const starts: number[] = [];
    e.remote.onChunk((ev) => void (ev.method === "download" && starts.push(ev.offset)));
    expect(await e.run()).toMatchObject({ status: "ok", downloaded: 1 });
    expect(e.localTree()).toEqual({ "a.txt": TEXT });
    expect(Math.min(...starts)).toBeGreaterThanOrEqual(12); // resumed, not fetched from byte 0
  });

  it("a download that ends short of the listed size is not published, even if the server's file looks unchanged afterwards", async () => {
    const e = engine({ job: { direction: "download" }, server: { chunkSize: 4 } });
    e.putRemote("a.txt", TEXT, at(1));
    // The file is cut short while it is read, and back as it was when the run checks it.
    let truncated = false;
    e.remote.onChunk((ev) => {
      if (ev.method === "download" && ev.offset === 8 && !truncated) {
        truncated = true;
        e.remote.put("/job/a.txt", TEXT.slice(0, 8), at(1));
      }
    });
    e.remote.fail({ method: ["stamp", "stat", "exactTime", "size"], path: "/job/a.txt", nth: 1, error: () => {
      e.remote.put("/job/a.txt", TEXT, at(1));
      return injectedError("transient");
    } });
    const s = await e.run();
    expect(truncated).toBe(true);
    expect(s.downloaded).toBe(0);
    expect(e.readLocal("a.txt")).toBeUndefined();
    expect(tempPaths(e.localTree())).toEqual([]);
  });
});

describe("files that change on the server during a download", () => {
  it.each([
    ["exact", undefined],
    ["by the minute (its exact time asked with the transfer)", "minute"],
  ] as const)("a file rewritten (same size) while it is read is discarded, not published, and fetched whole by the next run (listing times %s)", async (_, precision) => {
    const e = engine({ job: { direction: "download" }, server: { chunkSize: 4, ...(precision && { precision }) } });
    e.putRemote("a.txt", "A".repeat(36), at(1));
    let rewritten = false;
    e.remote.onChunk((ev) => {
      if (ev.method === "download" && ev.offset === 8 && !rewritten) {
        rewritten = true;
        e.remote.put("/job/a.txt", "B".repeat(36), at(2));
      }
    });
    const s = await e.run();
    expect(rewritten).toBe(true);
    expect(s).toMatchObject({ downloaded: 0, deferred: 1 });
    expect(s.warnings.join("\n")).toMatch(/changed on the server while it was being downloaded/);
    expect(e.localTree()).toEqual({});
    expect(e.stateRows().has("a.txt")).toBe(false);
    expect(await e.run()).toMatchObject({ status: "ok", downloaded: 1 });
    expect(e.localTree()).toEqual({ "a.txt": "B".repeat(36) });
  });

  it("a download that sends more bytes than the listing announced is stopped and discarded", async () => {
    const e = engine({ job: { direction: "download" }, server: { chunkSize: 4 } });
    e.putRemote("grows.log", "12345678", at(1));
    let read = 0;
    // The file grows by a chunk for every chunk read: without the bound the download never ends.
    e.remote.onChunk((ev) => {
      if (ev.method !== "download") return;
      read = Math.max(read, ev.offset);
      e.remote.put("/job/grows.log", Buffer.concat([e.remote.read("/job/grows.log")!, Buffer.from("more")]), at(1));
    });
    const s = await e.run();
    expect(s.downloaded).toBe(0);
    expect(s.deferred + s.failed).toBe(1);
    expect(read).toBeLessThanOrEqual(16);
    expect(e.localTree()).toEqual({});
  });
});

describe("partial transfers are resumed only when the source is proven the same", () => {
  it("a partial download is not resumed when the server's file changed since (same size, new time): it is fetched from the start", async () => {
    const e = engine({ job: { direction: "download" }, server: { chunkSize: 4 } });
    e.putRemote("a.txt", "A".repeat(36), at(1));
    const stopped = cutAndStop(e, "download", 12);
    expect(await e.run(stopped.opts)).toMatchObject({ status: "failed" });
    expect(e.state.partials.list("job")).toHaveLength(1);
    e.putRemote("a.txt", "B".repeat(36), at(2));
    expect(await e.run()).toMatchObject({ status: "ok", downloaded: 1 });
    expect(e.localTree()).toEqual({ "a.txt": "B".repeat(36) });
  });

  it("a partial download of an unchanged file is resumed", async () => {
    const e = engine({ job: { direction: "download" }, server: { chunkSize: 4 } });
    e.putRemote("a.txt", TEXT, at(1));
    const stopped = cutAndStop(e, "download", 12);
    await e.run(stopped.opts);
    expect(e.state.partials.list("job")).toHaveLength(1);
    const starts: number[] = [];
    e.remote.onChunk((ev) => void starts.push(ev.offset));
    expect(await e.run()).toMatchObject({ status: "ok", downloaded: 1 });
    expect(e.readLocal("a.txt")).toBe(TEXT);
    expect(Math.min(...starts)).toBeGreaterThanOrEqual(12);
  });

  it("a partial upload is not resumed when the local file changed since (same size, new time): it is sent from the start", async () => {
    const e = engine({ job: { direction: "upload" }, server: { chunkSize: 4 } });
    e.writeLocal("a.txt", "A".repeat(36), at(1));
    const stopped = cutAndStop(e, "upload", 12);
    expect(await e.run(stopped.opts)).toMatchObject({ status: "failed" });
    expect(e.state.partials.list("job")).toHaveLength(1);
    e.writeLocal("a.txt", "B".repeat(36), at(2));
    expect(await e.run()).toMatchObject({ status: "ok", uploaded: 1 });
    expect(e.remoteTree()).toEqual({ "a.txt": "B".repeat(36) });
  });

  it("a partial upload of an unchanged file is resumed from where it stopped", async () => {
    const e = engine({ job: { direction: "upload" }, server: { chunkSize: 4 } });
    e.writeLocal("a.txt", TEXT, at(1));
    const stopped = cutAndStop(e, "upload", 12);
    await e.run(stopped.opts);
    expect(e.state.partials.list("job")).toHaveLength(1);
    const received: number[] = [];
    e.remote.onChunk((ev) => void received.push(ev.offset));
    expect(await e.run()).toMatchObject({ status: "ok", uploaded: 1 });
    expect(e.remoteTree()).toEqual({ "a.txt": TEXT });
    expect(received.length).toBeLessThanOrEqual((TEXT.length - 12) / 4); // only the rest was sent
  });
});
