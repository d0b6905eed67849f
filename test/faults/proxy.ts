// A fault-injecting TCP proxy between the agent and a real FTPS server.
//
// TLS runs end to end (agent <-> server), so the proxy cannot read or rewrite PASV/EPSV replies.
// Instead the server listens on another loopback address (startServer({ listenAddress:
// "127.0.0.2", pasvAddress: "127.0.0.1" })) and the proxy listens on 127.0.0.1 on the SAME port
// numbers: the control port and every port of the server's passive range. The server advertises
// 127.0.0.1:<pasv port>, the agent connects to the proxy there, and the proxy forwards to
// 127.0.0.2:<same port>. Every connection, control or data, goes through the proxy, and the
// proxy connects from 127.0.0.1 so the server sees one client address (vsftpd checks that the
// data connection comes from the control connection's address).
import net from "node:net";

export type Fault =
  /** forward N bytes (both directions together), then close both sides gracefully (FIN) */
  | { kind: "cut"; afterBytes: number }
  /** forward N bytes, then reset both sides (RST) */
  | { kind: "reset"; afterBytes: number }
  /**
   * forward N bytes, then forward nothing more while keeping both sockets open; when the agent
   * closes its side, the server side is reset (so the server learns it, as after its own timeout),
   * unless `serverNeverLearns`: then the server side stays open and silent until the proxy stops
   * (a network path that drops packets, where only the server's own timeout would end it)
   */
  | { kind: "stall"; afterBytes: number; serverNeverLearns?: boolean }
  /** forward at most this many bytes per second in each direction */
  | { kind: "slow"; bytesPerSecond: number }
  /** accept, then reset at once without connecting to the server */
  | { kind: "refuse" };

export interface ConnectionInfo {
  kind: "control" | "data";
  port: number;
  /** 0-based count of connections of this kind so far */
  index: number;
}

export interface ProxyTarget {
  port: number;
  passivePorts: [number, number];
  /** where the real server listens (its listenAddress), e.g. 127.0.0.2 */
  listenAddress: string;
}

export interface ProxyStats {
  control: number;
  data: number;
  faults: number;
  bytes: number;
}

interface Pair {
  client: net.Socket;
  upstream?: net.Socket;
  bytes: number;
  fault?: Fault;
  stalled: boolean;
  done: boolean;
}

export class FaultProxy {
  readonly host = "127.0.0.1";
  readonly port: number;
  /** Decides the fault of each new connection (undefined: forward faithfully). */
  faultFor?: (c: ConnectionInfo) => Fault | undefined;
  readonly stats: ProxyStats = { control: 0, data: 0, faults: 0, bytes: 0 };
  private readonly servers: net.Server[] = [];
  private readonly pairs = new Set<Pair>();
  private downUntil = 0;
  private totalCut?: { atBytes: number; mode: "cut" | "reset"; fired: boolean };

  constructor(private readonly target: ProxyTarget) {
    if (target.listenAddress === "127.0.0.1") throw new Error("FaultProxy: start the server with listenAddress 127.0.0.2");
    this.port = target.port;
  }

  async start(): Promise<this> {
    const ports = [this.target.port];
    for (let p = this.target.passivePorts[0]; p <= this.target.passivePorts[1]; p++) ports.push(p);
    await Promise.all(ports.map((p) => this.listen(p, p === this.target.port ? "control" : "data")));
    return this;
  }

  /** One-shot: once `atBytes` bytes in total crossed the proxy, every open connection is cut or reset. */
  armTotalCut(atBytes: number, mode: "cut" | "reset" = "reset"): void {
    this.totalCut = { atBytes: this.stats.bytes + atBytes, mode, fired: false };
  }

  /** Whether the armed total cut has fired. */
  get totalCutFired(): boolean {
    return !!this.totalCut?.fired;
  }

  disarm(): void {
    this.totalCut = undefined;
    this.faultFor = undefined;
  }

  /** Resets every open connection (as a server crash or a network drop would). */
  resetAll(): void {
    for (const p of [...this.pairs]) this.kill(p, "reset");
  }

  /** Resets every open connection and refuses new ones for `ms` (a server restart, seen from the client). */
  down(ms: number): void {
    this.downUntil = Date.now() + ms;
    this.resetAll();
  }

