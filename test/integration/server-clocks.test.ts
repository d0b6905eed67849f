// Servers whose clocks are not in UTC, each a real pyftpdlib in a zone 5 hours east of UTC (TZ in
// its environment), and a server that dates a file in the future. Local files must get the
// server's true (UTC) times, never a time in the future; a second run transfers nothing; tracked
// deletes reach the other side.
import { existsSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, watch } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeWorkspace, type Workspace } from "../helpers/workspace.js";
import { writeTree } from "../helpers/trees.js";
import { syncJson as sync } from "../helpers/sync-json.js";
import { startPyftpd, type PyftpdServer } from "../servers/pyftpd.js";
import { requireServers } from "../servers/real-servers.js";
import { openState } from "../../src/state/index.js";

requireServers("pyftpdlib");

/** POSIX TZ: 5 hours east of UTC, no summer time (no tzdata needed). */
const EAST_5 = "PKT-5";
const FIVE_HOURS = 5 * 3_600_000;

const NOTHING = { uploaded: 0, downloaded: 0, deletedLocal: 0, deletedRemote: 0, conflicts: 0, failed: 0 };

/** A time `ago` ms before now, in whole seconds plus `plusMs`. */
const past = (ago: number, plusMs = 0) => Math.floor((Date.now() - ago) / 1000) * 1000 + plusMs;

function setTime(path: string, ms: number): void {
  utimesSync(path, new Date(ms), new Date(ms));
}

function clockOffset(ws: Workspace, server: PyftpdServer): number | undefined {
  const state = openState(join(ws.dir, "state"));
  try {
    return state.capabilities.clockOffset("srv", server.host, server.port)?.listingMs;
  } finally {
    state.close();
  }
}

describe("an MLSD server in a zone 5 hours east of UTC, its MLSD and its MFMT reply in local time", () => {
  let server: PyftpdServer;
  let ws: Workspace;
  beforeAll(async () => {
    server = await startPyftpd({ behaviours: ["clock-local"], env: { TZ: EAST_5 } });
    ws = makeWorkspace(server, { fingerprint: server.fingerprint, maxConnections: 2 });
  });
  afterAll(async () => {
    ws?.cleanup();
    await server?.stop();
  });

  it("gives local files the server's true times, a second run transfers nothing, and tracked deletes reach both sides", async () => {
    const remoteDir = join(server.root, "job");
    writeTree(remoteDir, { "theirs.txt": "theirs\n" });
    const theirsAt = past(3_600_000);
    setTime(join(remoteDir, "theirs.txt"), theirsAt);
    const local = ws.folder("local");
    // three files that stay keep the deletions below maxDelete's share
    writeTree(local, { "ours.txt": "ours\n", "k1.txt": "1", "k2.txt": "2", "k3.txt": "3" });
    const oursAt = past(7_200_000);
    setTime(join(local, "ours.txt"), oursAt);
    ws.writeJob("job", { remote: "srv", remotePath: "/job", local, direction: "two-way", delete: "tracked" });

    const first = await sync(ws, "job");
    expect(first.code, first.stderr).toBe(0);
    expect(first.summary).toMatchObject({ status: "ok", uploaded: 4, downloaded: 1, failed: 0 });
    expect(statSync(join(local, "theirs.txt")).mtimeMs).toBe(theirsAt);
    expect(statSync(join(remoteDir, "ours.txt")).mtimeMs).toBe(oursAt);
    expect(clockOffset(ws, server)).toBe(FIVE_HOURS);
    expect(first.stderr.match(/clock offset/g) ?? []).toHaveLength(1);
    // check shows it among what is remembered of the server
    const check = await ws.cli(["check"]);
    expect(check.stdout).toMatch(/^ {2}\s*clock: listing times \+5 h from UTC.*taken off/m);

    const second = await sync(ws, "job");
    expect(second.code, second.stderr).toBe(0);
    expect(second.summary).toMatchObject({ status: "ok", ...NOTHING });
    expect(second.stderr).not.toMatch(/clock offset/);

    rmSync(join(local, "ours.txt"));
    rmSync(join(remoteDir, "theirs.txt"));
    const third = await sync(ws, "job");
    expect(third.code, third.stderr).toBe(0);
    expect(third.summary).toMatchObject({ status: "ok", deletedRemote: 1, deletedLocal: 1, uploaded: 0, downloaded: 0 });
    expect(existsSync(join(remoteDir, "ours.txt"))).toBe(false);
    expect(existsSync(join(local, "theirs.txt"))).toBe(false);
  });
});

