// Active mode (src/protocol/engine/active.ts, FtpClient with dataConnections "active") against a
// scripted TLS server on loopback (test/unit/scripted-control.ts) that connects to the address
// EPRT or PORT names, as a real server does, and starts TLS as the TLS server (RFC 4217).
import { randomBytes } from "node:crypto";
import net from "node:net";
import { Readable, Writable } from "node:stream";
import tls from "node:tls";
import { describe, expect, it } from "vitest";
import { RemoteError } from "../../src/errors.js";
import { eprtArgument, portArgument } from "../../src/protocol/engine/active.js";
import { FtpClient } from "../../src/protocol/engine/client.js";
import { ReplyError } from "../../src/protocol/engine/reply-error.js";
import { connected, failure, scriptedCertificate, scriptedServer, verbOf, type Script, type ScriptSession } from "./scripted-control.js";

describe("naming the data port for active mode", () => {
  it("writes EPRT's argument for IPv4 and IPv6 addresses (RFC 2428)", () => {
    expect(eprtArgument("127.0.0.1", 6446)).toBe("|1|127.0.0.1|6446|");
    expect(eprtArgument("::1", 6446)).toBe("|2|::1|6446|");
  });

  it("writes PORT's argument for an IPv4 address, and none for an IPv6 one", () => {
    expect(portArgument("127.0.0.1", 0x1234)).toBe("127,0,0,1,18,52");
    expect(portArgument("::1", 6446)).toBeUndefined();
  });
});

/** Where EPRT or PORT told the server to connect. */
function targetOf(line: string): { host: string; port: number } | undefined {
  const verb = verbOf(line);
  const arg = line.slice(verb.length + 1);
  if (verb === "EPRT") {
    const [, , host, port] = arg.split(arg[0]);
    return { host, port: Number(port) };
  }
  if (verb === "PORT") {
    const n = arg.split(",").map(Number);
    return { host: n.slice(0, 4).join("."), port: n[4] * 256 + n[5] };
  }
  return undefined;
}

/** A connection from `from` that takes note of every byte it receives, and of its closing. */
function intruder(target: { host: string; port: number }, from: string): Promise<{ bytes: number }> {
  return new Promise((resolve) => {
    let bytes = 0;
    const s = net.connect({ host: target.host, port: target.port, localAddress: from });
    s.on("data", (d: Buffer) => (bytes += d.length));
    s.on("error", () => undefined);
    s.on("close", () => resolve({ bytes }));
  });
}

