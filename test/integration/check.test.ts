import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateCert } from "../servers/certs.js";
import { requireServers, startServer, type RunningServer, type ServerKind } from "../servers/real-servers.js";
import { startScriptedServer } from "../servers/scripted-ftps.js";
import { startHostileServer } from "../servers/hostile-ftps.js";
import { makeWorkspace } from "../helpers/workspace.js";
import { runCli } from "../helpers/cli.js";
import { join } from "node:path";
import { testTempDir } from "../helpers/temp-dir.js";

requireServers("vsftpd", "proftpd", "pureftpd");

const CASES: { kind: ServerKind; tls: "explicit" | "implicit" }[] = [
  { kind: "vsftpd", tls: "explicit" },
  { kind: "vsftpd", tls: "implicit" },
  { kind: "proftpd", tls: "explicit" },
  { kind: "proftpd", tls: "implicit" },
  { kind: "pureftpd", tls: "explicit" },
];

describe("ftps-sync check against real FTPS servers", () => {
  describe.each(CASES)("$kind with $tls TLS", ({ kind, tls }) => {
    let server: RunningServer;
    beforeAll(async () => {
      server = await startServer(kind, { tls });
    });
    afterAll(async () => {
      await server?.stop();
    });

    it("succeeds with the server's CA given in \"ca\" and reports TLS, certificate and capabilities", async () => {
      const ws = makeWorkspace(server, { tls, ca: server.certPath, host: "localhost" });
      try {
        const r = await ws.cli(["check"]);
        expect(r.stderr + r.stdout).not.toContain(server.password);
        expect(r.code, r.stdout + r.stderr).toBe(0);
        expect(r.stdout).toMatch(/TLS:\s+TLSv1\.[23]/);
        expect(r.stdout).toContain(server.fingerprint);
        expect(r.stdout).toContain("data channel: protected (PROT P)");
        expect(r.stdout).toMatch(kind === "vsftpd" ? /capabilities: LIST-only/ : /capabilities: MLSD MFMT/);
        expect(r.stdout).toMatch(kind === "vsftpd" ? /times:\s+LIST, to the minute .* cannot be seen/ : /times:\s+exact \(MLSD\)/);
      } finally {
        ws.cleanup();
      }
    });

    it("succeeds with the fingerprint printed by `ftps-sync fingerprint` pinned and no CA", async () => {
      const fp = await runCli(["fingerprint", `127.0.0.1:${server.port}`, ...(tls === "implicit" ? ["--implicit"] : [])]);
      expect(fp.code, fp.stderr).toBe(0);
      const pin = fp.stdout.trim();
      expect(pin).toBe(server.fingerprint);
      const ws = makeWorkspace(server, { tls, fingerprint: pin });
      try {
        const r = await ws.cli(["check"]);
        expect(r.code, r.stdout + r.stderr).toBe(0);
        expect(r.stdout).toContain("trusted by:   pinned fingerprint");
      } finally {
        ws.cleanup();
      }
    });
  });

  it("works over TLS 1.2 too, with the data connection resuming the session (ProFTPD limited to TLS 1.2)", async () => {
    const server = await startServer("proftpd", { tls: "explicit", tlsProtocols: "TLSv1.2" });
    try {
      const ws = makeWorkspace(server, { fingerprint: server.fingerprint });
      const r = await ws.cli(["check"]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/TLS:\s+TLSv1\.2/);
      expect(r.stdout).toContain("data channel: protected (PROT P)");
      ws.cleanup();
    } finally {
      await server.stop();
    }
  });

  it("offers TLS 1.2 at most with maxTlsVersion 1.2, to a server that would take 1.3 (vsftpd)", async () => {
    const server = await startServer("vsftpd", { tls: "explicit" });
    try {
      const ws = makeWorkspace(server, { fingerprint: server.fingerprint });
      const by13 = await ws.cli(["check"]);
      expect(by13.stdout).toMatch(/TLS:\s+TLSv1\.3/);
      ws.cleanup();
      const ws12 = makeWorkspace(server, { fingerprint: server.fingerprint, maxTlsVersion: "1.2" });
      const r = await ws12.cli(["check"]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/TLS:\s+TLSv1\.2/);
      expect(r.stdout).toContain("data channel: protected (PROT P)");
      ws12.cleanup();
    } finally {
      await server.stop();
    }
  });

  describe("refusals by real servers", () => {
    it("exits 4 against a self-signed server with neither CA nor pin", async () => {
      const server = await startServer("proftpd", { tls: "explicit" });
      try {
        const ws = makeWorkspace(server, {});
        const r = await ws.cli(["check"]);
        expect(r.code).toBe(4);
        expect(r.stdout).toMatch(/certificate not trusted/);
        expect(r.stdout).toContain("ftps-sync fingerprint");
        ws.cleanup();
      } finally {
        await server.stop();
      }
    });

    it("exits 4 against a plaintext-only server (Pure-FTPd -Y 0) without sending the password", async () => {
      const server = await startServer("pureftpd", { tls: "off" });
      try {
        const ws = makeWorkspace(server, {});
        const r = await ws.cli(["check"]);
        expect(r.code).toBe(4);
        expect(r.stdout).toMatch(/refused AUTH TLS/);
        expect(r.stdout).toMatch(/before the user name or password was sent/);
        ws.cleanup();
      } finally {
        await server.stop();
      }
    });

    it("exits 4 against a certificate for another host, even with its CA trusted", async () => {
      const server = await startServer("vsftpd", { tls: "explicit", cert: "ca-signed", certHosts: ["other.example"] });
      try {
        const ws = makeWorkspace(server, { ca: server.caPath });
        const r = await ws.cli(["check"]);
        expect(r.code).toBe(4);
        expect(r.stdout).toMatch(/ERR_TLS_CERT_ALTNAME_INVALID|does not match|altnames/i);
        ws.cleanup();
      } finally {
        await server.stop();
      }
    });

    it("exits 4 when the pinned fingerprint does not match", async () => {
      const server = await startServer("pureftpd", { tls: "explicit" });
      try {
        const wrong = "sha256:" + Array.from({ length: 32 }, () => "AB").join(":");
        const ws = makeWorkspace(server, { fingerprint: wrong });
        const r = await ws.cli(["check"]);
        expect(r.code).toBe(4);
        expect(r.stdout).toMatch(/does not match the pinned fingerprint/);
        ws.cleanup();
      } finally {
        await server.stop();
      }
    });
  });
});

