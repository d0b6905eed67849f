// Active mode against a real vsftpd that forbids passive mode (pasv_enable=NO, port_enable=YES),
// and a ProFTPD that denies EPSV and PASV; and PORT, learnt once, for a pyftpdlib that refuses EPRT:
// a remote with "dataConnections": "active" syncs a whole job both ways through the CLI, explicit
// and implicit TLS, the data connections in TLS (force_local_data_ssl) resuming the control
// session (require_ssl_reuse), which vsftpd enforces. The default, passive, fails there.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { treeObject, writeTree } from "../helpers/trees.js";
import { makeWorkspace, type Workspace } from "../helpers/workspace.js";
import { startPyftpd, type PyftpdServer } from "../servers/pyftpd.js";
import { requireServers, startServer, type RunningServer } from "../servers/real-servers.js";

requireServers("vsftpd", "proftpd", "pyftpdlib");

const FILES = {
  "report.csv": "a,b\n1,2\n",
  "deep/er/data.bin": Buffer.alloc(300_000, 7),
  "empty.txt": "",
};

describe.each([
  ["vsftpd", "explicit", ["pasv_enable=NO", "port_enable=YES"]],
  ["vsftpd", "implicit", ["pasv_enable=NO", "port_enable=YES"]],
  ["proftpd", "explicit", ["<Limit EPSV PASV>", "DenyAll", "</Limit>"]],
] as const)("%s forbidding passive mode, %s TLS", (kind, tls, extraConfig) => {
  let server: RunningServer;
  const workspaces: Workspace[] = [];
  const workspace = (remote: Record<string, unknown>) => {
    const ws = makeWorkspace(server, { tls, ca: server.certPath, host: "127.0.0.1", timeoutSeconds: 10, ...remote });
    workspaces.push(ws);
    return ws;
  };
  beforeAll(async () => {
    server = await startServer(kind, { tls, extraConfig: [...extraConfig] });
  });
  afterAll(async () => {
    for (const ws of workspaces) ws.cleanup();
    await server?.stop();
  });

  it("syncs a job up and back down with dataConnections active", async () => {
    const ws = workspace({ dataConnections: "active" });
    const local = ws.folder("local");
    writeTree(local, FILES);
    ws.writeJob("up", { remote: "srv", remotePath: `/active-${tls}`, local, direction: "upload" });
    const up = await ws.cli(["sync", "up"]);
    expect(up.code, up.stdout + up.stderr).toBe(0);
    expect(readFileSync(join(server.root, `active-${tls}`, "deep/er/data.bin")).equals(FILES["deep/er/data.bin"])).toBe(true);

    const back = ws.folder("back");
    ws.writeJob("down", { remote: "srv", remotePath: `/active-${tls}`, local: back, direction: "download" });
    const down = await ws.cli(["sync", "down"]);
    expect(down.code, down.stdout + down.stderr).toBe(0);
    expect(treeObject(back)).toEqual(treeObject(local));

    if (kind === "vsftpd") {
      // vsftpd's own log: the transfers went over EPRT, never passive mode
      const log = readFileSync(join(server.dir, "vsftpd.log"), "utf8");
      expect(log).toMatch(/"EPRT \|1\|127\.0\.0\.1\|\d+\|"/);
      expect(log).not.toMatch(/"(EPSV|PASV)"/);
    }
  });

  it("fails with passive mode, the default, on the same server", async () => {
    const ws = workspace({});
    const local = ws.folder("local");
    writeTree(local, { "x.txt": "x" });
    ws.writeJob("up", { remote: "srv", remotePath: `/passive-${tls}`, local, direction: "upload" });
    const r = await ws.cli(["sync", "up"]);
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(/EPSV refused \(5\d\d /);
  });
});

describe("pyftpdlib refusing EPRT, in active mode", () => {
  let server: PyftpdServer;
  let ws: Workspace;
  beforeAll(async () => {
    server = await startPyftpd({ behaviours: ["eprt-refused"] });
    ws = makeWorkspace(server, { fingerprint: server.fingerprint, dataConnections: "active", timeoutSeconds: 10 });
  });
  afterAll(async () => {
    ws?.cleanup();
    await server?.stop();
  });

  it("syncs by PORT, says so once, remembers it for the next run, and check shows it", async () => {
    const local = ws.folder("local");
    writeTree(local, FILES);
    ws.writeJob("up", { remote: "srv", remotePath: "/by-port", local, direction: "upload" });
    const first = await ws.cli(["sync", "up"]);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(treeObject(join(server.root, "by-port"))).toEqual(treeObject(local));
    expect((first.stdout + first.stderr).match(/EPRT refused \(500 Command "EPRT" not understood\.\): active mode by PORT/g)).toHaveLength(1);
    const refusals = (await server.log()).match(/EPRT refused/g)?.length ?? 0;
    expect(refusals).toBeGreaterThan(0);

    // the next run starts with PORT: no EPRT asked, nothing logged
    writeTree(local, { "later.txt": "later" });
    const second = await ws.cli(["sync", "up"]);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(readFileSync(join(server.root, "by-port", "later.txt"), "utf8")).toBe("later");
    expect(second.stdout + second.stderr).not.toMatch(/EPRT refused/);
    expect((await server.log()).match(/EPRT refused/g)).toHaveLength(refusals);

    const check = await ws.cli(["check"]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toMatch(/eprt: EPRT refused \(500 Command "EPRT" not understood\.\): active mode by PORT \(learnt /);
  });
});
