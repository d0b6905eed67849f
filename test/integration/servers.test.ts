// Smoke test of the real-FTPS-server harness (test/servers/).
// Without root and the servers it fails (requireServers), like every file of the server tier.
import { Client } from "basic-ftp";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateCert } from "../servers/certs.js";
import { requireServers, startServer, type ServerKind } from "../servers/real-servers.js";
import { startScriptedServer } from "../servers/scripted-ftps.js";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";

requireServers("vsftpd", "proftpd", "pureftpd");

const configs: { kind: ServerKind; tls: "explicit" | "implicit" }[] = [
  { kind: "vsftpd", tls: "explicit" },
  { kind: "vsftpd", tls: "implicit" },
  { kind: "proftpd", tls: "explicit" },
  { kind: "proftpd", tls: "implicit" },
  { kind: "pureftpd", tls: "explicit" },
];

describe("real FTPS servers harness", { timeout: 60_000 }, () => {
  for (const cfg of configs) {
    it(`${cfg.kind} ${cfg.tls}: upload, list, bytes on disk`, async () => {
      const server = await startServer(cfg.kind, { tls: cfg.tls });
      const client = new Client(15_000);
      try {
        await client.access({
          host: server.host,
          port: server.port,
          user: server.user,
          password: server.password,
          secure: cfg.tls === "implicit" ? "implicit" : true,
          secureOptions: { ca: server.certPem, servername: "localhost" },
        });
        const bytes = Buffer.from(`hello from ${cfg.kind} ${cfg.tls}\n\u00e9\u00e8\n`, "utf8");
        await client.uploadFrom(Readable.from([bytes]), "smoke.txt");
        const list = await client.list();
        const entry = list.find((f) => f.name === "smoke.txt");
        expect(entry, JSON.stringify(list)).toBeDefined();
        expect(entry!.size).toBe(bytes.length);
        const onDisk = await readFile(join(server.root, "smoke.txt"));
        expect(onDisk.equals(bytes)).toBe(true);
      } catch (e) {
        throw new Error(`${(e as Error).message}\n--- log tail ---\n${await server.logTail()}`);
      } finally {
        client.close();
        await server.stop();
      }
    });
  }

  it("pureftpd tls off serves plaintext and refuses AUTH TLS", async () => {
    const server = await startServer("pureftpd", { tls: "off" });
    const client = new Client(15_000);
    try {
      await expect(
        client.access({ host: server.host, port: server.port, user: server.user, password: server.password, secure: true }),
      ).rejects.toThrow();
      client.close();
      const plain = new Client(15_000);
      try {
        await plain.access({ host: server.host, port: server.port, user: server.user, password: server.password, secure: false });
        expect(await plain.list()).toEqual([]);
      } finally {
        plain.close();
      }
    } finally {
      client.close();
      await server.stop();
    }
  });

  it("ca-signed cert for another host is rejected by hostname check", async () => {
    const server = await startServer("pureftpd", { cert: "ca-signed", certHosts: ["other.example"] });
    const ca = await readFile(server.caPath!, "utf8");
    const client = new Client(15_000);
    try {
      await expect(
        client.access({
          host: server.host,
          port: server.port,
          user: server.user,
          password: server.password,
          secure: true,
          secureOptions: { ca, servername: "localhost" },
        }),
      ).rejects.toThrow(/altnames|Hostname|other\.example/i);
    } finally {
      client.close();
      await server.stop();
    }
  });
});

describe("scripted FTPS server", () => {
  let dir: string;
  let cert: Awaited<ReturnType<typeof generateCert>>;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ftps-sync-scripted-"));
    cert = await generateCert(dir);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("refuseProtP records PROT P and answers 536 (basic-ftp ignores that reply!)", async () => {
    const srv = await startScriptedServer({ mode: "explicit", refuseProtP: true, cert: cert.certPem, key: cert.keyPem });
    const client = new Client(10_000);
    try {
      // basic-ftp's access() sends PBSZ/PROT P with sendIgnoringError: it does NOT fail here
      await client.access({
        host: "127.0.0.1",
        port: srv.port,
        user: "u",
        password: "p",
        secure: true,
        secureOptions: { ca: cert.certPem, servername: "localhost" },
      });
      expect(srv.commands).toContain("AUTH TLS");
      expect(srv.commands).toContain("PROT P");
      const resp = await client.sendIgnoringError("PROT P");
      expect(resp.code).toBe(536);
    } finally {
      client.close();
      await srv.stop();
    }
  });

  it("lists over a TLS data connection", async () => {
    const srv = await startScriptedServer({ mode: "implicit", cert: cert.certPem, key: cert.keyPem });
    const client = new Client(10_000);
    try {
      await client.access({
        host: "127.0.0.1",
        port: srv.port,
        user: "u",
        password: "p",
        secure: "implicit",
        secureOptions: { ca: cert.certPem, servername: "localhost" },
      });
      const list = await client.list();
      expect(list.length).toBeGreaterThan(0);
      expect(srv.dataConnections).toBe(1);
      expect(srv.passwordSeen()).toBe(true);
    } finally {
      client.close();
      await srv.stop();
    }
  });

  it("refuseAuthTls: AUTH TLS gets 534 and no password is sent", async () => {
    const srv = await startScriptedServer({ mode: "explicit", refuseAuthTls: true, cert: cert.certPem, key: cert.keyPem });
    const client = new Client(10_000);
    try {
      await expect(
        client.access({ host: "127.0.0.1", port: srv.port, user: "u", password: "p", secure: true }),
      ).rejects.toThrow(/534/);
      expect(srv.passwordSeen()).toBe(false);
      expect(srv.dataConnections).toBe(0);
    } finally {
      client.close();
      await srv.stop();
    }
  });

  it("noTls: AUTH TLS gets 502 and no password is sent", async () => {
    const srv = await startScriptedServer({ mode: "explicit", noTls: true });
    const client = new Client(10_000);
    try {
      await expect(
        client.access({ host: "127.0.0.1", port: srv.port, user: "u", password: "p", secure: true }),
      ).rejects.toThrow(/502/);
      expect(srv.passwordSeen()).toBe(false);
      expect(srv.commands).toContain("AUTH TLS");
    } finally {
      client.close();
      await srv.stop();
    }
  });
});