/** POSIX TZ: 5 hours west of UTC, no summer time. */
const WEST_5 = "EST5";

describe.each([
  ["with MFMT", ["clock-local"]],
  ["without MFMT (the probe's time as written is read back)", ["clock-local", "no-mfmt"]],
])("a two-way job's first run on an MLSD server 5 hours west of UTC, in local time, %s", (_how, behaviours) => {
  let server: PyftpdServer;
  let ws: Workspace;
  beforeAll(async () => {
    server = await startPyftpd({ behaviours, env: { TZ: WEST_5 } });
    ws = makeWorkspace(server, { fingerprint: server.fingerprint, maxConnections: 2 });
  });
  afterAll(async () => {
    ws?.cleanup();
    await server?.stop();
  });

  it("measures the clock before planning, so newer-wins keeps the partner's newer edit (listed 6 hours old), not the older local one", async () => {
    const remoteDir = join(server.root, "job");
    writeTree(remoteDir, { "shared.txt": "the partner's edit, an hour ago\n" });
    setTime(join(remoteDir, "shared.txt"), past(3_600_000));
    const local = ws.folder("local");
    writeTree(local, { "shared.txt": "our edit, two hours ago\n" });
    setTime(join(local, "shared.txt"), past(7_200_000));
    ws.writeJob("job", { remote: "srv", remotePath: "/job", local, direction: "two-way", onConflict: "newer-wins" });

    const first = await sync(ws, "job");
    expect(first.code, first.stderr).toBe(0);
    expect(first.summary).toMatchObject({ status: "ok", conflicts: 1, uploaded: 0, failed: 0 });
    expect(first.stderr).toMatch(/conflict shared\.txt: .*remote is newer/);
    expect(readFileSync(join(local, "shared.txt"), "utf8")).toBe("the partner's edit, an hour ago\n");
    expect(readFileSync(join(remoteDir, "shared.txt"), "utf8")).toBe("the partner's edit, an hour ago\n");
    expect(clockOffset(ws, server)).toBe(-FIVE_HOURS);
    // the probe left nothing behind
    expect(readdirSync(remoteDir)).toEqual(["shared.txt"]);

    const second = await sync(ws, "job");
    expect(second.code, second.stderr).toBe(0);
    expect(second.summary).toMatchObject({ status: "ok", ...NOTHING });
  });

  it("a plan (dry run) writes no probe file, even with the clock not known yet", async () => {
    const fresh = makeWorkspace(server, { fingerprint: server.fingerprint, maxConnections: 2 });
    const remoteDir = join(server.root, "plan");
    writeTree(remoteDir, { "one.txt": "1\n" });
    const local = fresh.folder("plan-local");
    fresh.writeJob("plan", { remote: "srv", remotePath: "/plan", local, direction: "two-way" });
    const seen: string[] = [];
    const watcher = watch(remoteDir, (_e, name) => void (name && seen.push(String(name))));
    try {
      const r = await fresh.cli(["plan", "plan", "--json"]);
      expect(r.code, r.stderr).toBe(0);
      expect(clockOffset(fresh, server)).toBeUndefined();
    } finally {
      watcher.close();
      fresh.cleanup();
    }
    expect(seen.filter((n) => n !== "one.txt")).toEqual([]);
  });
});

describe("a two-way job on a server whose clock a probe cannot measure (uploads refused)", () => {
  let server: PyftpdServer;
  let ws: Workspace;
  beforeAll(async () => {
    server = await startPyftpd({ behaviours: ["read-only"] });
    ws = makeWorkspace(server, { fingerprint: server.fingerprint, maxConnections: 2 });
  });
  afterAll(async () => {
    ws?.cleanup();
    await server?.stop();
  });

  it("says so once, remembers it in the server's profile, and does not probe again at the next run", async () => {
    const remoteDir = join(server.root, "ro");
    writeTree(remoteDir, { "theirs.txt": "theirs\n" });
    const local = ws.folder("ro-local");
    ws.writeJob("ro", { remote: "srv", remotePath: "/ro", local, direction: "two-way" });

    const first = await sync(ws, "ro");
    expect(first.summary).toMatchObject({ downloaded: 1 });
    expect(first.stderr.match(/clock could not be measured/g) ?? []).toHaveLength(1);
    const check = await ws.cli(["check"]);
    expect(check.stdout).toMatch(/clockProbe: the server's clock could not be measured/);

    // The server logs what was done with a probe (its STOR refused, the DELE after it).
    const probes = async () => ((await server.log()).match(/clock-probe/g) ?? []).length;
    const before = await probes();
    expect(before).toBeGreaterThan(0);
    const second = await sync(ws, "ro");
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).not.toMatch(/clock could not be measured/);
    expect(await probes()).toBe(before);
  });
});

