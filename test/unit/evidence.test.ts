import { createHash } from "node:crypto";
import { mkdirSync, statSync, symlinkSync, truncateSync, unlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { JobConfig } from "../../src/config/types.js";
import type { LocalEntry, RemoteEntry } from "../../src/plan/types.js";
import type { RemoteFolder } from "../../src/remote/remote-folder.js";
import { serverHash } from "../../src/protocol/server-hash.js";
import type { FtpsConnection } from "../../src/protocol/connect.js";
import { COMPARE_MAX_BYTES, compareContents } from "../../src/sync/evidence.js";
import { UnsafeLocalPath } from "../../src/local/safe-open.js";
import { SourceChanged } from "../../src/sync/transfers.js";
import { testTempDir } from "../helpers/temp-dir.js";

/**
 * A remote folder whose one connection serves `serverBytes` for RETR (in small chunks) and, when
 * offered, HASH (algorithms in `hashes`) or X-commands (in `hashCommands`).
 */
function fakeServer(serverBytes: Buffer, hashes: string[] = [], hashCommands: string[] = []) {
  const seen: string[] = [];
  const sha256 = () => createHash("sha256").update(serverBytes).digest("hex");
  const answer = (cmd: string) => {
    seen.push(cmd);
    if (cmd.startsWith("HASH ")) return { code: 213, message: `213 SHA-256 0-${serverBytes.length} ${sha256()} ${cmd.slice(5)}` };
    if (cmd.startsWith("XSHA256 ")) return { code: 250, message: `250-Computing SHA256 digest\n250 ${sha256().toUpperCase()}` };
    return { code: 200, message: "200 ok" };
  };
  const conn = {
    capabilities: { hash: hashes, hashCommands },
    client: {
      send: async (cmd: string) => answer(cmd),
      sendIgnoringError: async (cmd: string) => answer(cmd),
      downloadTo: (sink: Writable, path: string) =>
        new Promise<void>((resolve, reject) => {
          seen.push(`RETR ${path}`);
          sink.once("error", reject);
          sink.once("finish", resolve);
          for (let i = 0; i < serverBytes.length; i += 7) sink.write(serverBytes.subarray(i, i + 7));
          sink.end();
        }),
    },
  };
  const c = conn as unknown as FtpsConnection;
  const server = {
    capabilities: conn.capabilities,
    hash: (path: string, method?: Parameters<typeof serverHash>[2]) => serverHash(c, path, method),
    download: (path: string, sink: Writable) => conn.client.downloadTo(sink, path),
  } as unknown as RemoteFolder;
  return { server, seen };
}

function setup(localBytes: Buffer) {
  const dir = testTempDir("evidence");
  writeFileSync(join(dir, "f.txt"), localBytes);
  const st = statSync(join(dir, "f.txt"));
  const job = { local: dir, followSymlinks: false, remotePath: "/job", retries: { attempts: 1, initialDelayMs: 1, maxDelayMs: 1 } } as JobConfig;
  const local: LocalEntry = { path: "f.txt", type: "file", size: st.size, mtimeMs: Math.floor(st.mtimeMs) };
  const remote: RemoteEntry = { path: "f.txt", type: "file", size: st.size, modifyMs: local.mtimeMs, precision: "second" };
  return { dir, job, local, remote };
}

describe("content evidence for two files of the same size", () => {
  const bytes = Buffer.from("LOCALEDIT\n".repeat(30));

  it("the same bytes downloaded from a server without HASH are the same file", async () => {
    const { job, local, remote } = setup(bytes);
    const { server, seen } = fakeServer(Buffer.from(bytes));
    expect(await compareContents({ job, server, path: "f.txt", local, remote })).toMatchObject({ same: true });
    expect(seen).toEqual(["RETR /job/f.txt"]);
  });

  it("one byte changed at the end makes them different", async () => {
    const { job, local, remote } = setup(bytes);
    const theirs = Buffer.from(bytes);
    theirs[theirs.length - 1] = 0x21;
    expect(await compareContents({ job, server: fakeServer(theirs).server, path: "f.txt", local, remote })).toMatchObject({ same: false });
  });

  it("a server that sends more bytes than listed is not the same file", async () => {
    const { job, local, remote } = setup(bytes);
    const longer = Buffer.concat([bytes, Buffer.from("more")]);
    expect(await compareContents({ job, server: fakeServer(longer).server, path: "f.txt", local, remote })).toMatchObject({ same: false });
  });

  it("a server that sends fewer bytes than listed is not the same file", async () => {
    const { job, local, remote } = setup(bytes);
    expect(await compareContents({ job, server: fakeServer(bytes.subarray(0, 10)).server, path: "f.txt", local, remote })).toMatchObject({ same: false });
  });

  it.each([
    ["the server's HASH decides when it is offered: equal", bytes, true],
    ["the server's HASH decides when it is offered: different", Buffer.from("PARTNERED\n".repeat(30)), false],
  ] as const)("%s", async (_name, serverBytes, same) => {
    const { job, local, remote } = setup(bytes);
    const { server, seen } = fakeServer(Buffer.from(serverBytes), ["SHA-256"]);
    expect(await compareContents({ job, server, path: "f.txt", local, remote })).toMatchObject({ same, how: expect.stringContaining("SHA-256") });
    expect(seen.some((c) => c.startsWith("RETR"))).toBe(false);
  });

  it("a file too big to download for a compare, on a server without HASH, is not taken as the same", async () => {
    const { dir, job, local, remote } = setup(bytes);
    truncateSync(join(dir, "f.txt"), COMPARE_MAX_BYTES + 1); // sparse: no 64 MiB written
    const st = statSync(join(dir, "f.txt"));
    const big = { ...local, size: st.size, mtimeMs: Math.floor(st.mtimeMs) };
    const { server, seen } = fakeServer(bytes);
    expect(await compareContents({ job, server, path: "f.txt", local: big, remote: { ...remote, size: big.size } })).toMatchObject({ same: false, how: expect.stringContaining("no HASH") });
    expect(seen).toEqual([]);
  });

  it("a local file changed since the plan is not compared: it is taken again next run", async () => {
    const { dir, job, local, remote } = setup(bytes);
    const later = new Date(local.mtimeMs + 5000);
    utimesSync(join(dir, "f.txt"), later, later);
    await expect(compareContents({ job, server: fakeServer(bytes).server, path: "f.txt", local, remote })).rejects.toBeInstanceOf(SourceChanged);
  });

  it.each([
    ["XSHA256", ["XSHA256"], bytes, true],
    ["XSHA256, different", ["XSHA256"], Buffer.from("PARTNERED\n".repeat(30)), false],
  ] as const)("a server without HASH but with %s is asked for its hash instead of sending the file", async (_name, commands, serverBytes, same) => {
    const { job, local, remote } = setup(bytes);
    const { server, seen } = fakeServer(Buffer.from(serverBytes), [], [...commands]);
    expect(await compareContents({ job, server, path: "f.txt", local, remote })).toMatchObject({ same, how: expect.stringContaining("XSHA256") });
    expect(seen).toEqual(["XSHA256 /job/f.txt"]);
  });

  it.each([false, true])(
    "a symlink to an outside file with the remote's bytes, put in place of the local file after the scan, is not read (followSymlinks %s)",
    async (followSymlinks) => {
      const { dir, job, local, remote } = setup(bytes);
      // The outside file looks exactly like the scanned one: same bytes, same size, same time.
      const outside = join(testTempDir("evidence-outside"), "theirs.txt");
      mkdirSync(join(outside, ".."), { recursive: true });
      writeFileSync(outside, bytes);
      const t = new Date(local.mtimeMs);
      utimesSync(outside, t, t);
      unlinkSync(join(dir, "f.txt"));
      symlinkSync(outside, join(dir, "f.txt"));
      const { server, seen } = fakeServer(Buffer.from(bytes));
      await expect(compareContents({ job: { ...job, followSymlinks }, server, path: "f.txt", local, remote })).rejects.toBeInstanceOf(UnsafeLocalPath);
      expect(seen).toEqual([]);
    },
  );
});
