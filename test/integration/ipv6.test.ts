// IPv6 throughout, against a real pyftpdlib listening on ::1 only: a remote whose host is the
// literal "::1" syncs a whole job both ways in passive mode (EPSV over IPv6) and in active mode
// (EPRT |2|::1|port|).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { treeObject, writeTree } from "../helpers/trees.js";
import { makeWorkspace, type Workspace } from "../helpers/workspace.js";
import { startPyftpd, type PyftpdServer } from "../servers/pyftpd.js";
import { requireServers } from "../servers/real-servers.js";

requireServers("pyftpdlib");

const FILES = {
  "a.txt": "over IPv6\n",
  "sub/b.bin": Buffer.alloc(200_000, 3),
};

describe("pyftpdlib listening on ::1 only", () => {
  let server: PyftpdServer;
  const workspaces: Workspace[] = [];
  beforeAll(async () => {
    server = await startPyftpd({ listenAddress: "::1" });
  });
  afterAll(async () => {
    for (const ws of workspaces) ws.cleanup();
    await server?.stop();
  });

  it.each([
    ["passive", /> EPSV\b/, /> (EPRT|PORT)\b/],
    ["active", /> EPRT \|2\|::1\|\d+\|/, /> (EPSV|PASV|PORT)\b/],
  ] as const)("syncs a job up and back down with the literal host ::1, in %s mode", async (mode, used, unused) => {
    const ws = makeWorkspace(server, { host: "::1", fingerprint: server.fingerprint, dataConnections: mode, timeoutSeconds: 10 });
    workspaces.push(ws);
    const local = ws.folder("local");
    writeTree(local, FILES);
    ws.writeJob("up", { remote: "srv", remotePath: `/v6-${mode}`, local, direction: "upload" });
    const up = await ws.cli(["sync", "up", "-v"]);
    expect(up.code, up.stdout + up.stderr).toBe(0);
    const back = ws.folder("back");
    ws.writeJob("down", { remote: "srv", remotePath: `/v6-${mode}`, local: back, direction: "download" });
    const down = await ws.cli(["sync", "down", "-v"]);
    expect(down.code, down.stdout + down.stderr).toBe(0);
    expect(treeObject(back)).toEqual(treeObject(local));
    // the agent's debug log of its commands: the data connections of the mode asked, and only those
    for (const r of [up, down]) {
      expect(r.stdout + r.stderr).toMatch(used);
      expect(r.stdout + r.stderr).not.toMatch(unused);
    }
  });
});
