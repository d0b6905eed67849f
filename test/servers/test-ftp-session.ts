// What the scripted and the hostile test servers share: bookkeeping of their sockets, the
// passive data side of a control connection (TLS after PROT P), and the control connection's
// command reader.
import net from "node:net";
import tls from "node:tls";

/** Every socket and listener a test server opened, so that stopping it ends them all. */
export class Connections {
  private readonly sockets = new Set<net.Socket>();
  private readonly servers = new Set<net.Server>();

  track(s: net.Socket): void {
    this.sockets.add(s);
    s.on("close", () => this.sockets.delete(s));
    s.on("error", () => {});
  }

  listen(srv: net.Server, host: string, port = 0): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.servers.add(srv);
      srv.on("close", () => this.servers.delete(srv));
      srv.once("error", reject);
      srv.listen(port, host, () => resolve((srv.address() as net.AddressInfo).port));
    });
  }

  async stopAll(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await Promise.all([...this.servers].map((s) => new Promise<void>((r) => (s.listening ? s.close(() => r()) : r()))));
  }
}

/** The passive data side of one control connection: one listener per EPSV/PASV, one transfer each. */
export class PassiveData {
  private server?: net.Server;
  private pending?: Promise<net.Socket>;

  constructor(
    private readonly conns: Connections,
    private readonly secureContext: tls.SecureContext | undefined,
    private readonly reply: (text: string) => void,
    private readonly onConnection: () => void,
  ) {}

  /** Listens on 127.0.0.1 for the next data connection (TLS when `useTls`); returns its port. */
  async open(useTls: boolean): Promise<number> {
    this.server?.close();
    let resolveSock!: (s: net.Socket) => void;
    this.pending = new Promise<net.Socket>((r) => (resolveSock = r));
    const srv = net.createServer((d) => {
      this.onConnection();
      this.conns.track(d);
      srv.close();
      if (!useTls) return resolveSock(d);
      const t = new tls.TLSSocket(d, { isServer: true, secureContext: this.secureContext });
      this.conns.track(t);
      t.once("secure", () => resolveSock(t));
    });
    this.server = srv;
    return this.conns.listen(srv, "127.0.0.1");
  }

  /**
   * 150, then `fn` with the data connection, then `finalReply` (226; none when undefined). 425
   * without EPSV/PASV first, or when no connection came.
   */
  async transfer(fn: (d: net.Socket) => Promise<void>, waitMs = 10_000, finalReply: string | undefined = "226 Transfer complete"): Promise<void> {
    if (!this.pending) return this.reply("425 Use PASV or EPSV first");
    const pending = this.pending;
    this.pending = undefined;
    this.reply("150 Opening data connection");
    let timer: NodeJS.Timeout | undefined;
    const d = await Promise.race([pending, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), waitMs)))]);
    clearTimeout(timer);
    if (!d) return this.reply("425 No data connection");
    await fn(d);
    if (finalReply !== undefined) this.reply(finalReply);
  }

  /** Sends `body` over the data connection and closes it. */
  send(body: string | Buffer): Promise<void> {
    return this.transfer(
      (d) =>
        new Promise<void>((r) => {
          d.end(body, () => r());
          d.once("close", () => r());
        }),
    );
  }

  /** Receives an upload; `store` gets all its bytes when the client ends the data connection. */
  receive(store: (bytes: Buffer) => void): Promise<void> {
    return this.transfer(
      (d) =>
        new Promise<void>((r) => {
          const chunks: Buffer[] = [];
          d.on("data", (c: Buffer) => chunks.push(c));
          d.once("end", () => {
            store(Buffer.concat(chunks));
            r();
          });
          d.once("close", () => r());
        }),
    );
  }

  close(): void {
    this.server?.close();
  }
}

/**
 * Reads command lines from a control connection and hands them to `handle` one at a time, in
 * order. Lines keep every byte but their final CRLF: a CR or NUL inside a line is evidence.
 * Reading stops after an AUTH line, so that TLS can take over the socket (then `attach` it).
 */
export class CommandReader {
  private buf = Buffer.alloc(0);
  private chain = Promise.resolve();

  constructor(
    private readonly handle: (line: string) => Promise<void>,
    private readonly onFailure: () => void,
    /** A naive server: the first command of each read is taken, the rest of the read dropped. */
    private readonly firstOfEachRead = false,
    /** Sees each line as it arrives, before it is queued: true when it took the line (answered it out of turn). */
    private readonly intercept?: (line: string) => boolean,
  ) {}

  attach(s: net.Socket): void {
    s.on("data", (chunk: Buffer) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      let i: number;
      while ((i = this.buf.indexOf(0x0a)) >= 0) {
        const line = this.buf.subarray(0, i).toString("utf8").replace(/\r$/, "");
        this.buf = this.buf.subarray(i + 1);
        if (this.intercept?.(line)) continue;
        this.chain = this.chain.then(() => this.handle(line)).catch(this.onFailure);
        if (this.firstOfEachRead) this.buf = Buffer.alloc(0);
        if (/^AUTH /i.test(line)) break;
      }
    });
  }
}