  get openConnections(): number {
    return this.pairs.size;
  }

  async stop(): Promise<void> {
    this.resetAll();
    await Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }

  private listen(port: number, kind: "control" | "data"): Promise<void> {
    const server = net.createServer({ pauseOnConnect: true }, (client) => this.accept(client, port, kind));
    this.servers.push(server);
    return new Promise((resolve, reject) => {
      server.once("error", reject);
      server.listen({ port, host: this.host, exclusive: true }, () => resolve());
    });
  }

  private accept(client: net.Socket, port: number, kind: "control" | "data"): void {
    client.on("error", () => {});
    if (Date.now() < this.downUntil) {
      client.resetAndDestroy();
      return;
    }
    const index = kind === "control" ? this.stats.control++ : this.stats.data++;
    const fault = this.faultFor?.({ kind, port, index });
    if (fault) this.stats.faults++;
    if (fault?.kind === "refuse") {
      client.resetAndDestroy();
      return;
    }
    const pair: Pair = { client, bytes: 0, fault, stalled: false, done: false };
    this.pairs.add(pair);
    const upstream = net.connect({ host: this.target.listenAddress, port, localAddress: this.host });
    pair.upstream = upstream;
    upstream.on("error", () => this.kill(pair, "reset"));
    client.on("error", () => this.kill(pair, "reset"));
    upstream.once("connect", () => {
      this.pipe(pair, client, upstream);
      this.pipe(pair, upstream, client);
      client.resume();
    });
    client.once("close", () => this.closeSide(pair, upstream));
    upstream.once("close", () => this.closeSide(pair, client));
  }

  /** One side closed: close the other after what was forwarded (unless stalled: then wait). */
  private closeSide(pair: Pair, other: net.Socket): void {
    if (pair.stalled) {
      // a stalled connection stays silent; once the agent gives up (closes), drop the server side too
      const keep = pair.fault?.kind === "stall" && pair.fault.serverNeverLearns;
      if (other === pair.upstream && !keep) this.kill(pair, "reset");
      return;
    }
    if (!other.destroyed) other.end();
    if (pair.client.destroyed && (pair.upstream?.destroyed ?? true)) this.pairs.delete(pair);
    setTimeout(() => this.kill(pair, "close"), 5000).unref();
  }

  private pipe(pair: Pair, from: net.Socket, to: net.Socket): void {
    from.on("data", (chunk: Buffer) => {
      if (pair.done || pair.stalled) return;
      const f = pair.fault;
      let data = chunk;
      let after: "cut" | "reset" | "stall" | undefined;
      if (f && (f.kind === "cut" || f.kind === "reset" || f.kind === "stall") && pair.bytes + data.length >= f.afterBytes) {
        data = data.subarray(0, Math.max(0, f.afterBytes - pair.bytes));
        after = f.kind;
      }
      pair.bytes += data.length;
      this.stats.bytes += data.length;
      if (data.length > 0 && !to.destroyed) {
        if (!to.write(data)) {
          from.pause();
          to.once("drain", () => from.resume());
        }
      }
      if (after === "stall") {
        // Nothing is forwarded any more, but both sockets are still read (and what arrives is
        // dropped) so that the proxy notices when the agent gives up and closes.
        pair.stalled = true;
      } else if (after) {
        // let the partial write leave first
        setImmediate(() => this.kill(pair, after === "cut" ? "cut" : "reset"));
      } else if (f?.kind === "slow" && data.length > 0) {
        from.pause();
        setTimeout(() => from.resume(), (data.length / f.bytesPerSecond) * 1000);
      }
      const t = this.totalCut;
      if (t && !t.fired && this.stats.bytes >= t.atBytes) {
        t.fired = true;
        setImmediate(() => {
          for (const p of [...this.pairs]) this.kill(p, t.mode);
        });
      }
    });
  }

  private kill(pair: Pair, how: "cut" | "reset" | "close"): void {
    if (pair.done && how === "close") return;
    pair.done = true;
    this.pairs.delete(pair);
    for (const s of [pair.client, pair.upstream]) {
      if (!s || s.destroyed) continue;
      if (how === "reset") s.resetAndDestroy();
      else if (how === "cut") s.end(() => s.destroy());
      else s.destroy();
    }
  }
}
