// pyftpdlib 1.5.7 (Debian's) starts a data connection's TLS handshake only once it has received the
// transfer command (STOR, RETR, APPE, LIST, MLSD): a client that waits for the data connection's
// handshake before it sends the command waits for ever, and the server resets the connection.
// Every path of the engine that opens a data connection is run here against it: whole jobs in
// both TLS modes and both directions, with commands pipelined and one at a time (the technique a
// pool remembers as off), the PASV fallback, LIST, downloads from an offset (REST) and resumed
// uploads (APPE).
import { mkdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { tempNameFor } from "../../src/local/temp-names.js";
import { connectFtps } from "../../src/protocol/connect.js";
import { openState } from "../../src/state/index.js";
import { remoteFor } from "../helpers/connect-server.js";
import { makeWorkspace, rememberOff, type Workspace } from "../helpers/workspace.js";
import { runSync, sha } from "../faults/harness.js";
import { startPyftpd, type PyftpdServer } from "../servers/pyftpd.js";
import { requireServers } from "../servers/real-servers.js";

requireServers("pyftpdlib");

/** A small tree: an empty file, small ones, one of several data chunks, a subfolder. */
function writeTree(root: string): Map<string, string> {
  const files = new Map<string, Buffer>([
    ["empty.txt", Buffer.alloc(0)],
    ["a.txt", Buffer.from("hello pyftpdlib\n")],
    ["sub/b.bin", Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 251))],
    ["sub/deeper/c.txt", Buffer.from("c".repeat(1000))],
  ]);
  const hashes = new Map<string, string>();
  for (const [rel, content] of files) {
    mkdirSync(join(root, rel, ".."), { recursive: true });
    writeFileSync(join(root, rel), content);
    hashes.set(rel, sha(content));
  }
  return hashes;
}

function hashesUnder(root: string, rels: Iterable<string>): Map<string, string> {
  return new Map([...rels].map((rel) => [rel, sha(readFileSync(join(root, rel)))]));
}

/** The commands of each write the engine logged at debug level on stderr ("> EPSV | STOR /x"), transfers only. */
function transferWrites(log: string): string[] {
  return log
    .split("\n")
    .map((l) => /\[ftp srv\] > (.*)$/.exec(l)?.[1])
    .filter((w): w is string => !!w && /\b(EPSV|PASV|STOR|RETR|APPE|MLSD|LIST)\b/.test(w));
}

const modes = [
  { tls: "explicit", pipelining: true },
  { tls: "explicit", pipelining: false },
  { tls: "implicit", pipelining: true },
  { tls: "implicit", pipelining: false },
] as const;

