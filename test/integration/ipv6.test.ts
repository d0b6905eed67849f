// IPv6 throughout, against a real pyftpdlib listening on ::1 only: a remote whose host is the
// literal "::1" syncs a whole job both ways, explicit and implicit TLS, in passive mode (EPSV over IPv6) and in active mode
// (EPRT |2|::1|port|), and `ftps-sync fingerprint [::1]:PORT` reads the server's certificate; and
// the same job, both modes, against vsftpd, ProFTPD and Pure-FTPd listening on ::1 only.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { treeObject, writeTree } from "../helpers/trees.js";
import { makeWorkspace, type Workspace } from "../helpers/workspace.js";
import { startPyftpd, type PyftpdServer } from "../servers/pyftpd.js";
import { requireServers, startServer, type RunningServer, type ServerKind } from "../servers/real-servers.js";

requireServers("pyftpdlib", "vsftpd", "proftpd", "pureftpd");

const FILES = {
  "a.txt": "over IPv6\n",
  "sub/b.bin": Buffer.alloc(200_000, 3),
};

describe("pyftpdlib listening on ::1 only", () => {
  let server: PyftpdServer;
  let implicitServer: PyftpdServer;
  const workspaces: Workspace[] = [];
  beforeAll(async () => {
    server = await startPyftpd({ listenAddress: "::1" });
    implicitServer = await startPyftpd({ listenAddress: "::1", tls: "implicit" });
  });
  afterAll(async () => {
    for (const ws of workspaces) ws.cleanup();
    await server?.stop();
    await implicitServer?.stop();
  });

  it.each([
    ["passive", "explicit", /> EPSV\b/, /> (EPRT|PORT)\b/],
    ["active", "explicit", /> EPRT \|2\|::1\|\d+\|/, /> (EPSV|PASV|PORT)\b/],
    ["passive", "implicit", /> EPSV\b/, /> (EPRT|PORT)\b/],
    ["active", "implicit", /> EPRT \|2\|::1\|\d+\|/, /> (EPSV|PASV|PORT)\b/],
  ] as const)("syncs a job up and back down with the literal host ::1, in %s mode, %s TLS", async (mode, tls, used, unused) => {
    const target = tls === "implicit" ? implicitServer : server;
    const ws = makeWorkspace(target, { host: "::1", tls, fingerprint: target.fingerprint, dataConnections: mode, timeoutSeconds: 10 });
    workspaces.push(ws);
    const local = ws.folder("local");
    writeTree(local, FILES);
    ws.writeJob("up", { remote: "srv", remotePath: `/v6-${mode}-${tls}`, local, direction: "upload" });
    const up = await ws.cli(["sync", "up", "-v"]);
    expect(up.code, up.stdout + up.stderr).toBe(0);
    const back = ws.folder("back");
    ws.writeJob("down", { remote: "srv", remotePath: `/v6-${mode}-${tls}`, local: back, direction: "download" });
    const down = await ws.cli(["sync", "down", "-v"]);
    expect(down.code, down.stdout + down.stderr).toBe(0);
    expect(treeObject(back)).toEqual(treeObject(local));
    // the agent's debug log of its commands: the data connections of the mode asked, and only those
    for (const r of [up, down]) {
      expect(r.stdout + r.stderr).toMatch(used);
      expect(r.stdout + r.stderr).not.toMatch(unused);
    }
  });

  it("says plainly that PORT cannot name an IPv6 address when the server refuses EPRT in active mode", async () => {
    const refusing = await startPyftpd({ listenAddress: "::1", behaviours: ["eprt-refused"] });
    try {
      const ws = makeWorkspace(refusing, { host: "::1", fingerprint: refusing.fingerprint, dataConnections: "active", timeoutSeconds: 10 });
      workspaces.push(ws);
      const local = ws.folder("local");
      writeTree(local, { "a.txt": "a" });
      ws.writeJob("up", { remote: "srv", remotePath: "/v6-no-eprt", local, direction: "upload" });
      const r = await ws.cli(["sync", "up"]);
      expect(r.code).not.toBe(0);
      expect(r.stdout + r.stderr).toContain("the server refused EPRT, and PORT cannot name an IPv6 address (::1): use passive mode with this server");
    } finally {
      await refusing.stop();
    }
  });

  it("says, for a certificate not trusted, to run `ftps-sync fingerprint [::1]:PORT`, and that command reads the pin", async () => {
    const ws = makeWorkspace(server, { host: "::1", timeoutSeconds: 10 });
    workspaces.push(ws);
    const r = await ws.cli(["check"]);
    expect(r.code).toBe(4);
    const output = r.stdout + r.stderr;
    expect(output).toContain(`cannot connect to srv ([::1]:${server.port}, explicit TLS)`);
    const suggested = /`ftps-sync (fingerprint [^`]+)`/.exec(output)?.[1];
    expect(suggested).toBe(`fingerprint [::1]:${server.port}`);
    const f = await runCli(suggested!.split(" "));
    expect(f.code, f.stderr).toBe(0);
    expect(f.stdout.trim()).toBe(server.fingerprint);
  });

  it("prints the certificate's fingerprint for the target [::1]:PORT", async () => {
    const r = await runCli(["fingerprint", `[::1]:${server.port}`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(server.fingerprint);
    // the address written back as it was given, not as the ambiguous "::1:PORT"
    expect(r.stderr).toContain(`# [::1]:${server.port} (explicit TLS`);
  });
});

describe.each(["vsftpd", "proftpd", "pureftpd"] as ServerKind[])("%s listening on ::1 only", (kind) => {
  let server: RunningServer;
  const workspaces: Workspace[] = [];
  beforeAll(async () => {
    server = await startServer(kind, { tls: "explicit", listenAddress: "::1", certHosts: ["localhost", "::1"] });
  });
  afterAll(async () => {
    for (const ws of workspaces) ws.cleanup();
    await server?.stop();
  });

  it.each([
    ["passive", /> EPSV\b/, /> (EPRT|PORT|PASV)\b/],
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
    for (const r of [up, down]) {
      expect(r.stdout + r.stderr).toMatch(used);
      expect(r.stdout + r.stderr).not.toMatch(unused);
    }
  });
});
