// A small HTTP CONNECT proxy for tests, on 127.0.0.1: Basic authentication when `credentials` is
// given (407 otherwise), a tunnel to the requested "host:port" (502 if it cannot connect), and the
// same counts as the SOCKS5 one (socks5-proxy.ts). `refuseWith` answers every CONNECT with that
// HTTP status (403 say) instead of connecting.
import { createServer } from "node:http";
import { connect, type Socket } from "node:net";
import type { TestProxy } from "./socks5-proxy.js";

export interface HttpProxyOptions {
  credentials?: { user: string; password: string };
  refuseWith?: number;
  /** Names only the proxy resolves (to an address): a client that bypassed it could not connect. */
  hosts?: Record<string, string>;
}

/** "host:port" or "[v6]:port" -> its parts. */
function splitAuthority(authority: string): { host: string; port: number } | undefined {
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(authority) ?? /^([^:]+):(\d+)$/.exec(authority);
  return m ? { host: m[1], port: Number(m[2]) } : undefined;
}

export async function startHttpConnectProxy(options: HttpProxyOptions = {}): Promise<TestProxy> {
  const relayed: string[] = [];
  const sockets = new Set<Socket>();
  const state = { refusedAuth: 0 };
  const server = createServer((_req, res) => {
    res.writeHead(405).end("CONNECT only\n");
  });
  server.on("connect", (req, client: Socket, head: Buffer) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => undefined);
    if (options.credentials) {
      const expected = "Basic " + Buffer.from(`${options.credentials.user}:${options.credentials.password}`).toString("base64");
      if (req.headers["proxy-authorization"] !== expected) {
        state.refusedAuth++;
        client.end('HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n');
        return;
      }
    }
    const target = splitAuthority(req.url ?? "");
    if (!target) return client.end("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n");
    if (options.refuseWith !== undefined) return client.end(`HTTP/1.1 ${options.refuseWith} Refused\r\nContent-Length: 0\r\n\r\n`);
    const upstream = connect({ host: options.hosts?.[target.host] ?? target.host, port: target.port });
    sockets.add(upstream);
    upstream.on("close", () => sockets.delete(upstream));
    upstream.once("error", () => {
      client.end("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n");
      upstream.destroy();
    });
    upstream.once("connect", () => {
      relayed.push(req.url ?? "");
      client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
      if (head.length > 0) upstream.write(head);
      client.pipe(upstream);
      upstream.pipe(client);
      client.on("error", () => upstream.destroy());
      upstream.on("error", () => client.destroy());
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as { port: number }).port,
    relayed,
    get refusedAuth() {
      return state.refusedAuth;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
