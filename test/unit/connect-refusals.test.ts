// The two promises of the login that need a server to show them, in the fast tier: no byte of the
// user name or password before TLS, and no data connection unless the server protects it (PROT P).
// The scripted server runs in this process on loopback; no root, no real server.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RemoteConfig } from "../../src/config/types.js";
import { RemoteError } from "../../src/errors.js";
import { connectFtps } from "../../src/protocol/connect.js";
import { Secret } from "../../src/secret.js";
import { testTempDir } from "../helpers/temp-dir.js";
import { generateCert, type GeneratedCert } from "../servers/certs.js";
import { startScriptedServer } from "../servers/scripted-ftps.js";

const DATA_COMMANDS = /^(LIST|MLSD|NLST|RETR|STOR|APPE|PASV|EPSV|PORT|EPRT)\b/;

describe("connecting to a server that will not protect the session", () => {
  let cert: GeneratedCert;
  const stops: (() => Promise<void>)[] = [];
  beforeAll(async () => {
    cert = await generateCert(testTempDir("connect-refusals"), { name: "refusals" });
  });
  afterAll(async () => {
    for (const stop of stops) await stop();
  });

  const remote = (port: number): RemoteConfig => ({
    name: "srv", host: "127.0.0.1", port, tls: "explicit", user: "alice", password: new Secret("refusal-pw-7Qz"),
    fingerprint: cert.fingerprint, maxConnections: 1, timeoutMs: 5_000, maxTlsVersion: "1.3",
  });

  it("a refused AUTH TLS ends the connection before USER or PASS, with a TLS error of the connect phase (exit 4)", async () => {
    const s = await startScriptedServer({ mode: "explicit", cert: cert.certPem, key: cert.keyPem, refuseAuthTls: true });
    stops.push(() => s.stop());
    const err = await connectFtps(remote(s.port)).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect(err).toMatchObject({ kind: "tls", phase: "connect", exitCode: 4 });
    expect((err as Error).message).toMatch(/refused AUTH TLS/);
    expect(s.commands).toContain("AUTH TLS");
    expect(s.commands.filter((c) => c !== "AUTH TLS" && c !== "QUIT")).toEqual([]);
  });

  it("a refused PROT P ends the connection before any data connection or data command, with a TLS error of the connect phase", async () => {
    const s = await startScriptedServer({ mode: "explicit", cert: cert.certPem, key: cert.keyPem, refuseProtP: true });
    stops.push(() => s.stop());
    const err = await connectFtps(remote(s.port)).then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject({ kind: "tls", phase: "connect" });
    expect((err as Error).message).toContain("refused to protect the data channel");
    expect(s.commands).toContain("PROT P");
    expect(s.dataConnections).toBe(0);
    expect(s.commands.filter((c) => DATA_COMMANDS.test(c))).toEqual([]);
  });
});
