// Servers whose listings other servers here do not show, each a real pyftpdlib with a behaviour
// (test/servers/pyftpd/behaviours/): a LIST-only server that refuses LIST with a path, and one that
// lists in DOS style as IIS does. A whole two-way job works on each, and a second run transfers nothing.
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeWorkspace, type Workspace } from "../helpers/workspace.js";
import { treeOf, writeTree } from "../helpers/trees.js";
import { syncJson as sync } from "../helpers/sync-json.js";
import { startPyftpd, type PyftpdServer } from "../servers/pyftpd.js";
import { requireServers } from "../servers/real-servers.js";
import { openState } from "../../src/state/index.js";

requireServers("pyftpdlib");

/** Every file under `root` with its text (treeOf gives hashes). */
function contents(root: string): Record<string, string> {
  return Object.fromEntries([...treeOf(root).keys()].sort().map((rel) => [rel, readFileSync(join(root, rel), "utf8")]));
}

const NOTHING = { uploaded: 0, downloaded: 0, deletedLocal: 0, deletedRemote: 0, conflicts: 0, failed: 0 };

describe("a LIST-only server that refuses LIST with a path (550)", () => {
  let server: PyftpdServer;
  let ws: Workspace;
  beforeAll(async () => {
    server = await startPyftpd({ behaviours: ["list-path-refused"] });
    ws = makeWorkspace(server, { fingerprint: server.fingerprint, maxConnections: 2 });
  });
  afterAll(async () => {
    ws?.cleanup();
    await server?.stop();
  });

  it("is listed folder by folder with CWD then LIST: a two-way job syncs whole, a second run transfers nothing, a tracked delete reaches the server, and the fallback is remembered and logged once", async () => {
    const remoteDir = join(server.root, "job");
    writeTree(remoteDir, { "from-server.txt": "theirs\n", "sub/deep.txt": "deep theirs\n" });
    const local = ws.folder("local");
    writeTree(local, { "local.txt": "ours\n", "dir/a.txt": "ours, deeper\n" });
    ws.writeJob("job", { remote: "srv", remotePath: "/job", local, direction: "two-way", delete: "tracked" });

    const first = await sync(ws, "job");
    expect(first.code, first.stderr).toBe(0);
    expect(first.summary).toMatchObject({ status: "ok", uploaded: 2, downloaded: 2, failed: 0 });
    const both = { "dir/a.txt": "ours, deeper\n", "from-server.txt": "theirs\n", "local.txt": "ours\n", "sub/deep.txt": "deep theirs\n" };
    expect(contents(local)).toEqual(both);
    expect(contents(remoteDir)).toEqual(both);
    // learnt once, said once
    expect(first.stderr.match(/refused LIST with a path/g) ?? []).toHaveLength(1);

    const second = await sync(ws, "job");
    expect(second.code, second.stderr).toBe(0);
    expect(second.summary).toMatchObject({ status: "ok", ...NOTHING });
    expect(second.stderr).not.toMatch(/refused LIST with a path/);
    const state = openState(join(ws.dir, "state"));
    try {
      expect(Object.keys(state.capabilities.techniquesOff("srv", server.host, server.port))).toContain("list-path");
    } finally {
      state.close();
    }

    // A tracked delete: the file must be found on the server (not taken for gone) and deleted there.
    rmSync(join(local, "local.txt"));
    const third = await sync(ws, "job");
    expect(third.code, third.stderr).toBe(0);
    expect(third.summary).toMatchObject({ status: "ok", deletedRemote: 1, uploaded: 0, downloaded: 0 });
    expect(existsSync(join(remoteDir, "local.txt"))).toBe(false);

    // An edit on the server of a file in a subfolder is seen (its folder was listed, not taken for empty).
    writeTree(remoteDir, { "sub/deep.txt": "deep theirs, edited and longer\n" });
    const fourth = await sync(ws, "job");
    expect(fourth.code, fourth.stderr).toBe(0);
    expect(fourth.summary).toMatchObject({ status: "ok", downloaded: 1, uploaded: 0 });
    expect(readFileSync(join(local, "sub/deep.txt"), "utf8")).toBe("deep theirs, edited and longer\n");
  });
});

describe("a server that lists in DOS style (IIS)", () => {
  let server: PyftpdServer;
  let ws: Workspace;
  beforeAll(async () => {
    server = await startPyftpd({ behaviours: ["dos-list"] });
    ws = makeWorkspace(server, { fingerprint: server.fingerprint, maxConnections: 2 });
  });
  afterAll(async () => {
    ws?.cleanup();
    await server?.stop();
  });

  it("keeps the leading spaces of names: a two-way job syncs them once, a second run transfers nothing, and a tracked delete reaches the server", async () => {
    const remoteDir = join(server.root, "job");
    mkdirSync(remoteDir);
    writeTree(remoteDir, { " theirs lead.txt": "theirs\n", "plain theirs.txt": "plain\n" });
    const local = ws.folder("local");
    writeTree(local, { " lead.txt": "one space\n", "  two.txt": "two spaces\n", "plain.txt": "none\n", " sub dir/ x.txt": "in a folder with a space\n" });
    ws.writeJob("job", { remote: "srv", remotePath: "/job", local, direction: "two-way", delete: "tracked" });

    const first = await sync(ws, "job");
    expect(first.code, first.stderr).toBe(0);
    expect(first.summary).toMatchObject({ status: "ok", uploaded: 4, downloaded: 2, failed: 0 });
    const both = {
      " lead.txt": "one space\n", "  two.txt": "two spaces\n", "plain.txt": "none\n", " sub dir/ x.txt": "in a folder with a space\n",
      " theirs lead.txt": "theirs\n", "plain theirs.txt": "plain\n",
    };
    expect(contents(local)).toEqual(both);
    expect(contents(remoteDir)).toEqual(both);

    const second = await sync(ws, "job");
    expect(second.code, second.stderr).toBe(0);
    expect(second.summary).toMatchObject({ status: "ok", ...NOTHING });
    expect(contents(remoteDir)).toEqual(both);

    // A tracked delete: the server's DOS-style STAT line of the file is read (not taken for "gone").
    rmSync(join(local, " lead.txt"));
    const third = await sync(ws, "job");
    expect(third.code, third.stderr).toBe(0);
    expect(third.summary).toMatchObject({ status: "ok", deletedRemote: 1, uploaded: 0, downloaded: 0 });
    expect(existsSync(join(remoteDir, " lead.txt"))).toBe(false);
  });
});
