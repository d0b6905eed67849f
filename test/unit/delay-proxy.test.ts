// The benchmark's delay proxy (bench/delay-proxy.ts): latency without loss, reordering or a
// bandwidth limit, and its count of the client's turns. Timing is checked as lower bounds only.
import { randomBytes } from "node:crypto";
import net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { DelayProxy, roundTrips, type DelayProxyOptions } from "../../bench/delay-proxy.js";

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A TCP server on an ephemeral loopback port; `onConnection` decides what it does. */
async function target(onConnection: (s: net.Socket) => void): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on("error", () => {});
    onConnection(s);
  });
  await new Promise<void>((r) => server.listen({ port: 0, host: "127.0.0.1" }, () => r()));
  cleanups.push(() => {
    for (const s of sockets) s.destroy();
    return new Promise<void>((r) => server.close(() => r()));
  });
  return (server.address() as net.AddressInfo).port;
}

async function proxyTo(port: number, oneWayMs: number, extra: Partial<DelayProxyOptions> = {}): Promise<DelayProxy> {
  const proxy = await DelayProxy.start({ oneWayMs, targetHost: "127.0.0.1", routes: [{ listenPort: 0, targetPort: port, kind: "control" }], ...extra });
  cleanups.push(() => proxy.stop());
  return proxy;
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((res, rej) => {
    const s = net.connect({ port, host: "127.0.0.1", allowHalfOpen: true }, () => res(s));
    s.once("error", rej);
    cleanups.push(() => void s.destroy());
  });
}

/** Reads until `n` bytes came (or the stream ends). */
function readBytes(s: net.Socket, n: number): Promise<Buffer> {
  return new Promise((res, rej) => {
    const parts: Buffer[] = [];
    let got = 0;
    const onData = (d: Buffer) => {
      parts.push(d);
      got += d.length;
      if (got >= n) done();
    };
    const done = () => {
      s.off("data", onData);
      s.off("end", done);
      res(Buffer.concat(parts));
    };
    s.on("data", onData);
    s.once("end", done);
    s.once("error", rej);
  });
}

/** A line-based server: greets "hello\n", answers each line with "ok <line>\n". */
function lineServer(arrivals?: number[]): (s: net.Socket) => void {
  return (s) => {
    s.write("hello\n");
    let buf = "";
    s.on("data", (d: Buffer) => {
      arrivals?.push(performance.now());
      buf += d.toString();
      for (let i = buf.indexOf("\n"); i >= 0; i = buf.indexOf("\n")) {
        s.write(`ok ${buf.slice(0, i)}\n`);
        buf = buf.slice(i + 1);
      }
    });
    s.on("end", () => s.end());
  };
}

function readLine(s: net.Socket): Promise<string> {
  return new Promise((res) => {
    let buf = "";
    const onData = (d: Buffer) => {
      buf += d.toString();
      const i = buf.indexOf("\n");
      if (i >= 0) {
        s.off("data", onData);
        if (i + 1 < buf.length) s.unshift(Buffer.from(buf.slice(i + 1)));
        res(buf.slice(0, i));
      }
    };
    s.on("data", onData);
  });
}

