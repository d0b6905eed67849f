// Connection failures get a kind where they happen (src/protocol/connection-faults.ts), never from
// their text: a plain-FTP server on loopback plays each fault against a real basic-ftp client.
import { Client } from "basic-ftp";
import net from "node:net";
import { Writable } from "node:stream";
import { afterEach, describe, expect, it } from "vitest";
import { RemoteError } from "../../src/errors.js";
import { classify, isTimeout } from "../../src/protocol/classify.js";
import { typeConnectionFaults } from "../../src/protocol/connection-faults.js";

type Handler = (verb: string, sock: net.Socket, openData: () => Promise<{ port: number; socket: Promise<net.Socket> }>) => void;

const servers: net.Server[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A plain FTP server: greets, then hands every command line to `onCommand`. */
async function server(onCommand: Handler): Promise<number> {
  const listen = (srv: net.Server) => new Promise<number>((r) => srv.listen(0, "127.0.0.1", () => r((srv.address() as net.AddressInfo).port)));
  const openData = async () => {
    let accept!: (s: net.Socket) => void;
    const socket = new Promise<net.Socket>((r) => (accept = r));
    const srv = net.createServer((d) => {
      sockets.push(d);
      accept(d);
    });
    servers.push(srv);
    return { port: await listen(srv), socket };
  };
  const control = net.createServer((sock) => {
    sockets.push(sock);
    sock.write("220 ready\r\n");
    let buf = "";
    sock.on("data", (d) => {
      buf += d.toString();
      for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
        const line = buf.slice(0, i).trim();
        buf = buf.slice(i + 1);
        onCommand(line.split(" ")[0].toUpperCase(), sock, openData);
      }
    });
  });
  servers.push(control);
  return listen(control);
}

async function connected(port: number, timeoutMs: number): Promise<Client> {
  const client = new Client(timeoutMs);
  typeConnectionFaults(client);
  await client.connect("127.0.0.1", port);
  return client;
}

const failure = (p: Promise<unknown>) => p.then(() => expect.fail("expected a failure"), (err: unknown) => err);

describe("connection faults are typed where they happen", () => {
  it("the server closing the control connection (FIN) under a command: `closed`, transient", async () => {
    const port = await server((verb, sock) => (verb === "NOOP" ? sock.end() : sock.write("200 ok\r\n")));
    const client = await connected(port, 2000);
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
    const port = await server(() => undefined);
    const client = await connected(port, 300);
    const err = await failure(client.send("NOOP"));
    expect((err as RemoteError).fault).toBe("timeout");
    expect((err as Error).message).toMatch(/no answer within 300 ms on the control connection/);
    expect(isTimeout(err)).toBe(true);
    expect(classify(err).errorClass).toBe("transient");
    expect(isTimeout(await failure(client.send("NOOP")))).toBe(true);
  });

  it("a data connection on which no byte moves: basic-ftp's watchdog fires, and the failure is a `timeout`", async () => {
    const port = await server(async (verb, sock, openData) => {
      if (verb === "EPSV") {
        const data = await openData();
        sock.write(`229 Entering Extended Passive Mode (|||${data.port}|)\r\n`);
        (sock as net.Socket & { data?: typeof data }).data = data;
      } else if (verb === "RETR") {
        sock.write("150 Opening data connection\r\n"); // and never a byte
      } else {
        sock.write("200 ok\r\n");
      }
    });
    const client = await connected(port, 400);
    const sink = new Writable({ write: (_c, _e, cb) => cb() });
    const err = await failure(client.downloadTo(sink, "file.bin"));
    expect((err as RemoteError).fault).toBe("timeout");
    expect((err as Error).message).toMatch(/data connection/);
    expect(classify(err).errorClass).toBe("transient");
  });

  it("a reply that cannot be used (an unparsable PASV after a refused EPSV): `protocol`, permanent, the text kept", async () => {
    const port = await server((verb, sock) => {
      if (verb === "EPSV") sock.write("500 EPSV not understood\r\n");
      else if (verb === "PASV") sock.write("227 no address here\r\n");
      else sock.write("200 ok\r\n");
    });
    const client = await connected(port, 2000);
    const err = await failure(client.list("/"));
    expect((err as RemoteError).fault).toBe("protocol");
    expect((err as Error).message).toMatch(/PASV/);
    expect(classify(err).errorClass).toBe("permanent");
  });

  it("reply codes and Node's codes pass unchanged", async () => {
    const port = await server((verb, sock) => (verb === "NOOP" ? sock.write("451 local error\r\n") : sock.write("200 ok\r\n")));
    const client = await connected(port, 2000);
    const err = await failure(client.send("NOOP"));
    expect(err).not.toBeInstanceOf(RemoteError);
    expect(classify(err)).toMatchObject({ errorClass: "transient", code: 451 });
    client.close();
  });
});
