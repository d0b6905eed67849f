// A TCP proxy that adds latency, not bandwidth limits: every chunk, in each direction, is delivered
// `oneWayMs` after the proxy read it, in order (a round trip through it costs 2 * oneWayMs). The
// benchmark puts it between the tools and a real FTPS server to measure them at WAN round trips.
//
// FTPS hides the control channel (TLS end to end), so PASV/EPSV replies cannot be rewritten.
// Instead the proxy listens on the SAME port numbers as the server (its control port and every port
// of its passive range), on another loopback address: the server listens on 127.0.0.2 and
// advertises 127.0.0.1 in PASV (startServer({ listenAddress: "127.0.0.2", pasvAddress:
// "127.0.0.1" })); clients connect to the proxy on 127.0.0.1, and data connections (PASV names
// 127.0.0.1, EPSV names only a port) reach the proxy too, so they are delayed as well. The proxy
// connects from 127.0.0.1, so the server sees one client address for control and data.
//
// A new connection's first bytes reach the server 3 * oneWayMs after the client connected (the
// proxy opens its upstream connection then), as over a real link where SYN, SYN-ACK and ACK each
// cross it once: a server's greeting reaches the client 4 * oneWayMs after connect().
//
// It also counts "turns" per connection: how many times the client sent something after having
// received something since its previous send, i.e. a point where the client (most likely) waited
// for the server. See roundTrips() for how the bench turns these into round trips.
import net from "node:net";

export type ConnectionKind = "control" | "data";

export interface Route {
  /** port the proxy listens on (0: any free port, see DelayProxy.ports) */
  listenPort: number;
  /** port of the target it forwards to */
  targetPort: number;
  kind: ConnectionKind;
}

export interface DelayProxyOptions {
  /** delay of each direction, in ms; can be changed later (applies to what is read afterwards) */
  oneWayMs: number;
  /** where the proxy listens, default 127.0.0.1 */
  listenHost?: string;
  /** where the target listens */
  targetHost: string;
  /** address the proxy connects from (the target sees this client address), default listenHost */
  localAddress?: string;
  routes: Route[];
  /**
   * Bytes one direction of one connection may hold waiting for their delivery time before the
   * proxy stops reading that side (default 64 MiB: far above what any link here carries in one
   * delay, so no bandwidth limit in practice, but bounded memory when the receiver is slow).
   */
  maxQueuedBytes?: number;
}

export interface ConnectionRecord {
  kind: ConnectionKind;
  /** the port the client connected to */
  port: number;
  turns: number;
  bytesFromClient: number;
  bytesToClient: number;
}

export interface ProxyCounts {
  control: number;
  data: number;
  controlTurns: number;
  dataTurns: number;
  /**
   * The round trips on the way to the first byte of data: the first control connection's (1 for
   * its TCP handshake, plus its turns) and the first data connection's, counted at the moment that
   * data connection brought the client its first bytes after its TLS handshake (the first server
   * bytes after the client's first turn on it), as a client's first listing sees it. Connections
   * opened beside them (a pool's others) are not on that path and not counted. Undefined when no
   * data connection got that far.
   */
  firstDataRoundTrips?: number;
}

const DEFAULT_MAX_QUEUED = 64 * 2 ** 20;

/** One direction of one connection: a FIFO of chunks, each written to the sink at its due time. */
class DelayLine {
  private readonly queue: { chunk: Buffer; due: number }[] = [];
  private queuedBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private blocked = false;
  private sourceDone: "end" | "abort" | undefined;
  private finished = false;
  /** when the sink last drained: a chunk that waited for it waited for the receiver, not the proxy */
  private drainedAt = 0;
  private sink: net.Socket | undefined;

  constructor(
    private readonly source: net.Socket,
    private readonly delayMs: () => number,
    private readonly maxQueued: number,
    private readonly onRead: (bytes: number) => void,
    private readonly onDeliver: (bytes: number) => void,
    private readonly onQueued: (queuedBytes: number) => void,
    /**
     * how late (ms) a chunk left against its due time, or against the moment the receiver could
     * take it if it was later: the proxy's own lateness (timers, CPU load), not the receiver's
     */
    private readonly onLate: (ms: number) => void,
  ) {
    source.on("data", (chunk: Buffer) => this.push(chunk));
    source.on("end", () => this.sourceEnded("end"));
    source.on("close", () => this.sourceEnded("abort"));
  }

  /**
   * The socket chunks go to. The client-to-server line gets it only when the proxy connects
   * upstream: what the client sent before then waits (and goes out as soon as it is due).
   */
  attach(sink: net.Socket): void {
    this.sink = sink;
    this.schedule();
  }

