// The wrong TLS mode in the configuration: "implicit" against a port that greets in plain text
// (explicit FTPS), or "explicit" against one that waits for a TLS handshake from the first byte
// (implicit FTPS). Both must end within seconds, exit 4, with a message that names the mode to use,
// for `sync` and for `check`, and for one command at a time (the remembered technique) too.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeWorkspace, rememberOff } from "../helpers/workspace.js";
import { startPyftpd, type PyftpdServer } from "../servers/pyftpd.js";
import { requireServers, startServer, type RunningServer, type ServerKind } from "../servers/real-servers.js";

requireServers("vsftpd", "proftpd", "pyftpdlib");

const USE_EXPLICIT = /this port speaks plain FTP first: use "tls": "explicit"/;
const USE_IMPLICIT = /this port speaks TLS from the first byte: use "tls": "implicit"/;

/** The remote's timeout is long (30 s): the answer must come from the bytes, well before it. */
const TIMEOUT_SECONDS = 30;
const WITHIN_MS = 15_000;

const CASES: { kind: ServerKind | "pyftpdlib"; serverTls: "explicit" | "implicit" }[] = [
  { kind: "vsftpd", serverTls: "explicit" },
  { kind: "vsftpd", serverTls: "implicit" },
  { kind: "proftpd", serverTls: "explicit" },
  { kind: "proftpd", serverTls: "implicit" },
  { kind: "pyftpdlib", serverTls: "explicit" },
  { kind: "pyftpdlib", serverTls: "implicit" },
];

describe.each(CASES)("a $kind server with $serverTls TLS, configured with the other mode", ({ kind, serverTls }) => {
  const configured = serverTls === "explicit" ? "implicit" : "explicit";
  const expected = serverTls === "explicit" ? USE_EXPLICIT : USE_IMPLICIT;
  let server: RunningServer | PyftpdServer;
  beforeAll(async () => {
    server = kind === "pyftpdlib" ? await startPyftpd({ tls: serverTls }) : await startServer(kind, { tls: serverTls });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it.each([true, false])(`sync fails within seconds with exit 4 and says to use ${serverTls} (pipelining %s)`, async (pipelining) => {
    const ws = makeWorkspace(server, { tls: configured, fingerprint: server.fingerprint, timeoutSeconds: TIMEOUT_SECONDS });
    try {
      if (!pipelining) rememberOff(ws, server, "pipelining");
      ws.writeJob("j", { remote: "srv", remotePath: "/", local: ws.folder("local"), direction: "upload" });
      const started = Date.now();
      const r = await ws.cli(["sync", "j"]);
      const took = Date.now() - started;
      expect(r.code, r.stdout + r.stderr).toBe(4);
      expect(r.stderr).toMatch(expected);
      expect(r.stderr).not.toContain(server.password);
      expect(took, r.stderr).toBeLessThan(WITHIN_MS);
    } finally {
      ws.cleanup();
    }
  });

  it(`check fails within seconds with exit 4 and says to use ${serverTls}`, async () => {
    const ws = makeWorkspace(server, { tls: configured, fingerprint: server.fingerprint, timeoutSeconds: TIMEOUT_SECONDS });
    try {
      const started = Date.now();
      const r = await ws.cli(["check"]);
      const took = Date.now() - started;
      expect(r.code, r.stdout + r.stderr).toBe(4);
      expect(r.stdout + r.stderr).toMatch(expected);
      expect(took, r.stdout + r.stderr).toBeLessThan(WITHIN_MS);
    } finally {
      ws.cleanup();
    }
  });
});
