// The checksum commands against a real implementation: ProFTPD 1.3.8 with mod_digest, which
// offers HASH and XSHA256, XSHA512, XSHA1, XSHA, XMD5 (replies "250-Computing ..." then the hex in
// upper case). The agent's own use of them is in server-hash.test.ts.
import { createHash } from "node:crypto";
import { chownSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectFtps } from "../../src/protocol/connect.js";
import { chooseHashMethod, serverHash, type HashMethod } from "../../src/protocol/server-hash.js";
import { Secret } from "../../src/secret.js";
import { ensureTestUser, requireServers, startServer, type RunningServer } from "../servers/real-servers.js";

requireServers("proftpd");

describe("ProFTPD's mod_digest answers as the agent reads it", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer("proftpd", { extraConfig: ["LoadModule mod_digest.c"] });
  });
  afterAll(async () => {
    await server?.stop();
  });

  // "x 0 3" is what an unquoted "XMD5 /x 0 3" would make mod_digest hash: bytes 0 to 3 of /x.
  const FILES = { "a.txt": "hello a.txt", "a b.txt": "hello a b.txt", "x 0 3": "hello x 0 3", x: "hello" };
  const METHODS: HashMethod[] = [
    { command: "XSHA256", algorithm: "SHA-256", nodeName: "sha256" },
    { command: "XSHA512", algorithm: "SHA-512", nodeName: "sha512" },
    { command: "XSHA1", algorithm: "SHA-1", nodeName: "sha1" },
    { command: "XSHA", algorithm: "SHA-1", nodeName: "sha1" },
    { command: "XMD5", algorithm: "MD5", nodeName: "md5" },
    { command: "HASH", algorithm: "SHA-256", nodeName: "sha256" },
    { command: "HASH", algorithm: "MD5", nodeName: "md5" },
  ];

  it("each X-command and HASH gives each file's own hash, names with spaces included", async () => {
    const { uid, gid } = await ensureTestUser();
    for (const [name, body] of Object.entries(FILES)) {
      writeFileSync(join(server.root, name), body);
      chownSync(join(server.root, name), uid, gid);
    }
    const c = await connectFtps({
      name: "srv", host: "localhost", port: server.port, tls: "explicit", user: server.user, password: new Secret(server.password),
      ca: server.certPem, maxConnections: 1, timeoutMs: 15_000, maxTlsVersion: "1.3",
    } as Parameters<typeof connectFtps>[0]);
    try {
      expect(c.capabilities.hashCommands).toEqual(["XSHA256", "XSHA512", "XSHA1", "XSHA", "XMD5"]);
      expect(chooseHashMethod(c.capabilities)).toMatchObject({ command: "HASH", algorithm: "SHA-256" });
      for (const m of METHODS) {
        for (const name of ["a.txt", "a b.txt", "x 0 3"] as const) {
          const expected = createHash(m.nodeName).update(FILES[name]).digest("hex");
          expect(await serverHash(c, `/${name}`, m), `${m.command} ${m.algorithm} /${name}`).toEqual({ algorithm: m.algorithm, hex: expected, command: m.command });
        }
      }
      // A file it will not hash (missing) is no answer, not an error.
      expect(await serverHash(c, "/missing.txt", METHODS[0])).toBeUndefined();
    } finally {
      c.close();
    }
  });
});