  /** Drops everything (the other side failed). */
  abort(): void {
    clearTimeout(this.timer);
    this.queue.length = 0;
    this.finished = true;
    this.sink?.destroy();
  }

  private push(chunk: Buffer): void {
    this.onRead(chunk.length);
    this.queue.push({ chunk, due: performance.now() + this.delayMs() });
    this.queuedBytes += chunk.length;
    this.onQueued(this.queuedBytes);
    if (this.queuedBytes >= this.maxQueued) this.source.pause();
    this.schedule();
  }

  private sourceEnded(how: "end" | "abort"): void {
    // "close" follows "end" on a clean close: the first one says how it ended
    this.sourceDone ??= how;
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.blocked || this.finished || !this.sink) return;
    const head = this.queue[0];
    if (head) {
      this.timer = setTimeout(() => this.flush(), Math.max(1, Math.ceil(head.due - performance.now())));
      return;
    }
    if (this.sourceDone) {
      // Everything read was delivered: pass the close on, as it would arrive over the link.
      this.finished = true;
      if (this.sourceDone === "end") this.sink.end();
      else this.sink.destroy();
    }
  }

  private flush(): void {
    this.timer = undefined;
    const sink = this.sink!;
    const now = performance.now();
    // The timer may fire a little early against performance.now(): never deliver before due.
    while (this.queue.length && this.queue[0].due <= now && !sink.destroyed) {
      const { chunk, due } = this.queue.shift()!;
      this.onLate(now - Math.max(due, this.drainedAt));
      this.queuedBytes -= chunk.length;
      this.onDeliver(chunk.length);
      if (!sink.write(chunk)) {
        // Backpressure: stop writing until the receiver catches up (the source keeps being read
        // until maxQueued bytes wait here, then it is paused too).
        this.blocked = true;
        sink.once("drain", () => {
          this.blocked = false;
          this.drainedAt = performance.now();
          this.schedule();
        });
        break;
      }
    }
    if (this.queuedBytes < this.maxQueued && this.source.isPaused()) this.source.resume();
    if (sink.destroyed) this.abort();
    else this.schedule();
  }
}

export class DelayProxy {
  oneWayMs: number;
  /** every connection accepted since the last takeCounts(), in order */
  readonly connections: ConnectionRecord[] = [];
  /** the ports actually listened on, in the order of options.routes */
  readonly ports: number[] = [];
  private readonly servers: net.Server[] = [];
  private readonly open = new Set<net.Socket>();
  /** highest number of bytes one direction of one connection held at once (tests of the bound) */
  peakQueuedBytes = 0;
  /** chunks delivered since the last takeLateness(), and how late they left against their due time */
  private late = { chunks: 0, totalMs: 0, maxMs: 0 };
  /** See ProxyCounts.firstDataRoundTrips; reset by takeCounts(). */
  private firstData: number | undefined;

  private constructor(private readonly opts: DelayProxyOptions) {
    this.oneWayMs = opts.oneWayMs;
  }

  static async start(opts: DelayProxyOptions): Promise<DelayProxy> {
    const proxy = new DelayProxy(opts);
    try {
      for (const r of opts.routes) proxy.ports.push(await proxy.listen(r));
    } catch (e) {
      await proxy.stop();
      throw e;
    }
    return proxy;
  }

  /**
   * In front of an FTPS server started with listenAddress `targetHost` (not 127.0.0.1) and
   * pasvAddress 127.0.0.1: listens on 127.0.0.1 on its control port and every passive port.
   */
  static forFtpServer(server: { listenAddress: string; port: number; passivePorts: [number, number] }, oneWayMs: number): Promise<DelayProxy> {
    if (server.listenAddress === "127.0.0.1") throw new Error("DelayProxy: start the server with listenAddress 127.0.0.2 (the proxy takes 127.0.0.1)");
    const routes: Route[] = [{ listenPort: server.port, targetPort: server.port, kind: "control" }];
    for (let p = server.passivePorts[0]; p <= server.passivePorts[1]; p++) routes.push({ listenPort: p, targetPort: p, kind: "data" });
    return DelayProxy.start({ oneWayMs, listenHost: "127.0.0.1", targetHost: server.listenAddress, routes });
  }

  /** Totals over the connections since the last call, which starts a new count. */
  takeCounts(): ProxyCounts {
    const c = this.countsSoFar();
    this.connections.length = 0;
    if (this.firstData !== undefined) c.firstDataRoundTrips = this.firstData;
    this.firstData = undefined;
    return c;
  }

