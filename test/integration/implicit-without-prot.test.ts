// Some implicit FTPS servers refuse PBSZ and PROT ("502"): their data channels are protected
// anyway. The agent goes on with such a server only in implicit mode, only once it has seen a data
// connection in TLS, and remembers it (one log line, at the run that learnt it). An explicit server
// that refuses PROT P is still refused (exit 4), and a server that then moves data in the clear is
// refused in either mode: nothing moves in the clear.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openState } from "../../src/state/index.js";
import { makeWorkspace, rememberOff, type Workspace } from "../helpers/workspace.js";
import { startPyftpd, type PyftpdServer } from "../servers/pyftpd.js";
import { requireServers } from "../servers/real-servers.js";

requireServers("pyftpdlib");

const LEARNT = /the server refused PROT P \(502 Command not implemented\. in reply to PBSZ 0\); its data connections were seen to be TLS/g;

function techniquesOff(ws: Workspace, server: PyftpdServer): Record<string, string> {
  const state = openState(join(ws.dir, "state"));
  try {
    return state.capabilities.techniquesOff("srv", server.host, server.port);
  } finally {
    state.close();
  }
}

const remember = rememberOff;

describe("an implicit FTPS server that refuses PBSZ and PROT, its data channels in TLS", () => {
  let server: PyftpdServer;
  let ws: Workspace;
  beforeAll(async () => {
    server = await startPyftpd({ tls: "implicit", behaviours: ["no-pbsz-prot"] });
    ws = makeWorkspace(server, { tls: "implicit", fingerprint: server.fingerprint, timeoutSeconds: 10 });
  });
  afterAll(async () => {
    ws?.cleanup();
    await server?.stop();
  });

  it("syncs both ways; the run that learnt it says so once, and later runs say nothing", async () => {
    const local = ws.folder("local");
    mkdirSync(join(server.root, "box"));
    writeFileSync(join(local, "up.txt"), "to the server");
    writeFileSync(join(server.root, "box", "down.txt"), "from the server");
    ws.writeJob("box", { remote: "srv", remotePath: "/box", local, direction: "two-way" });

    const first = await ws.cli(["sync", "box"]);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.stderr.match(LEARNT)?.length, first.stderr).toBe(1);
    // pyftpdlib also answers SIZE and MLST during a transfer (see pyftpdlib-data-tls.test.ts):
    // learnt at the first failure, on every connection of the pool at once, so that the retries
    // work: one at most for each of the two transfers (the upload and the download) already on
    // their way then.
    expect(first.stderr.match(/\(attempt \d/g)?.length ?? 0, first.stderr).toBeLessThanOrEqual(2);
    expect(readFileSync(join(server.root, "box", "up.txt"), "utf8")).toBe("to the server");
    expect(readFileSync(join(local, "down.txt"), "utf8")).toBe("from the server");
    expect(techniquesOff(ws, server).protP).toMatch(/refused PROT P/);

    writeFileSync(join(local, "again.txt"), "a second run");
    const second = await ws.cli(["sync", "box"]);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.stderr).not.toMatch(LEARNT);
    expect(readFileSync(join(server.root, "box", "again.txt"), "utf8")).toBe("a second run");
    const check = await ws.cli(["check"]);
    expect(check.code, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toContain("data channel: protected (TLS seen on a data connection; the server refused PROT P)");
    // the data moved over the server's data channels, which are TLS (the engine knows no other)
    expect(await server.log()).toMatch(/STOR .*again\.txt.* completed=1/);
  });
});

describe("the same server in explicit mode", () => {
  let server: PyftpdServer;
  beforeAll(async () => {
    server = await startPyftpd({ tls: "explicit", behaviours: ["no-pbsz-prot"] });
  });
  afterAll(() => server?.stop());

  it.each([false, true])("is refused with exit 4 before any data connection (the refusal remembered from implicit mode: %s)", async (remembered) => {
    const ws = makeWorkspace(server, { tls: "explicit", fingerprint: server.fingerprint, timeoutSeconds: 10 });
    try {
      if (remembered) remember(ws, server, "protP", "the server refused PROT P (test)");
      ws.writeJob("j", { remote: "srv", remotePath: "/", local: ws.folder("local"), direction: "download" });
      const r = await ws.cli(["sync", "j"]);
      expect(r.code, r.stdout + r.stderr).toBe(4);
      expect(r.stderr).toMatch(/the server refused to protect the data channel \(502 Command not implemented\. in reply to PBSZ 0\); closed before any data connection was opened/);
      const check = await ws.cli(["check"]);
      expect(check.code, check.stdout + check.stderr).toBe(4);
      expect(check.stdout + check.stderr).toMatch(/refused to protect the data channel/);
      expect(await server.log()).not.toMatch(/\b(EPSV|PASV|MLSD|RETR)\b/);
    } finally {
      ws.cleanup();
    }
  });
});

describe("an implicit server that refuses PBSZ and PROT and moves data in the clear", () => {
  let server: PyftpdServer;
  beforeAll(async () => {
    server = await startPyftpd({ tls: "implicit", behaviours: ["no-pbsz-prot-clear-data"] });
  });
  afterAll(() => server?.stop());

  it("is refused with exit 4: no clear data is accepted or sent, and nothing is remembered", async () => {
    const ws = makeWorkspace(server, { tls: "implicit", fingerprint: server.fingerprint, timeoutSeconds: 10 });
    try {
      const local = ws.folder("local");
      writeFileSync(join(local, "secret.txt"), "never in the clear");
      ws.writeJob("j", { remote: "srv", remotePath: "/", local, direction: "upload" });
      const r = await ws.cli(["sync", "j"]);
      expect(r.code, r.stdout + r.stderr).toBe(4);
      expect(r.stderr).toMatch(/refused to protect the data channel \(502 .*\) and its data connection is not TLS/);
      expect(await server.log()).not.toMatch(/\b(STOR|APPE)\b/);
      expect(techniquesOff(ws, server).protP).toBeUndefined();
    } finally {
      ws.cleanup();
    }
  });
});