describe("delay proxy", { timeout: 20_000 }, () => {
  it("delivers every byte intact and in order in both directions, then passes each side's close on", async () => {
    // An echo server: what comes back must be exactly what went out, written in many pieces.
    const port = await target((s) => s.pipe(s));
    const proxy = await proxyTo(port, 5);
    const client = await connect(proxy.ports[0]);
    const sent = randomBytes(3 * 2 ** 20);
    const back = readBytes(client, sent.length + 1); // +1: wait for the end, which comes after the echo
    for (let off = 0; off < sent.length; off += 10_000) client.write(sent.subarray(off, off + 10_000));
    client.end();
    const got = await back;
    expect(got.length).toBe(sent.length);
    expect(got.equals(sent)).toBe(true);
    expect(client.readableEnded).toBe(true);
  });

  it("delays each direction by at least oneWayMs", async () => {
    const oneWayMs = 40;
    const arrivals: number[] = [];
    const port = await target(lineServer(arrivals));
    const proxy = await proxyTo(port, oneWayMs);
    const client = await connect(proxy.ports[0]);
    expect(await readLine(client)).toBe("hello");
    for (let i = 0; i < 3; i++) {
      const sentAt = performance.now();
      const reply = readLine(client);
      client.write(`ping${i}\n`);
      expect(await reply).toBe(`ok ping${i}`);
      const repliedAt = performance.now();
      const arrivedAt = arrivals.at(-1)!;
      expect(arrivedAt - sentAt).toBeGreaterThanOrEqual(oneWayMs);
      expect(repliedAt - arrivedAt).toBeGreaterThanOrEqual(oneWayMs);
    }
  });

  it("makes a new connection cost a TCP handshake's round trip: the greeting comes 4 one-way delays after connect", async () => {
    const oneWayMs = 30;
    let acceptedAt = 0;
    const port = await target((s) => {
      acceptedAt = performance.now();
      lineServer()(s);
    });
    const proxy = await proxyTo(port, oneWayMs);
    const t0 = performance.now();
    const client = await connect(proxy.ports[0]);
    expect(await readLine(client)).toBe("hello");
    const greetedAt = performance.now();
    expect(acceptedAt - t0).toBeGreaterThanOrEqual(3 * oneWayMs);
    expect(greetedAt - t0).toBeGreaterThanOrEqual(4 * oneWayMs);
  });

  it("counts a turn each time the client sends after having received, and none for pipelined sends", async () => {
    const port = await target(lineServer());
    const proxy = await proxyTo(port, 25);

    // one command at a time: each send follows a reply (the first one follows the greeting)
    const serial = await connect(proxy.ports[0]);
    expect(await readLine(serial)).toBe("hello");
    for (const cmd of ["a", "b", "c"]) {
      const reply = readLine(serial);
      serial.write(cmd + "\n");
      expect(await reply).toBe(`ok ${cmd}`);
    }
    serial.end();
    expect(proxy.connections.map((c) => c.turns)).toEqual([3]);

    // three commands in two writes after the greeting, sent before any reply could come back: one turn
    const piped = await connect(proxy.ports[0]);
    expect(await readLine(piped)).toBe("hello");
    const replies = readBytes(piped, "ok a\nok b\nok c\n".length);
    piped.write("a\n");
    await new Promise((r) => setTimeout(r, 10));
    piped.write("b\nc\n");
    expect((await replies).toString()).toBe("ok a\nok b\nok c\n");

    const counts = proxy.takeCounts();
    expect(counts).toEqual({ control: 2, data: 0, controlTurns: 4, dataTurns: 0 });
    expect(roundTrips(counts)).toBe(2 + 4);
    expect(proxy.connections).toEqual([]); // takeCounts starts a new count
  });

  it("notes the round trips to the first data byte: the first control connection's and the data connection's, when it brings bytes after its first turn (its handshake's end)", async () => {
    const controlPort = await target(lineServer());
    // A data connection: "hs2" answers the client's first bytes (a handshake), "DATA" its second.
    const dataPort = await target((s) => {
      let reads = 0;
      s.on("data", () => s.write(++reads === 1 ? "hs2" : "DATA"));
    });
    const proxy = await proxyTo(controlPort, 5, {
      routes: [
        { listenPort: 0, targetPort: controlPort, kind: "control" },
        { listenPort: 0, targetPort: dataPort, kind: "data" },
      ],
    });
    const control = await connect(proxy.ports[0]);
    expect(await readLine(control)).toBe("hello");
    const listed = readLine(control);
    control.write("list\n"); // a turn
    expect(await listed).toBe("ok list");
    // Another control connection meanwhile (a pool's second): not on the first byte's path.
    const other = await connect(proxy.ports[0]);
    expect(await readLine(other)).toBe("hello");
    const otherReply = readLine(other);
    other.write("x\n");
    await otherReply;
    const data = await connect(proxy.ports[1]);
    const hello = readBytes(data, 3);
    data.write("hs1"); // the data connection's first bytes: no turn
    expect((await hello).toString()).toBe("hs2");
    const first = readBytes(data, 4);
    data.write("fin"); // a turn: the handshake's last flight
    expect((await first).toString()).toBe("DATA");
    // Later turns count in the round trips, not in those to the first data byte.
    const more = readLine(control);
    control.write("more\n");
    await more;
    const counts = proxy.takeCounts();
    expect(counts.firstDataRoundTrips).toBe(1 + 1 + 1 + 1);
    expect(roundTrips(counts)).toBe(1 + 1 + 2 + 1 + 1 + 1);
    expect(proxy.takeCounts().firstDataRoundTrips).toBeUndefined();
  });

  it("stops reading a sender whose receiver does not read, holding at most its queue limit", async () => {
    // The target reads nothing at first; the proxy must not buffer the whole 24 MiB meanwhile.
    let serverSide: net.Socket | undefined;
    const port = await target((s) => {
      serverSide = s;
      s.pause();
    });
    const maxQueuedBytes = 256 * 1024;
    const proxy = await proxyTo(port, 1, { maxQueuedBytes });
    const client = await connect(proxy.ports[0]);
    const sent = randomBytes(24 * 2 ** 20);
    client.end(sent);
    await new Promise((r) => setTimeout(r, 300));
    expect(serverSide).toBeDefined();
    const got = readBytes(serverSide!, sent.length + 1);
    serverSide!.resume();
    const all = await got;
    expect(all.equals(sent)).toBe(true);
    // one read (up to 64 KiB) can land after the limit is reached, before the pause
    expect(proxy.peakQueuedBytes).toBeLessThanOrEqual(maxQueuedBytes + 64 * 1024);
    expect(proxy.peakQueuedBytes).toBeGreaterThan(0);
  });
});