describe("a LIST-only server 5 hours east of UTC whose LIST shows local time and whose MDTM gives UTC", () => {
  let server: PyftpdServer;
  let ws: Workspace;
  beforeAll(async () => {
    server = await startPyftpd({ behaviours: ["clock-list-local-mdtm-utc"], env: { TZ: EAST_5 } });
    ws = makeWorkspace(server, { fingerprint: server.fingerprint, maxConnections: 2 });
  });
  afterAll(async () => {
    ws?.cleanup();
    await server?.stop();
  });

  it("gives downloaded files MDTM's exact time, not the listing's shifted minute, and a second run transfers nothing", async () => {
    const remoteDir = join(server.root, "job");
    writeTree(remoteDir, { "theirs.txt": "theirs\n", "sub/deep.txt": "deep\n" });
    const theirsAt = past(3 * 3_600_000, 17_000);
    setTime(join(remoteDir, "theirs.txt"), theirsAt);
    const local = ws.folder("local");
    writeTree(local, { "ours.txt": "ours\n" });
    ws.writeJob("job", { remote: "srv", remotePath: "/job", local, direction: "two-way", delete: "tracked" });

    const first = await sync(ws, "job");
    expect(first.code, first.stderr).toBe(0);
    expect(first.summary).toMatchObject({ status: "ok", uploaded: 1, downloaded: 2, failed: 0 });
    expect(statSync(join(local, "theirs.txt")).mtimeMs).toBe(theirsAt);
    expect(statSync(join(local, "sub/deep.txt")).mtimeMs).toBeLessThanOrEqual(Date.now());

    const second = await sync(ws, "job");
    expect(second.code, second.stderr).toBe(0);
    expect(second.summary).toMatchObject({ status: "ok", ...NOTHING });

    // A same-size edit on the server a minute later is still seen (the listing's times compare with its own).
    writeTree(remoteDir, { "theirs.txt": "THEIRS\n" });
    setTime(join(remoteDir, "theirs.txt"), theirsAt + 120_000);
    const third = await sync(ws, "job");
    expect(third.code, third.stderr).toBe(0);
    expect(third.summary).toMatchObject({ status: "ok", downloaded: 1, uploaded: 0 });
    expect(statSync(join(local, "theirs.txt")).mtimeMs).toBe(theirsAt + 120_000);
  });
});

describe("an MLSD server in UTC whose MFMT reply shows local time, 5 hours east", () => {
  let server: PyftpdServer;
  let ws: Workspace;
  beforeAll(async () => {
    server = await startPyftpd({ behaviours: ["clock-mfmt-reply-local"], env: { TZ: EAST_5 } });
    ws = makeWorkspace(server, { fingerprint: server.fingerprint, maxConnections: 2 });
  });
  afterAll(async () => {
    ws?.cleanup();
    await server?.stop();
  });

  it("trusts MLSD's times as UTC (RFC 3659): local files get them as they are, and a second run transfers nothing", async () => {
    const remoteDir = join(server.root, "job");
    writeTree(remoteDir, { "theirs.txt": "theirs\n" });
    const theirsAt = past(3_600_000);
    setTime(join(remoteDir, "theirs.txt"), theirsAt);
    const local = ws.folder("local");
    writeTree(local, { "ours.txt": "ours\n" });
    const oursAt = past(7_200_000);
    setTime(join(local, "ours.txt"), oursAt);
    ws.writeJob("job", { remote: "srv", remotePath: "/job", local, direction: "two-way", delete: "tracked" });

    const first = await sync(ws, "job");
    expect(first.code, first.stderr).toBe(0);
    expect(first.summary).toMatchObject({ status: "ok", uploaded: 1, downloaded: 1, failed: 0 });
    expect(statSync(join(remoteDir, "ours.txt")).mtimeMs).toBe(oursAt);
    // the file's time as listed agreed with what was sent: the listings are UTC, whatever the reply said
    expect(clockOffset(ws, server)).toBe(0);

    const second = await sync(ws, "job");
    expect(second.code, second.stderr).toBe(0);
    expect(second.summary).toMatchObject({ status: "ok", ...NOTHING });

    // A file the partner writes later gets its exact time, not one shifted by the reply's zone.
    writeTree(remoteDir, { "later.txt": "later\n" });
    const laterAt = past(600_000);
    setTime(join(remoteDir, "later.txt"), laterAt);
    const third = await sync(ws, "job");
    expect(third.code, third.stderr).toBe(0);
    expect(third.summary).toMatchObject({ status: "ok", downloaded: 1, uploaded: 0 });
    expect(statSync(join(local, "later.txt")).mtimeMs).toBe(laterAt);
    expect(statSync(join(local, "theirs.txt")).mtimeMs).toBe(theirsAt);
  });
});

