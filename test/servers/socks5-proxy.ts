// A small SOCKS5 proxy for tests (RFC 1928 CONNECT by IPv4, IPv6 address or domain name; RFC 1929
// username/password when `credentials` is given), on 127.0.0.1. It counts the connections it
// relayed and the authentications it refused, and records each CONNECT's target, so that a test
// can see that every connection went through it. `refuseWith` answers every CONNECT with that
// reply code (5: connection refused) instead of connecting.
import { connect, createServer, type Server, type Socket } from "node:net";

export interface TestProxyOptions {
  credentials?: { user: string; password: string };
  refuseWith?: number;
  /** Names only the proxy resolves (to an address): a client that bypassed it could not connect. */
  hosts?: Record<string, string>;
}

export interface TestProxy {
  port: number;
  /** Connections relayed to their target ("host:port" each, in order). */
  relayed: string[];
  /** Authentications refused (wrong user or password, or none offered). */
  refusedAuth: number;
  close(): Promise<void>;
}

/** Reads exactly `n` bytes from `socket` (resolves undefined if it closes first). */
function reader(socket: Socket): { read: (n: number) => Promise<Buffer | undefined>; rest: () => Buffer } {
  let buffered = Buffer.alloc(0);
  let want: { n: number; resolve: (b: Buffer | undefined) => void } | undefined;
  const serve = () => {
    if (want && buffered.length >= want.n) {
      const out = buffered.subarray(0, want.n);
      buffered = buffered.subarray(want.n);
      const w = want;
      want = undefined;
      w.resolve(out);
    }
  };
  socket.on("data", (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    serve();
  });
  socket.on("close", () => want?.resolve(undefined));
  const read = (n: number) =>
    new Promise<Buffer | undefined>((resolve) => {
      want = { n, resolve };
      serve();
    });
  return { read, rest: () => buffered };
}

function reply(code: number): Buffer {
  return Buffer.from([5, code, 0, 1, 0, 0, 0, 0, 0, 0]);
}

export async function startSocks5Proxy(options: TestProxyOptions = {}): Promise<TestProxy> {
  const relayed: string[] = [];
  const sockets = new Set<Socket>();
  const state = { refusedAuth: 0 };
  const handle = async (client: Socket) => {
    const { read, rest } = reader(client);
    const greeting = await read(2);
    if (!greeting || greeting[0] !== 5) return client.destroy();
    const methods = await read(greeting[1]);
    if (!methods) return;
    const method = options.credentials ? 2 : 0;
    if (!methods.includes(method)) {
      state.refusedAuth++;
      return client.end(Buffer.from([5, 0xff]));
    }
    client.write(Buffer.from([5, method]));
    if (options.credentials) {
      const head = await read(2);
      const user = head && (await read(head[1]));
      const plen = user && (await read(1));
      const password = plen && (await read(plen[0]));
      if (!password) return;
      const ok = user.toString() === options.credentials.user && password.toString() === options.credentials.password;
      if (!ok) {
        state.refusedAuth++;
        return client.end(Buffer.from([1, 1]));
      }
      client.write(Buffer.from([1, 0]));
    }
    const request = await read(4);
    if (!request || request[1] !== 1) return client.end(reply(7));
    let host: string;
    if (request[3] === 1) host = [...((await read(4)) ?? [])].join(".");
    else if (request[3] === 3) host = ((await read(((await read(1)) ?? [0])[0])) ?? Buffer.alloc(0)).toString();
    else if (request[3] === 4) host = (((await read(16)) ?? Buffer.alloc(16)).toString("hex").match(/.{4}/g) ?? []).join(":");
    else return client.end(reply(8));
    const portBytes = await read(2);
    if (!portBytes) return;
    const port = portBytes.readUInt16BE(0);
    if (options.refuseWith !== undefined) return client.end(reply(options.refuseWith));
    const upstream = connect({ host: options.hosts?.[host] ?? host, port });
    sockets.add(upstream);
    upstream.on("close", () => sockets.delete(upstream));
    upstream.once("error", () => {
      client.end(reply(5));
      upstream.destroy();
    });
    upstream.once("connect", () => {
      relayed.push(`${host}:${port}`);
      client.write(reply(0));
      // Anything the client sent after its request (a TLS ClientHello, AUTH TLS) waits in the reader.
      client.removeAllListeners("data");
      if (rest().length > 0) upstream.write(rest());
      client.pipe(upstream);
      upstream.pipe(client);
      client.on("error", () => upstream.destroy());
      upstream.on("error", () => client.destroy());
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    });
  };
  const server: Server = createServer((client) => {
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => undefined);
    void handle(client);
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
