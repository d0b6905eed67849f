// Telling explicit from implicit FTPS by the bytes (src/protocol/tls-mode.ts), in the fast tier:
// a plain port that sends a TLS record first, and the byte tests themselves. The real servers in
// the wrong mode are in test/integration/wrong-tls-mode.test.ts.
import { createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { RemoteConfig } from "../../src/config/types.js";
import { RemoteError } from "../../src/errors.js";
import { connectFtps } from "../../src/protocol/connect.js";
import { looksLikeFtpReply, looksLikeTlsRecord, probePlainGreeting } from "../../src/protocol/tls-mode.js";
import { Secret } from "../../src/secret.js";

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A loopback port that writes `first` to each connection and then says nothing more. */
async function portSaying(first: Buffer): Promise<number> {
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on("error", () => undefined);
    socket.write(first);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return (server.address() as { port: number }).port;
}

const remote = (port: number, tls: "explicit" | "implicit"): RemoteConfig => ({
  name: "srv", host: "127.0.0.1", port, tls, user: "alice", password: new Secret("mode-pw-4Kx"),
  fingerprint: "sha256:00", maxConnections: 1, timeoutMs: 20_000, maxTlsVersion: "1.3",
});

/** A TLS alert record (fatal, protocol_version), as a TLS server may send first. */
const TLS_ALERT = Buffer.from([0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x46]);

describe("the bytes of each FTPS mode", () => {
  it("a TLS record header is told from an FTP reply, and neither from noise", () => {
    expect(looksLikeTlsRecord(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00]))).toBe(true);
    expect(looksLikeTlsRecord(TLS_ALERT)).toBe(true);
    expect(looksLikeTlsRecord(Buffer.from("220 ready\r\n"))).toBe(false);
    expect(looksLikeFtpReply(Buffer.from("220 ready\r\n"))).toBe(true);
    expect(looksLikeFtpReply(Buffer.from("220-welcome\r\n"))).toBe(true);
    expect(looksLikeFtpReply(TLS_ALERT)).toBe(false);
    expect(looksLikeFtpReply(Buffer.from("SSH-2.0-OpenSSH\r\n"))).toBe(false);
  });

  it("a plain probe reads an FTP greeting as plain FTP, a TLS record as TLS", async () => {
    expect(await probePlainGreeting("127.0.0.1", await portSaying(Buffer.from("220 hello\r\n")))).toBe("plain-ftp");
    expect(await probePlainGreeting("127.0.0.1", await portSaying(TLS_ALERT))).toBe("tls");
  });

  it("explicit mode on a port whose first bytes are a TLS record fails at once, exit 4, naming implicit", async () => {
    const port = await portSaying(TLS_ALERT);
    const started = Date.now();
    const err = await connectFtps(remote(port, "explicit")).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect(err).toMatchObject({ kind: "tls", phase: "connect", exitCode: 4 });
    expect((err as Error).message).toMatch(/this port speaks TLS from the first byte: use "tls": "implicit"/);
    // not the remote's 20 s timeout
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("implicit mode on a port that greets in plain text fails, exit 4, naming explicit", async () => {
    const port = await portSaying(Buffer.from("220 plain FTP server ready\r\n"));
    const err = await connectFtps(remote(port, "implicit")).then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject({ kind: "tls", phase: "connect", exitCode: 4 });
    expect((err as Error).message).toMatch(/this port speaks plain FTP first: use "tls": "explicit"/);
  });
});
