// vsftpd 3.0.3 takes only P-256 for its key exchange, while Node's TLS 1.3 client sends a key share
// for X25519 alone: each handshake then costs a HelloRetryRequest, one round trip more, and data
// connections are handshakes too (one per file). The engine offers the group a server chose first.
import net from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { Readable } from "node:stream";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { connectToServer } from "../helpers/connect-server.js";
import { makeWorkspace, type Workspace } from "../helpers/workspace.js";
import { forgetGroups } from "../../src/protocol/key-share.js";
import { requireServers, startServer, type RunningServer } from "../servers/real-servers.js";

requireServers("vsftpd");

/** TLS handshake records carrying a ClientHello, counted in the client's bytes. */
function countClientHellos(bytes: Buffer): number {
  let n = 0;
  for (let i = 0; i + 5 < bytes.length; i++) {
    if (bytes[i] === 0x16 && bytes[i + 1] === 0x03 && bytes[i + 2] <= 0x03 && bytes[i + 5] === 0x01) n++;
  }
  return n;
}

/** A plain TCP relay to the server's control port that keeps what each client sent. */
async function relay(target: number): Promise<{ port: number; sent: Buffer[]; close(): Promise<void> }> {
  const sent: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const chunks: Buffer[] = [];
    sent.push(Buffer.alloc(0));
    const at = sent.length - 1;
    const upstream = net.connect({ host: "127.0.0.1", port: target });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on("error", () => undefined);
      s.on("close", () => (client.destroy(), upstream.destroy()));
    }
    client.on("data", (d: Buffer) => {
      chunks.push(d);
      sent[at] = Buffer.concat(chunks);
      upstream.write(d);
    });
    upstream.on("data", (d: Buffer) => client.write(d));
  });
  await new Promise<void>((res) => server.listen(0, "127.0.0.1", res));
  return {
    port: (server.address() as net.AddressInfo).port,
    sent,
    close: () => new Promise<void>((res) => (sockets.forEach((s) => s.destroy()), server.close(() => res()))),
  };
}

/**
 * A workspace on `target` whose control connections pass through a relay (what each sent is in
 * `sent`), with one upload job `job` of a.txt to `remotePath`, synced once (which must succeed);
 * then `body`, and everything is cleaned up.
 */
async function afterFirstSync(
  target: RunningServer,
  remote: Record<string, unknown>,
  job: { name: string; remotePath: string },
  body: (run: { ws: Workspace; local: string; sent: Buffer[] }) => Promise<void>,
): Promise<void> {
  const r = await relay(target.port);
  const ws = makeWorkspace(target, { fingerprint: target.fingerprint, port: r.port, maxConnections: 1, ...remote });
  try {
    const local = ws.folder(job.name);
    mkdirSync(local, { recursive: true });
    writeFileSync(join(local, "a.txt"), "a");
    ws.writeJob(job.name, { remote: "srv", remotePath: job.remotePath, local, direction: "upload" });
    const first = await ws.cli(["sync", job.name]);
    expect(first.code, first.stderr).toBe(0);
    await body({ ws, local, sent: r.sent });
  } finally {
    ws.cleanup();
    await r.close();
  }
}

/** Why `check --json` says the workspace's remote has the key-exchange group it has, if it says so. */
async function keyShareRemembered(ws: Workspace): Promise<string | undefined> {
  const check = await ws.cli(["check", "--json"]);
  expect(check.code, check.stderr).toBe(0);
  const remembered = (JSON.parse(check.stdout) as { remotes: { remembered: { technique: string; reason: string }[] }[] }).remotes[0].remembered;
  return remembered.find((e) => e.technique === "keyShare")?.reason;
}

describe("TLS key exchange: the server's own group offered first", () => {
  // Implicit TLS: no greeting before the handshake, so the group is learnt from the handshake.
  let server: RunningServer;
  let explicit: RunningServer;
  beforeAll(async () => {
    server = await startServer("vsftpd", { tls: "implicit" });
    explicit = await startServer("vsftpd", { tls: "explicit" });
  });
  afterAll(async () => {
    await server?.stop();
    await explicit?.stop();
  });
  beforeEach(() => forgetGroups());

  it("explicit TLS: the first login to a server whose greeting names vsftpd offers P-256 first (one ClientHello, no retry), and the profile keeps it", async () => {
    await afterFirstSync(explicit, {}, { name: "kg", remotePath: "/kg-greeting" }, async ({ ws, sent }) => {
      expect(sent.length).toBeGreaterThan(0);
      expect(countClientHellos(sent[0])).toBe(1);
      expect(await keyShareRemembered(ws)).toMatch(/^prime256v1 offered first/);
    });
  });

  it("implicit TLS: a second login to vsftpd needs one ClientHello, where the first needed a retry, and its data connections still work", async () => {
    const r = await relay(server.port);
    try {
      const first = await connectToServer(server, { remote: { port: r.port, tls: "implicit" } });
      first.close();
      const second = await connectToServer(server, { remote: { port: r.port, tls: "implicit" } });
      try {
        await second.client.upload(Readable.from([Buffer.from("key share")]), "/k.txt", false);
        expect(await second.client.size("/k.txt")).toBe(9);
      } finally {
        second.close();
      }
      expect(countClientHellos(r.sent[0])).toBe(2); // X25519 offered, P-256 asked for again
      expect(countClientHellos(r.sent[1])).toBe(1);
    } finally {
      await r.close();
    }
  });

  it("implicit TLS: a second ftps-sync process offers the group the first one learnt (kept in the server's profile): one ClientHello at its first login, and check shows it", async () => {
    await afterFirstSync(server, { tls: "implicit" }, { name: "ks", remotePath: "/ks-profile" }, async ({ ws, local, sent }) => {
      expect(countClientHellos(sent[0])).toBe(2);
      const opened = sent.length;
      writeFileSync(join(local, "b.txt"), "b");
      const second = await ws.cli(["sync", "ks"]);
      expect(second.code, second.stderr).toBe(0);
      expect(sent.length).toBeGreaterThan(opened);
      expect(countClientHellos(sent[opened])).toBe(1);
      expect(await keyShareRemembered(ws)).toMatch(/^prime256v1 offered first/);
    });
  });
});
