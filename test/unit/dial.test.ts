// The dialer (src/protocol/engine/dial.ts) on loopback: what is written before the tunnel opens
// reaches the server in order, what the server says along with the proxy's answer is not lost,
// and a proxy that never answers fails within the deadline, saying which proxy.
import { createServer, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { ProxyConfig } from "../../src/config/types.js";
import { dial } from "../../src/protocol/engine/dial.js";
import { startHttpConnectProxy } from "../servers/http-connect-proxy.js";
import { startSocks5Proxy, type TestProxy } from "../servers/socks5-proxy.js";

const servers: Server[] = [];
const accepted: Socket[] = [];
const proxies: TestProxy[] = [];
afterEach(async () => {
  for (const p of proxies.splice(0)) await p.close();
  for (const s of accepted.splice(0)) s.destroy();
  for (const s of servers.splice(0)) await new Promise((resolve) => s.close(resolve));
});

async function listen(onConnection: (socket: Socket) => void, address = "127.0.0.1"): Promise<number> {
  const server = createServer((socket) => {
    accepted.push(socket);
    onConnection(socket);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, address, resolve));
  return (server.address() as { port: number }).port;
}

/** Everything the socket receives until it ends, or the error that ended it. */
function collect(socket: Socket): Promise<{ text: string; error?: Error }> {
  return new Promise((resolve) => {
    let text = "";
    socket.on("data", (chunk: Buffer) => (text += chunk.toString()));
    socket.on("end", () => resolve({ text }));
    socket.on("error", (error) => resolve({ text, error }));
  });
}

describe.each(["socks5", "http"] as const)("dial through a %s proxy", (type) => {
  it("delivers what was written before the tunnel opened, in order, and the server's answer", async () => {
    const port = await listen((socket) => {
      let got = "";
      socket.on("data", (chunk: Buffer) => {
        got += chunk.toString();
        if (got.endsWith("two\r\n")) socket.end(`heard: ${got}`);
      });
    });
    const proxy = await (type === "socks5" ? startSocks5Proxy() : startHttpConnectProxy());
    proxies.push(proxy);
    const socket = dial({ host: "127.0.0.1", port }, 5000, { type, host: "127.0.0.1", port: proxy.port });
    socket.write("one\r\n");
    socket.write("two\r\n");
    const { text, error } = await collect(socket);
    expect(error).toBeUndefined();
    expect(text).toBe("heard: one\r\ntwo\r\n");
    expect(proxy.relayed).toEqual([`127.0.0.1:${port}`]);
  });

  it("connects to an IPv6 address (SOCKS5 address type 4, HTTP authority in brackets)", async () => {
    const port = await listen((socket) => socket.end("hello over IPv6\r\n"), "::1");
    const proxy = await (type === "socks5" ? startSocks5Proxy() : startHttpConnectProxy());
    proxies.push(proxy);
    const { text, error } = await collect(dial({ host: "::1", port }, 5000, { type, host: "127.0.0.1", port: proxy.port }));
    expect(error).toBeUndefined();
    expect(text).toBe("hello over IPv6\r\n");
    expect(proxy.relayed).toHaveLength(1);
  });

  it("fails within the deadline when the proxy never answers, naming the proxy", async () => {
    // Accepts the connection and says nothing, as a proxy that hangs would.
    const silent = await listen(() => undefined);
    const proxy: ProxyConfig = { type, host: "127.0.0.1", port: silent };
    const started = Date.now();
    const { error } = await collect(dial({ host: "ftps.partner.test", port: 21 }, 300, proxy));
    expect(error?.message).toBe(`timeout: no answer within 300 ms from the ${type === "socks5" ? "SOCKS5" : "HTTP"} proxy 127.0.0.1:${silent}`);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("closes its connection to the proxy at once when destroyed before the tunnel opened", async () => {
    let proxySide: Socket | undefined;
    const accepted = new Promise<void>((resolve) => {
      void listen((socket) => {
        proxySide = socket;
        // A SOCKS5 proxy that stops after the greeting, an HTTP one that never answers CONNECT.
        socket.once("data", () => resolve());
      }).then((port) => {
        const tunnel = dial({ host: "ftps.partner.test", port: 21 }, 20_000, { type, host: "127.0.0.1", port });
        tunnel.on("error", () => undefined);
        void accepted.then(() => tunnel.destroy());
      });
    });
    await accepted;
    const closed = await Promise.race([
      new Promise<boolean>((resolve) => proxySide!.once("close", () => resolve(true))),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 3000)),
    ]);
    expect(closed).toBe(true);
  });
});

it("keeps the server's first bytes that an HTTP proxy sent along with its 200", async () => {
  // A proxy that answers CONNECT and relays the greeting in the same write.
  const port = await listen((socket) => {
    socket.once("data", () => socket.end("HTTP/1.1 200 Connection Established\r\n\r\n220 greeting\r\n"));
  });
  const { text, error } = await collect(dial({ host: "ftps.partner.test", port: 21 }, 5000, { type: "http", host: "127.0.0.1", port }));
  expect(error).toBeUndefined();
  expect(text).toBe("220 greeting\r\n");
});