describe.each(modes)("whole jobs against pyftpdlib, $tls TLS, pipelining $pipelining", ({ tls, pipelining }) => {
  let server: PyftpdServer;
  let ws: Workspace;
  beforeAll(async () => {
    server = await startPyftpd({ tls });
    ws = makeWorkspace(server, { tls, fingerprint: server.fingerprint, timeoutSeconds: 10 }, { log: { level: "debug" } });
    // What a pool learnt about a server that drops commands sent together, and remembers.
    if (!pipelining) rememberOff(ws, server, "pipelining", "no reply to a command sent together with another (test)");
  });
  afterAll(async () => {
    ws?.cleanup();
    await server?.stop();
  });

  it("uploads a tree, then a download job brings it back whole, every data connection in TLS", async () => {
    const source = ws.folder("source");
    const hashes = writeTree(source);
    mkdirSync(join(server.root, "up"));
    ws.writeJob("up", { remote: "srv", remotePath: "/up", local: source, direction: "upload" });
    const up = await runSync(ws, "up", { timeoutMs: 50_000 });
    expect(up.code, up.stderr.slice(-3000)).toBe(0);
    expect(up.summary).toMatchObject({ status: "ok", uploaded: hashes.size, failed: 0 });
    expect(hashesUnder(join(server.root, "up"), hashes.keys())).toEqual(hashes);

    const target = ws.folder("target");
    ws.writeJob("down", { remote: "srv", remotePath: "/up", local: target, direction: "download" });
    const down = await runSync(ws, "down", { timeoutMs: 50_000 });
    expect(down.code, down.stderr.slice(-3000)).toBe(0);
    expect(down.summary).toMatchObject({ status: "ok", downloaded: hashes.size, failed: 0 });
    expect(hashesUnder(target, hashes.keys())).toEqual(hashes);

    // The mode asked for is the mode used: the transfer command in the passive command's write, or alone.
    const writes = transferWrites(up.stderr + down.stderr);
    expect(writes.some((w) => /^EPSV \| (STOR|RETR|MLSD)/.test(w))).toBe(pipelining);
    expect(writes.some((w) => /^(STOR|RETR) /.test(w))).toBe(!pipelining);
    // pyftpdlib answers the commands sent in a transfer's write (SIZE, MDTM) while it transfers:
    // learnt once (one log line, the transfers retried), remembered for the next runs.
    const learnt = /answered a command sent behind a transfer before the transfer ended/g;
    expect(up.stderr.match(learnt)?.length ?? 0).toBe(pipelining ? 1 : 0);
    expect(down.stderr.match(learnt)).toBeNull();
    const state = openState(join(ws.dir, "state"));
    try {
      expect(!!state.capabilities.techniquesOff("srv", server.host, server.port).commandsBehindTransfer).toBe(pipelining);
    } finally {
      state.close();
    }
    // The server refuses clear data connections (tls_data_required): each transfer it completed was in TLS.
    const log = await server.log();
    // (a transfer whose SIZE was answered early may have completed too, and was sent again)
    expect(log.match(/STOR .* completed=1/g)?.length).toBeGreaterThanOrEqual(hashes.size);
    expect(log.match(/RETR .* completed=1/g)?.length).toBeGreaterThanOrEqual(hashes.size);
  });

  it("a one-file upload is retried once at most: what the first failure taught holds on every connection of the pool", async () => {
    const fresh = makeWorkspace(server, { tls, fingerprint: server.fingerprint, timeoutSeconds: 10, maxConnections: 4 });
    try {
      if (!pipelining) rememberOff(fresh, server, "pipelining");
      const local = fresh.folder("one");
      writeFileSync(join(local, "only.txt"), "just one file");
      mkdirSync(join(server.root, `one-${pipelining}`));
      fresh.writeJob("one", { remote: "srv", remotePath: `/one-${pipelining}`, local, direction: "upload" });
      const r = await runSync(fresh, "one", { timeoutMs: 50_000 });
      expect(r.code, r.stderr.slice(-3000)).toBe(0);
      expect(readFileSync(join(server.root, `one-${pipelining}`, "only.txt"), "utf8")).toBe("just one file");
      // The first attempt (pipelined) meets the early reply; its retry, on whichever connection, does not.
      expect(r.stderr.match(/unexpected reply to STOR[^\n]*\(attempt \d/g)?.length ?? 0, r.stderr.slice(-3000)).toBe(pipelining ? 1 : 0);
    } finally {
      fresh.cleanup();
    }
  });

  it("a two-way job sends a local change and brings a server change", async () => {
    const local = ws.folder("both");
    mkdirSync(join(server.root, "both"));
    writeFileSync(join(local, "mine.txt"), "from here");
    writeFileSync(join(server.root, "both", "theirs.txt"), "from there");
    ws.writeJob("both", { remote: "srv", remotePath: "/both", local, direction: "two-way" });
    const r = await runSync(ws, "both", { timeoutMs: 50_000 });
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect(r.summary).toMatchObject({ status: "ok", uploaded: 1, downloaded: 1, failed: 0 });
    expect(readFileSync(join(server.root, "both", "mine.txt"), "utf8")).toBe("from here");
    expect(readFileSync(join(local, "theirs.txt"), "utf8")).toBe("from there");
  });
});

describe.each(modes)("transfers cut short, continued by a whole job against pyftpdlib, $tls TLS, pipelining $pipelining", ({ tls, pipelining }) => {
  // pyftpdlib answers REST half a second late here (slow-rest): one command at a time, a data
  // connection opened before RETR was sent would start its handshake while pyftpdlib has no
  // transfer for it, and be reset.
  let server: PyftpdServer;
  let ws: Workspace;
  const WHOLE = "first half of the file|second half of the file";
  const HALF = 22;
  const SERVER_MS = Date.UTC(2024, 0, 1, 12, 0, 0);
  const LOCAL_MS = Date.UTC(2024, 5, 1, 8, 0, 0);
  beforeAll(async () => {
    server = await startPyftpd({ tls, behaviours: ["slow-rest"] });
    ws = makeWorkspace(server, { tls, fingerprint: server.fingerprint, timeoutSeconds: 10 }, { log: { level: "debug" } });
    if (!pipelining) rememberOff(ws, server, "pipelining");
    // learnt already (see above): the upload's first attempt is the resumed one
    rememberOff(ws, server, "commandsBehindTransfer");
  });
  afterAll(async () => {
    ws?.cleanup();
    await server?.stop();
  });

  /** Records a transfer of doc.txt as an interrupted run leaves it. */
  const seedPartial = (job: string, direction: "upload" | "download", tempPath: string, sourceMtime: number) => {
    const state = openState(join(ws.dir, "state"));
    try {
      state.partials.begin({ job, path: "doc.txt", direction, tempPath, sourceSize: WHOLE.length, sourceMtime, startedAt: Date.now() });
    } finally {
      state.close();
    }
  };

  it("a download cut short is continued from where its part ends (REST)", async () => {
    const local = ws.folder("down-local");
    mkdirSync(join(server.root, "down"));
    writeFileSync(join(server.root, "down", "doc.txt"), WHOLE);
    utimesSync(join(server.root, "down", "doc.txt"), SERVER_MS / 1000, SERVER_MS / 1000);
    const temp = join(local, tempNameFor("doc.txt"));
    writeFileSync(temp, WHOLE.slice(0, HALF));
    seedPartial("down", "download", temp, SERVER_MS);
    ws.writeJob("down", { remote: "srv", remotePath: "/down", local, direction: "download" });
    const r = await runSync(ws, "down", { timeoutMs: 50_000 });
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect(readFileSync(join(local, "doc.txt"), "utf8")).toBe(WHOLE);
    expect(r.stderr).toMatch(new RegExp(`\\[ftp srv\\] > (EPSV \\| )?REST ${HALF}`));
    expect(await server.log()).toMatch(new RegExp(`RETR .*doc\\.txt completed=1 bytes=${WHOLE.length - HALF}\\b`));
  });

  it("an upload cut short is continued after what the server holds (APPE)", async () => {
    const local = ws.folder("up-local");
    mkdirSync(join(server.root, "up"));
    writeFileSync(join(local, "doc.txt"), WHOLE);
    utimesSync(join(local, "doc.txt"), LOCAL_MS / 1000, LOCAL_MS / 1000);
    const remoteTemp = `/up/${tempNameFor("doc.txt")}`;
    writeFileSync(join(server.root, remoteTemp), WHOLE.slice(0, HALF));
    seedPartial("up", "upload", remoteTemp, LOCAL_MS);
    ws.writeJob("up", { remote: "srv", remotePath: "/up", local, direction: "upload" });
    const r = await runSync(ws, "up", { timeoutMs: 50_000 });
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect(readFileSync(join(server.root, "up", "doc.txt"), "utf8")).toBe(WHOLE);
    expect(await server.log()).toMatch(new RegExp(`APPE .*completed=1 bytes=${WHOLE.length - HALF}\\b`));
  });
});

describe.each(["explicit", "implicit"] as const)("a segmented download by a whole job against pyftpdlib, %s TLS, one command at a time", (tls) => {
  // Files of 64 MiB and more come in ranges over several connections, each range after REST (here
  // answered half a second late: see slow-rest above).
  let server: PyftpdServer;
  let ws: Workspace;
  beforeAll(async () => {
    server = await startPyftpd({ tls, behaviours: ["slow-rest"] });
    ws = makeWorkspace(server, { tls, fingerprint: server.fingerprint, timeoutSeconds: 15, maxConnections: 4 }, { log: { level: "debug" } });
    rememberOff(ws, server, "pipelining");
  });
  afterAll(async () => {
    ws?.cleanup();
    await server?.stop();
  });

  it("brings a 64 MiB file whole, its ranges fetched after REST", async () => {
    const big = Buffer.alloc(64 * 2 ** 20);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32BE(i, i);
    mkdirSync(join(server.root, "big"));
    writeFileSync(join(server.root, "big", "big.bin"), big);
    const local = ws.folder("big-local");
    ws.writeJob("big", { remote: "srv", remotePath: "/big", local, direction: "download" });
    const r = await runSync(ws, "big", { timeoutMs: 55_000 });
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect(sha(readFileSync(join(local, "big.bin")))).toBe(sha(big));
    expect(r.stderr.match(/\[ftp srv\] > REST [1-9]\d*/g)?.length ?? 0).toBeGreaterThanOrEqual(1);
  });
});

/** Collects a download's bytes. */
function sink(): { stream: Writable; text(): string } {
  const chunks: Buffer[] = [];
  return { stream: new Writable({ write: (c: Buffer, _e, done) => (chunks.push(c), done()) }), text: () => Buffer.concat(chunks).toString() };
}

describe.each(["explicit", "implicit"] as const)("the engine's other data paths against pyftpdlib, %s TLS", (tls) => {
  let server: PyftpdServer;
  let listOnly: PyftpdServer;
  beforeAll(async () => {
    [server, listOnly] = await Promise.all([startPyftpd({ tls, behaviours: ["epsv-unknown"] }), startPyftpd({ tls, behaviours: ["no-mlsd"] })]);
  });
  afterAll(async () => {
    await server?.stop();
    await listOnly?.stop();
  });
  const opened: { close(): void }[] = [];
  afterEach(() => opened.splice(0).forEach((c) => c.close()));

  it.each([true, false])("falls back to PASV, downloads from an offset (REST) and resumes an upload (APPE), pipelining %s", async (pipelining) => {
    const c = await connectFtps(remoteFor(server, { tls }), undefined, undefined, pipelining ? {} : { pipelining: "test" });
    opened.push(c);
    const sent: string[] = [];
    c.client.control.onWrite = (commands) => void sent.push(commands.join(" | "));
    const name = `/resume-${pipelining}.txt`;
    await c.client.upload(Readable.from([Buffer.from("first half, ")]), name, false);
    await c.client.upload(Readable.from([Buffer.from("second half")]), name, true);
    expect(readFileSync(join(server.root, name), "utf8")).toBe("first half, second half");
    const tail = sink();
    await c.client.download(tail.stream, name, 6);
    expect(tail.text()).toBe("half, second half");
    expect(await c.client.list("/", c.listCommand)).toMatch(new RegExp(`type=file;.* ${name.slice(1).replace(".", "\\.")}`));
    expect(sent.some((w) => w.startsWith("PASV"))).toBe(true);
    expect(sent.some((w) => /^(PASV \| )?APPE /.test(w))).toBe(true);
    expect(sent.some((w) => /^(PASV \| )?REST 6/.test(w))).toBe(true);
  });

  it.each([true, false])("lists with LIST where the server has no MLSD, pipelining %s", async (pipelining) => {
    writeFileSync(join(listOnly.root, `listed-${pipelining}.txt`), "x");
    const c = await connectFtps(remoteFor(listOnly, { tls }), undefined, undefined, pipelining ? {} : { pipelining: "test" });
    opened.push(c);
    expect(c.capabilities.mlsd).toBe(false);
    expect(await c.client.list("/", "LIST")).toMatch(new RegExp(`listed-${pipelining}\\.txt`));
  });
});