  private countsSoFar(): ProxyCounts {
    const c: ProxyCounts = { control: 0, data: 0, controlTurns: 0, dataTurns: 0 };
    for (const r of this.connections) {
      c[r.kind]++;
      if (r.kind === "control") c.controlTurns += r.turns;
      else c.dataTurns += r.turns;
    }
    return c;
  }

  /**
   * How late chunks left since the last call, beyond their due time and beyond a busy receiver:
   * the delay the proxy actually added is oneWayMs plus this.
   */
  takeLateness(): { chunks: number; meanMs: number; maxMs: number } {
    const l = this.late;
    this.late = { chunks: 0, totalMs: 0, maxMs: 0 };
    return { chunks: l.chunks, meanMs: l.chunks ? l.totalMs / l.chunks : 0, maxMs: l.maxMs };
  }

  private readonly noteLate = (ms: number) => {
    this.late.chunks++;
    this.late.totalMs += ms;
    this.late.maxMs = Math.max(this.late.maxMs, ms);
  };

  async stop(): Promise<void> {
    for (const s of this.open) s.destroy();
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }

  private listen(route: Route): Promise<number> {
    // allowHalfOpen: a client's FIN must not cut what the server still sends back (and vice versa)
    const server = net.createServer({ allowHalfOpen: true }, (client) => this.accept(client, route));
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen({ port: route.listenPort, host: this.opts.listenHost ?? "127.0.0.1", exclusive: true }, () =>
        resolve((server.address() as net.AddressInfo).port),
      );
    });
  }

  private accept(client: net.Socket, route: Route): void {
    const record: ConnectionRecord = { kind: route.kind, port: route.listenPort, turns: 0, bytesFromClient: 0, bytesToClient: 0 };
    this.connections.push(record);
    this.open.add(client);
    client.setNoDelay(true);
    const d = this.oneWayMs;
    const max = this.opts.maxQueuedBytes ?? DEFAULT_MAX_QUEUED;
    // Whether the client received something since it last sent: its next send is a turn.
    let receivedSinceSend = false;
    const queued = (n: number) => (this.peakQueuedBytes = Math.max(this.peakQueuedBytes, n));
    const up = new DelayLine(
      client,
      () => this.oneWayMs,
      max,
      (n) => {
        record.bytesFromClient += n;
        if (receivedSinceSend) record.turns++;
        receivedSinceSend = false;
      },
      () => {},
      queued,
      this.noteLate,
    );
    const fail = () => {
      up.abort();
      client.destroy();
    };
    client.on("error", fail);
    const connect = setTimeout(() => {
      if (client.destroyed && !client.readableEnded) return;
      const upstream = net.connect({
        host: this.opts.targetHost,
        port: route.targetPort,
        localAddress: this.opts.localAddress ?? this.opts.listenHost ?? "127.0.0.1",
        allowHalfOpen: true,
        noDelay: true,
      });
      this.open.add(upstream);
      const down = new DelayLine(
        upstream,
        () => this.oneWayMs,
        max,
        () => {},
        (n) => {
          record.bytesToClient += n;
          receivedSinceSend = true;
          // A data connection's TLS handshake ends with a client turn (its Finished): what the
          // server sends after it is the data (or comes with it, a session ticket).
          if (route.kind === "data" && record.turns >= 1 && this.firstData === undefined) {
            const control = this.connections.find((r) => r.kind === "control");
            this.firstData = (control ? 1 + control.turns : 0) + 1 + record.turns;
          }
        },
        queued,
        this.noteLate,
      );
      const failBoth = () => {
        up.abort();
        down.abort();
        client.destroy();
        upstream.destroy();
      };
      upstream.on("error", failBoth);
      client.off("error", fail);
      client.on("error", failBoth);
      upstream.once("close", () => this.open.delete(upstream));
      up.attach(upstream);
      down.attach(client);
    }, 3 * d);
    client.once("close", () => {
      this.open.delete(client);
      if (!client.readableEnded) clearTimeout(connect);
    });
  }
}

/**
 * Round trips a client waited for, from the proxy's counts: one per connection opened (the TCP
 * handshake) plus every turn on every connection (control and data: a data connection's TLS
 * handshake shows as its turns). An approximation from outside: a send that follows a receive
 * without having waited for it (a TLS close_notify after a download, say) counts too, and
 * replies that overlap (pipelining) count once.
 */
export function roundTrips(c: ProxyCounts): number {
  return c.control + c.data + c.controlTurns + c.dataTurns;
}
