// Smoke test of the real-FTPS-server harness (test/servers/), through the product's own FTPS
// engine (connectFtps for a whole login and transfers, ControlConnection for single steps).
// Without root and the servers it fails (requireServers), like every file of the server tier.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RemoteConfig } from "../../src/config/types.js";
import { connectFtps, type FtpsConnection } from "../../src/protocol/connect.js";
import { parseListing } from "../../src/protocol/listing-parse.js";
import { Secret } from "../../src/secret.js";
import { connectToServer, remoteFor } from "../helpers/connect-server.js";
import { listInPlaintext, openControl, sendLogin } from "../helpers/control.js";
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

/** The entries of a folder's listing, read by the product's own parser. */
async function listed(c: FtpsConnection, path = "") {
  return parseListing(await c.client.list(path, c.listCommand));
}

describe("real FTPS servers harness", { timeout: 60_000 }, () => {
  for (const cfg of configs) {
    it(`${cfg.kind} ${cfg.tls}: upload, list, bytes on disk`, async () => {
      const server = await startServer(cfg.kind, { tls: cfg.tls });
      let c: FtpsConnection | undefined;
      try {
        c = await connectToServer(server, { remote: { tls: cfg.tls } });
        const bytes = Buffer.from(`hello from ${cfg.kind} ${cfg.tls}\n\u00e9\u00e8\n`, "utf8");
        await c.client.upload(Readable.from([bytes]), "smoke.txt");
        const list = await listed(c);
        const entry = list.find((f) => f.name === "smoke.txt");
        expect(entry, JSON.stringify(list)).toBeDefined();
        expect(entry!.size).toBe(bytes.length);
        const onDisk = await readFile(join(server.root, "smoke.txt"));
        expect(onDisk.equals(bytes)).toBe(true);
      } catch (e) {
        throw new Error(`${(e as Error).message}\n--- log tail ---\n${await server.logTail()}`);
      } finally {
        c?.close();
        await server.stop();
      }
    });
  }

  it("pureftpd tls off serves plaintext and refuses AUTH TLS", async () => {
    const server = await startServer("pureftpd", { tls: "off" });
    try {
      await writeFile(join(server.root, "plain.txt"), "served in plaintext");
      await expect(connectFtps(remoteFor(server))).rejects.toThrow(/refused AUTH TLS/);
      const { control, greeting } = await openControl(server.host, server.port);
      try {
        expect(greeting.code).toBe(220);
        const { pass } = await sendLogin(control, server.user, server.password);
        expect(pass.code, pass.message).toBe(230);
        const { text, reply } = await listInPlaintext(control, server.host);
        expect(reply.code, reply.message).toBe(226);
        expect(parseListing(text).map((e) => [e.name, e.size])).toEqual([["plain.txt", 19]]);
      } finally {
        control.close();
      }
    } finally {
      await server.stop();
    }
  });

  it("ca-signed cert for another host is rejected by hostname check", async () => {
    const server = await startServer("pureftpd", { cert: "ca-signed", certHosts: ["other.example"] });
    try {
      const ca = await readFile(server.caPath!, "utf8");
      await expect(connectFtps(remoteFor(server, { ca }))).rejects.toThrow(/altnames|Hostname|other\.example/i);
    } finally {
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

  /** The scripted server as a remote, trusted through its CA (the certificate names 127.0.0.1). */
  const scripted = (port: number, tls: RemoteConfig["tls"]): RemoteConfig => ({
    name: "scripted", host: "127.0.0.1", port, tls, user: "u", password: new Secret("p"),
    ca: cert.certPem, maxConnections: 1, timeoutMs: 10_000, maxTlsVersion: "1.3",
  });

  it("refuseProtP records PROT P and answers 536 (connectFtps gives up there: see data-protection.test.ts)", async () => {
    const srv = await startScriptedServer({ mode: "explicit", refuseProtP: true, cert: cert.certPem, key: cert.keyPem });
    try {
      // One step at a time: the login succeeds and only PROT P is refused.
      const { control } = await openControl("127.0.0.1", srv.port, { tls: { ca: cert.certPem, servername: "localhost" } });
      try {
        const { pass } = await sendLogin(control, "u", "p");
        expect(pass.code, pass.message).toBe(230);
        const [pbsz, prot] = await Promise.all(control.send(["PBSZ 0", "PROT P"]));
        expect(pbsz.code, pbsz.message).toBe(200);
        expect(prot.code).toBe(536);
        expect(srv.commands).toContain("AUTH TLS");
        expect(srv.commands).toContain("PROT P");
      } finally {
        control.close();
      }
    } finally {
      await srv.stop();
    }
  });

  it("lists over a TLS data connection", async () => {
    const srv = await startScriptedServer({ mode: "implicit", cert: cert.certPem, key: cert.keyPem });
    let c: FtpsConnection | undefined;
    try {
      c = await connectFtps(scripted(srv.port, "implicit"));
      const list = await listed(c);
      expect(list.length).toBeGreaterThan(0);
      expect(srv.dataConnections).toBe(1);
      expect(srv.passwordSeen()).toBe(true);
    } finally {
      c?.close();
      await srv.stop();
    }
  });

  it("refuseAuthTls: AUTH TLS gets 534 and no password is sent", async () => {
    const srv = await startScriptedServer({ mode: "explicit", refuseAuthTls: true, cert: cert.certPem, key: cert.keyPem });
    try {
      await expect(connectFtps(scripted(srv.port, "explicit"))).rejects.toThrow(/534/);
      expect(srv.passwordSeen()).toBe(false);
      expect(srv.dataConnections).toBe(0);
    } finally {
      await srv.stop();
    }
  });

  it("noTls: AUTH TLS gets 502 and no password is sent", async () => {
    const srv = await startScriptedServer({ mode: "explicit", noTls: true });
    try {
      await expect(connectFtps(scripted(srv.port, "explicit"))).rejects.toThrow(/502/);
      expect(srv.passwordSeen()).toBe(false);
      expect(srv.commands).toContain("AUTH TLS");
    } finally {
      await srv.stop();
    }
  });
});
