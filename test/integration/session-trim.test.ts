import { X509Certificate } from "node:crypto";
import { connect, createServer, type Server, TLSSocket } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectFtps, skipKeyInfoWhenResumed } from "../../src/protocol/connect.js";
import { withoutPeerCertificate } from "../../src/protocol/session-trim.js";
import { Secret } from "../../src/secret.js";
import { generateCert, type GeneratedCert } from "../servers/certs.js";
import { requireServers, startServer, type RunningServer } from "../servers/real-servers.js";
import { testTempDir } from "../helpers/temp-dir.js";

let cert: GeneratedCert;
let server: Server;
let port: number;

beforeAll(async () => {
  cert = await generateCert(testTempDir("session-trim"));
  server = createServer({ key: cert.keyPem, cert: cert.certPem }, (s) => s.end("hi"));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as { port: number }).port;
});
afterAll(() => server?.close());

/** Connects with the certificate verified (CA + name), reading until the server ends. */
function dial(maxVersion: "TLSv1.2" | "TLSv1.3", session?: Buffer, verify = true, prepare?: (s: TLSSocket) => void): Promise<{ socket: TLSSocket; session: Buffer<ArrayBuffer> }> {
  return new Promise((resolve, reject) => {
    let latest: Buffer<ArrayBuffer> | undefined;
    const socket = connect({ host: "127.0.0.1", port, servername: "localhost", ca: cert.certPem, rejectUnauthorized: verify, maxVersion, session });
    prepare?.(socket); // before the handshake completes, as DataTls.guard sees the engine's data sockets
    socket.on("session", (s: Buffer<ArrayBuffer>) => (latest = s));
    socket.on("error", reject);
    socket.on("data", () => undefined);
    socket.on("end", () => resolve({ socket, session: latest ?? socket.getSession()! }));
  });
}

/** The certificate's DER bytes occur in a session that carries it. */
function holds(session: Buffer, certPem: string): boolean {
  return session.includes(new X509Certificate(certPem).raw);
}
const holdsCertificate = (session: Buffer) => holds(session, cert.certPem);

describe("TLS sessions without the server certificate", () => {
  it("cuts the certificate out of a TLS 1.3 session, which then still resumes, verified", async () => {
    const first = await dial("TLSv1.3");
    expect(first.socket.getProtocol()).toBe("TLSv1.3");
    expect(holdsCertificate(first.session)).toBe(true);
    const trimmed = withoutPeerCertificate(first.session);
    expect(holdsCertificate(trimmed)).toBe(false);
    expect(trimmed.length).toBeLessThan(first.session.length - 200);
    const again = await dial("TLSv1.3", trimmed);
    expect(again.socket.isSessionReused()).toBe(true);
    expect(again.socket.authorized).toBe(true);
  });

  it("leaves a TLS 1.2 session whole unless told (Node reports a resumed TLS 1.2 connection without one as unverified)", async () => {
    const first = await dial("TLSv1.2");
    expect(first.socket.getProtocol()).toBe("TLSv1.2");
    expect(withoutPeerCertificate(first.session)).toBe(first.session);
    // For a pinned remote (no chain check, rejectUnauthorized off): trimmed, and it resumes.
    const trimmed = withoutPeerCertificate(first.session, true);
    expect(holdsCertificate(trimmed)).toBe(false);
    const again = await dial("TLSv1.2", trimmed, false);
    expect(again.socket.isSessionReused()).toBe(true);
    expect(again.socket.authorized).toBe(false);
  });

  it("skips Node's ephemeral key question on a resumed connection only (no key exchange to check there)", async () => {
    const asked: TLSSocket[] = [];
    const real = TLSSocket.prototype.getEphemeralKeyInfo;
    TLSSocket.prototype.getEphemeralKeyInfo = function (this: TLSSocket) {
      asked.push(this);
      return real.call(this);
    };
    try {
      for (const version of ["TLSv1.3", "TLSv1.2"] as const) {
        asked.length = 0;
        const full = await dial(version, undefined, true, skipKeyInfoWhenResumed);
        expect(full.socket.isSessionReused()).toBe(false);
        expect(asked).toEqual([full.socket]); // checked as Node does
        expect(full.socket.getEphemeralKeyInfo()).toMatchObject({ type: "ECDH" });
        asked.length = 0;
        const resumed = await dial(version, full.session, true, skipKeyInfoWhenResumed);
        expect(resumed.socket.isSessionReused()).toBe(true);
        expect(asked).toEqual([]);
        expect(resumed.socket.authorized).toBe(true);
      }
    } finally {
      TLSSocket.prototype.getEphemeralKeyInfo = real;
    }
  });

  it("leaves anything it cannot read as it is", () => {
    for (const junk of [Buffer.alloc(0), Buffer.from([0x30]), Buffer.from([0x30, 0x05, 0x02, 0x01]), Buffer.from("not a session at all")]) {
      expect(withoutPeerCertificate(junk)).toBe(junk);
    }
  });
});

requireServers("vsftpd");
describe("data connections with the trimmed session", () => {
  let vsftpd: RunningServer;
  beforeAll(async () => {
    vsftpd = await startServer("vsftpd", { tls: "explicit" });
  });
  afterAll(async () => {
    await vsftpd?.stop();
  });

  const cases = [
    { trust: "ca", version: "1.3", trimmed: true },
    { trust: "ca", version: "1.2", trimmed: false },
    { trust: "pin", version: "1.2", trimmed: true },
    { trust: "pin", version: "1.3", trimmed: true },
  ] as const;
  it.each(cases)("with $trust over TLS $version: trimmed $trimmed, and resumed against vsftpd with require_ssl_reuse (which refuses a data connection that is not)", async ({ trust, version, trimmed }) => {
    const c = await connectFtps({
      name: "srv", host: "localhost", port: vsftpd.port, tls: "explicit", user: vsftpd.user, password: new Secret(vsftpd.password),
      ...(trust === "ca" ? { ca: vsftpd.certPem } : { fingerprint: vsftpd.fingerprint }),
      maxConnections: 1, timeoutMs: 15_000, maxTlsVersion: version,
    });
    try {
      expect(c.tls.protocol).toBe(`TLSv${version}`);
      expect(c.tls.chainVerified).toBe(trust === "ca");
      // What each data connection offers to resume: the latest session the server gave, trimmed.
      expect(holds(c.client.resumeSession!, vsftpd.certPem)).toBe(!trimmed);
      // vsftpd (require_ssl_reuse) refuses a data connection that did not resume the session.
      for (let i = 0; i < 3; i++) await c.client.list("/", c.listCommand);
      expect(holds(c.client.resumeSession!, vsftpd.certPem)).toBe(!trimmed);
    } finally {
      c.close();
    }
  });
});
