import { createServer, isIP, type Server, type Socket } from "node:net";
import { faultError, timeoutError } from "./faults.js";

/** An address without the IPv4-mapped prefix ("::ffff:127.0.0.1" is 127.0.0.1). */
export function unmapped(address: string): string {
  return address.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/i, "");
}

/** EPRT's argument (RFC 2428): "|1|127.0.0.1|6446|", "|2|::1|6446|". */
export function eprtArgument(address: string, port: number): string {
  return `|${isIP(address) === 6 ? 2 : 1}|${address}|${port}|`;
}

/** PORT's argument (RFC 959): "127,0,0,1,25,46"; none for an IPv6 address, which PORT cannot name. */
export function portArgument(address: string, port: number): string | undefined {
  if (isIP(address) !== 4) return undefined;
  return [...address.split("."), port >> 8, port & 255].join(",");
}

/**
 * Active mode's side of one data connection: a listener on the control connection's own local
 * address (an ephemeral port), for the server to connect to. It takes ONE connection, and only
 * from the control connection's peer: a connection from any other host (someone who saw the
 * port go by, or scans for it) is closed at once, before a byte is read or sent.
 */
export class ActiveListener {
  private accepted = false;
  private closed = false;
  private timer?: NodeJS.Timeout;
  /** Connections that came before accept() was called (the server is quick), handled then. */
  private early: Socket[] = [];
  private waiting?: { peer: string; onSocket: (socket: Socket) => void; refused?: (from: string) => void };

  private constructor(
    private readonly server: Server,
    /** The address the server is told to connect to (the control connection's local address). */
    readonly address: string,
    readonly port: number,
  ) {
    server.on("connection", (socket: Socket) => {
      if (this.waiting) this.take(socket);
      else this.early.push(socket);
    });
  }

  static async open(localAddress: string | undefined): Promise<ActiveListener> {
    if (!localAddress) throw faultError("closed", "the control connection is closed");
    const address = unmapped(localAddress);
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen({ host: address, port: 0, backlog: 4 }, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const bound = server.address();
    return new ActiveListener(server, address, typeof bound === "object" && bound ? bound.port : 0);
  }

  /**
   * Waits for the server's connection from `peer`, within `timeoutMs`; `refused` is told of each
   * connection from another address (closed). The listener closes once one is accepted.
   */
  accept(peer: string, timeoutMs: number, onSocket: (socket: Socket) => void, onError: (err: Error) => void, refused?: (from: string) => void): void {
    this.waiting = { peer: unmapped(peer), onSocket, refused };
    for (const socket of this.early.splice(0)) this.take(socket);
    if (this.accepted || this.closed || timeoutMs <= 0) return;
    this.timer = setTimeout(() => {
      this.close();
      onError(timeoutError("waiting for the server's data connection (active mode)", timeoutMs));
    }, timeoutMs);
  }

  private take(socket: Socket): void {
    const from = unmapped(socket.remoteAddress ?? "");
    if (this.accepted || this.closed || !this.waiting || from !== this.waiting.peer) {
      socket.destroy();
      this.waiting?.refused?.(from);
      return;
    }
    this.accepted = true;
    this.close();
    this.waiting.onSocket(socket);
  }

  /** Stops listening; a connection not accepted is closed. */
  close(): void {
    clearTimeout(this.timer);
    for (const socket of this.early.splice(0)) socket.destroy();
    if (this.closed) return;
    this.closed = true;
    this.server.close();
  }
}
