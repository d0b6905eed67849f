// Connection failures get a kind where they happen (src/protocol/engine/), never from their text:
// a scripted TLS server on loopback (test/unit/scripted-control.ts) plays each fault against the
// engine's client, data connections in TLS as the engine only opens those.
import net from "node:net";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { RemoteError } from "../../src/errors.js";
import { classify, isTimeout } from "../../src/protocol/classify.js";
import { FtpClient } from "../../src/protocol/engine/client.js";
import { ControlConnection } from "../../src/protocol/engine/control.js";
import { ReplyError } from "../../src/protocol/engine/reply-error.js";
import { connected, failure, scriptedCertificate, scriptedServer, verbOf, type Script } from "./scripted-control.js";

const { cert, clientTls } = scriptedCertificate();

async function clientOf(script: Script, timeoutMs: number): Promise<FtpClient> {
  const server = await scriptedServer(cert(), script);
  const control = await connected(server, clientTls(), timeoutMs);
  return new FtpClient(control, { options: clientTls() }, 1024 * 1024);
}

describe("connection faults are typed where they happen", () => {
  it("the server closing the control connection (FIN) under a command: `closed`, transient", async () => {
    const client = await clientOf((line, s) => (verbOf(line) === "NOOP" ? void s.socket.end() : s.reply("200 ok")), 2000);
    const err = await failure(client.send("NOOP"));
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).fault).toBe("closed");
    expect(classify(err).errorClass).toBe("transient");
    expect(isTimeout(err)).toBe(false);
    // A later command on the closed connection fails the same way.
    const later = await failure(client.send("NOOP"));
    expect((later as RemoteError).fault).toBe("closed");
    expect(classify(later).errorClass).toBe("transient");
  });

  it("no reply to a command within the timeout: `timeout`, transient, naming the control connection", async () => {
    const client = await clientOf(() => undefined, 300);
    const err = await failure(client.send("NOOP"));
    expect((err as RemoteError).fault).toBe("timeout");
    expect((err as Error).message).toMatch(/no answer within 300 ms on the control connection/);
    expect(isTimeout(err)).toBe(true);
    expect(classify(err).errorClass).toBe("transient");
    expect(isTimeout(await failure(client.send("NOOP")))).toBe(true);
  });

  it("a data connection on which no byte moves: its watchdog fires, and the failure is a `timeout` naming the data connection", async () => {
    const client = await clientOf(async (line, s) => {
      if (verbOf(line) === "EPSV") return s.epsv();
      // 150, the data connection accepted, and never a byte nor a final reply.
      if (verbOf(line) === "RETR") return s.data.transfer(() => new Promise(() => undefined));
      s.reply("200 ok");
    }, 400);
    const sink = new Writable({ write: (_c, _e, cb) => cb() });
    const err = await failure(client.download(sink, "file.bin"));
    expect((err as RemoteError).fault).toBe("timeout");
    expect((err as Error).message).toMatch(/no answer within 400 ms on the data connection: no byte moved/);
    expect(classify(err).errorClass).toBe("transient");
  });

  it("a reply that cannot be used (an unparsable PASV after a refused EPSV): `protocol`, permanent, the text kept", async () => {
    const client = await clientOf((line, s) => {
      const verb = verbOf(line);
      if (verb === "EPSV") return s.reply("500 EPSV not understood");
      if (verb === "PASV") return s.reply("227 no address here");
      if (verb === "LIST") return s.reply("425 Use PASV or EPSV first");
      s.reply("200 ok");
    }, 2000);
    const err = await failure(client.list("/", "LIST -a"));
    expect((err as RemoteError).fault).toBe("protocol");
    expect((err as Error).message).toMatch(/PASV.*227 no address here/);
    expect(classify(err).errorClass).toBe("permanent");
  });

  it("reply codes pass as ReplyError with their code, and Node's codes unchanged", async () => {
    const client = await clientOf((line, s) => s.reply(verbOf(line) === "NOOP" ? "451 local error" : "200 ok"), 2000);
    const err = await failure(client.send("NOOP"));
    expect(err).not.toBeInstanceOf(RemoteError);
    expect(err).toBeInstanceOf(ReplyError);
    expect(classify(err)).toMatchObject({ errorClass: "transient", code: 451 });
    expect(client.closed).toBe(false);
    client.close();

    // A port nobody listens on: Node's ECONNREFUSED, not retyped.
    const free = net.createServer();
    const port = await new Promise<number>((r) => free.listen(0, "127.0.0.1", () => r((free.address() as net.AddressInfo).port)));
    await new Promise((r) => free.close(r));
    const refused = await failure(ControlConnection.open("127.0.0.1", port, 2000, clientTls()).greeting);
    expect(refused).not.toBeInstanceOf(RemoteError);
    expect(refused).toMatchObject({ code: "ECONNREFUSED" });
    expect(classify(refused).errorClass).toBe("transient");
  });
});