describe("FtpClient in active mode", () => {
  const { cert, clientTls } = scriptedCertificate();
  const secureContext = () => tls.createSecureContext({ cert: cert().certPem, key: cert().keyPem });

  /** The server's side of an active data connection: it connects, then is the TLS server. */
  function dataConnection(target: { host: string; port: number }): Promise<tls.TLSSocket> {
    return new Promise((resolve, reject) => {
      const raw = net.connect(target);
      raw.once("error", reject);
      const t = new tls.TLSSocket(raw, { isServer: true, secureContext: secureContext() });
      t.once("secure", () => resolve(t));
      t.once("error", reject);
    });
  }

  interface Behaviour {
    refuseEprt?: boolean;
    /** Before connecting itself, the server lets a stranger (from this address) connect to the port. */
    strangerFrom?: string;
    /** Only the stranger connects. */
    onlyStranger?: boolean;
    stored?: (bytes: Buffer) => void;
    strangers?: { bytes: number }[];
  }

  function activeServer(content: Buffer, b: Behaviour = {}) {
    let target: { host: string; port: number } | undefined;
    return async (line: string, s: ScriptSession) => {
      const verb = verbOf(line);
      if (verb === "EPRT" && b.refuseEprt) return s.reply("500 EPRT not understood");
      if (verb === "EPRT" || verb === "PORT") {
        target = targetOf(line);
        return s.reply(`200 ${verb} command successful`);
      }
      if (verb !== "RETR" && verb !== "STOR") return s.reply("502 not here");
      const to = target;
      target = undefined;
      if (!to) return s.reply("425 Use PORT or EPRT first");
      s.reply("150 Opening data connection");
      if (b.strangerFrom) b.strangers?.push(await intruder(to, b.strangerFrom));
      if (b.onlyStranger) return;
      const d = await dataConnection(to);
      if (verb === "RETR") {
        await new Promise<void>((resolve) => d.end(content, () => resolve()));
      } else {
        const chunks: Buffer[] = [];
        for await (const chunk of d) chunks.push(chunk as Buffer);
        b.stored?.(Buffer.concat(chunks));
      }
      s.reply("226 Transfer complete");
    };
  }

  async function clientOf(script: Script, timeoutMs = 5_000) {
    const server = await scriptedServer(cert(), script);
    const control = await connected(server, clientTls(), timeoutMs);
    const client = new FtpClient(control, { options: clientTls() }, 1024 * 1024);
    client.dataConnections = "active";
    return { client, server };
  }

  function collector() {
    const chunks: Buffer[] = [];
    const sink = new Writable({ write: (chunk: Buffer, _e, next) => (chunks.push(chunk), next()) });
    return { sink, bytes: () => Buffer.concat(chunks) };
  }

  it("downloads and uploads with EPRT naming the control connection's own address, the server's connection secured by TLS", async () => {
    const content = randomBytes(512 * 1024 + 3);
    let stored: Buffer | undefined;
    const { client, server } = await clientOf(activeServer(content, { stored: (bytes) => (stored = bytes) }));
    const { sink, bytes } = collector();
    expect((await client.download(sink, "/a.bin")).code).toBe(226);
    expect(bytes().equals(content)).toBe(true);
    expect((await client.upload(Readable.from([content]), "/b.bin")).code).toBe(226);
    expect(stored?.equals(content)).toBe(true);
    const commands = server.sessions[0].commands;
    expect(commands.map(verbOf)).toEqual(["EPRT", "RETR", "EPRT", "STOR"]);
    expect(commands[0]).toMatch(/^EPRT \|1\|127\.0\.0\.1\|\d+\|$/);
    // never passive mode: the server forbids it
    expect(commands.some((c) => /^(EPSV|PASV)/.test(c))).toBe(false);
    client.close();
  });

  it("falls back to PORT for good when the server refuses EPRT, and learns it once", async () => {
    const content = randomBytes(1000);
    const learnt: string[] = [];
    const { client, server } = await clientOf(activeServer(content, { refuseEprt: true }));
    client.onLearnt = (technique, reason) => learnt.push(`${technique}: ${reason}`);
    for (const name of ["/a", "/b"]) {
      const { sink, bytes } = collector();
      expect((await client.download(sink, name)).code).toBe(226);
      expect(bytes().equals(content)).toBe(true);
    }
    expect(server.sessions[0].commands.map(verbOf)).toEqual(["EPRT", "PORT", "RETR", "PORT", "RETR"]);
    expect(server.sessions[0].commands[1]).toMatch(/^PORT 127,0,0,1,\d+,\d+$/);
    expect(learnt).toEqual([expect.stringMatching(/^eprt: EPRT refused \(500 EPRT not understood\): active mode by PORT$/)]);
    client.close();
  });

  it("takes a passing refusal of EPRT (4xx) as this transfer's failure, not as a reason to use PORT", async () => {
    const content = randomBytes(100);
    let refusals = 1;
    const active = activeServer(content);
    const { client, server } = await clientOf((line, s) => {
      if (verbOf(line) === "EPRT" && refusals-- > 0) return s.reply("425 Cannot open data connection now");
      return active(line, s);
    });
    const learnt: string[] = [];
    client.onLearnt = (technique) => learnt.push(technique);
    const err = await failure(client.download(collector().sink, "/a"));
    expect(err).toBeInstanceOf(ReplyError);
    expect((err as ReplyError).code).toBe(425);
    // the connection is still in step: the next transfer asks EPRT again, and works
    const { sink, bytes } = collector();
    expect((await client.download(sink, "/a")).code).toBe(226);
    expect(bytes().equals(content)).toBe(true);
    expect(server.sessions[0].commands.map(verbOf)).toEqual(["EPRT", "EPRT", "RETR"]);
    expect(learnt).toEqual([]);
    client.close();
  });

  it("sends PORT from the start to a server known to refuse EPRT", async () => {
    const content = randomBytes(10);
    const { client, server } = await clientOf(activeServer(content, { refuseEprt: true }));
    client.techniquesOff = { eprt: "EPRT refused" };
    const { sink, bytes } = collector();
    expect((await client.download(sink, "/a")).code).toBe(226);
    expect(bytes().equals(content)).toBe(true);
    expect(server.sessions[0].commands.map(verbOf)).toEqual(["PORT", "RETR"]);
    client.close();
  });

  it("closes a data connection from another address than the server's before a byte, and takes the server's own", async () => {
    const content = randomBytes(64 * 1024);
    const strangers: { bytes: number }[] = [];
    const { client } = await clientOf(activeServer(content, { strangerFrom: "127.0.0.2", strangers }));
    const { sink, bytes } = collector();
    expect((await client.download(sink, "/a")).code).toBe(226);
    expect(bytes().equals(content)).toBe(true);
    // the stranger was closed without a TLS handshake begun with it (no ClientHello)
    expect(strangers).toEqual([{ bytes: 0 }]);
    client.close();
  });

  it("fails within its deadline when only a stranger connects, and sends it nothing", async () => {
    const strangers: { bytes: number }[] = [];
    const { client } = await clientOf(activeServer(Buffer.from("x"), { strangerFrom: "127.0.0.2", onlyStranger: true, strangers }), 1_500);
    const err = await failure(client.download(collector().sink, "/a"));
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).message).toMatch(/timeout: no answer within 1500 ms waiting for the server's data connection \(active mode\)/);
    expect(strangers).toEqual([{ bytes: 0 }]);
    expect(client.closed).toBe(true);
  });
});