describe("a server that dates a file in the future", () => {
  let server: PyftpdServer;
  let ws: Workspace;
  beforeAll(async () => {
    server = await startPyftpd({});
    ws = makeWorkspace(server, { fingerprint: server.fingerprint, maxConnections: 2 });
  });
  afterAll(async () => {
    ws?.cleanup();
    await server?.stop();
  });

  it("gives the downloaded file no time in the future, says so, and a second run transfers nothing", async () => {
    const remoteDir = join(server.root, "job");
    writeTree(remoteDir, { "ahead.txt": "from the future\n" });
    setTime(join(remoteDir, "ahead.txt"), past(-2 * 86_400_000));
    const local = ws.folder("local");
    ws.writeJob("job", { remote: "srv", remotePath: "/job", local, direction: "two-way", delete: "tracked" });

    const before = Date.now();
    const first = await sync(ws, "job");
    expect(first.code, first.stderr).toBe(0);
    expect(first.summary).toMatchObject({ status: "ok", downloaded: 1, failed: 0 });
    const at = statSync(join(local, "ahead.txt")).mtimeMs;
    expect(at).toBeGreaterThanOrEqual(before - 1000);
    expect(at).toBeLessThanOrEqual(Date.now());
    expect(first.stderr).toMatch(/ahead\.txt.*in the future/);

    const second = await sync(ws, "job");
    expect(second.code, second.stderr).toBe(0);
    expect(second.summary).toMatchObject({ status: "ok", ...NOTHING });
  });
});

describe("a read-only server in local time 5 hours east (the clock cannot be measured)", () => {
  let server: PyftpdServer;
  let ws: Workspace;
  beforeAll(async () => {
    server = await startPyftpd({ behaviours: ["clock-local", "read-only"], env: { TZ: EAST_5 } });
    ws = makeWorkspace(server, { fingerprint: server.fingerprint, maxConnections: 2 });
  });
  afterAll(async () => {
    ws?.cleanup();
    await server?.stop();
  });

  it("gives a download job's files no time in the future, says why once a run, and a second run transfers nothing", async () => {
    const remoteDir = join(server.root, "job");
    writeTree(remoteDir, { "recent.txt": "an hour ago, listed 4 hours ahead\n" });
    setTime(join(remoteDir, "recent.txt"), past(3_600_000));
    const local = ws.folder("local");
    ws.writeJob("job", { remote: "srv", remotePath: "/job", local, direction: "download", delete: "tracked" });

    const before = Date.now();
    const first = await sync(ws, "job");
    expect(first.code, first.stderr).toBe(0);
    expect(first.summary).toMatchObject({ status: "ok", downloaded: 1, failed: 0 });
    const at = statSync(join(local, "recent.txt")).mtimeMs;
    expect(at).toBeGreaterThanOrEqual(before - 1000);
    expect(at).toBeLessThanOrEqual(Date.now());
    expect(first.stderr.match(/clock could not be measured/g) ?? []).toHaveLength(1);
    expect(first.stderr).toMatch(/recent\.txt.*in the future/);
    expect(clockOffset(ws, server)).toBeUndefined();
    // the probe left nothing behind
    expect(readdirSync(remoteDir)).toEqual(["recent.txt"]);

    const second = await sync(ws, "job");
    expect(second.code, second.stderr).toBe(0);
    expect(second.summary).toMatchObject({ status: "ok", ...NOTHING });
  });
});