describe("refusals proven on the wire (scripted server records every command)", () => {
  let cert: Awaited<ReturnType<typeof generateCert>>;
  let other: Awaited<ReturnType<typeof generateCert>>;
  beforeAll(async () => {
    const dir = testTempDir("certs");
    cert = await generateCert(dir, { name: "good" });
    other = await generateCert(dir, { name: "other", mode: "ca-signed", hosts: ["other.example"] });
  });

  const scripted = async (opts: Parameters<typeof startScriptedServer>[0], remote: Record<string, unknown>) => {
    const s = await startScriptedServer(opts);
    const ws = makeWorkspace({ host: "127.0.0.1", port: s.port, user: "alice", password: "wire-secret-Zq81" }, remote);
    try {
      const r = await ws.cli(["check"]);
      return { r, s };
    } finally {
      ws.cleanup();
      await s.stop();
    }
  };

  it("never sends the password when the server has no TLS", async () => {
    const { r, s } = await scripted({ mode: "explicit", noTls: true }, {});
    expect(r.code).toBe(4);
    expect(s.passwordSeen()).toBe(false);
    expect(s.commands.some((c) => c.startsWith("USER"))).toBe(false);
  });

  it("never sends the password when the certificate names another host", async () => {
    const { r, s } = await scripted({ mode: "explicit", cert: other.certPem, key: other.keyPem }, { ca: other.caPath });
    expect(r.code).toBe(4);
    expect(s.passwordSeen()).toBe(false);
  });

  it("never sends the password when the pin does not match", async () => {
    const { r, s } = await scripted({ mode: "implicit", cert: cert.certPem, key: cert.keyPem }, { tls: "implicit", fingerprint: other.fingerprint });
    expect(r.code).toBe(4);
    expect(s.passwordSeen()).toBe(false);
  });

  it("opens no data connection when the server refuses PROT P", async () => {
    const { r, s } = await scripted({ mode: "explicit", cert: cert.certPem, key: cert.keyPem, refuseProtP: true }, { fingerprint: cert.fingerprint });
    expect(r.code).toBe(4);
    expect(r.stdout).toMatch(/refused to protect the data channel/);
    // the reply code once, not "536 536 ..."
    expect(r.stdout).toContain("(536 Requested PROT level not supported by mechanism in reply to PROT P)");
    expect(s.commands).toContain("PROT P");
    expect(s.dataConnections).toBe(0);
    expect(s.commands.some((c) => /^(LIST|MLSD|NLST|RETR|STOR|PASV|EPSV)/.test(c))).toBe(false);
  });

  it("accepts a matching pin on a self-signed certificate for another name", async () => {
    const { r, s } = await scripted({ mode: "explicit", cert: other.certPem, key: other.keyPem }, { fingerprint: other.fingerprint });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(s.passwordSeen()).toBe(true);
    expect(s.dataConnections).toBeGreaterThan(0);
  });
});

describe("what a server's times cannot show (a LIST-only server without MDTM)", () => {
  let cert: Awaited<ReturnType<typeof generateCert>>;
  beforeAll(async () => {
    cert = await generateCert(testTempDir("certs"), { name: "list-only" });
  });

  /** FEAT with neither MLST nor MDTM, as old or minimal servers answer. */
  const LIST_ONLY = ["SIZE", "REST STREAM", "EPSV", "PASV", "AUTH TLS", "PBSZ", "PROT"];

  const check = async (hashCommands?: ("XSHA256" | "XMD5")[]) => {
    const s = await startHostileServer({
      cert: cert.certPem, key: cert.keyPem, listings: { "/": "" }, features: LIST_ONLY,
      ...(hashCommands ? { hashCommands: { commands: hashCommands } } : {}),
    });
    const ws = makeWorkspace({ host: "127.0.0.1", port: s.port, user: "alice", password: "check-pw-5Rt" }, { fingerprint: cert.fingerprint });
    try {
      return await ws.cli(["check"]);
    } finally {
      ws.cleanup();
      await s.stop();
    }
  };

  it("says that a same-size change within the listing's precision cannot be seen, and names the hash command verify \"hash\" would use", async () => {
    const r = await check(["XMD5", "XSHA256"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/capabilities: LIST-only SIZE REST STREAM XSHA256 XMD5/);
    expect(r.stdout).toMatch(/hash:\s+XSHA256 \(SHA-256\), for "verify": "hash" and two-way compares/);
    expect(r.stdout).toMatch(/times:\s+LIST only, no MDTM: a change that keeps a file's size within the listing's precision \(a minute, or a day for files older than six months\) cannot be seen; set "verify": "hash" to check each transfer with XSHA256/);
  });

  it("says so too without any hash command, and that there is none", async () => {
    const r = await check();
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/hash:\s+none \(no HASH, XSHA256, XSHA1 or XMD5\)/);
    expect(r.stdout).toMatch(/times:\s+LIST only, no MDTM: .* cannot be seen; the server offers no hash command/);
    expect(r.stdout).not.toContain('set "verify": "hash"');
  });
});
