import { request as httpRequest } from "node:http";
import { connect as netConnect, isIP, type Socket } from "node:net";
import { Duplex } from "node:stream";
import { SocksClient } from "socks";
import type { ProxyConfig } from "../../config/types.js";
import { RemoteError } from "../../errors.js";
import { timeoutError } from "./faults.js";

export interface Endpoint {
  host: string;
  port: number;
}

/**
 * Opens a TCP connection to `target`, directly or through `proxy` (SOCKS5 or HTTP CONNECT): the
 * one place where the engine opens a socket, for the control connection and every data connection.
 * Through a proxy the socket returned at once stands for the tunnel: what is written before the
 * proxy has connected waits, and TLS runs inside it end to end (the server's name is verified,
 * never the proxy's). The proxy's answer has `timeoutMs`; its refusals are said plainly.
 */
export function dial(target: Endpoint, timeoutMs: number, proxy?: ProxyConfig): Socket {
  if (!proxy) return netConnect({ host: target.host, port: target.port, family: isIP(target.host) || undefined });
  const abandon = new AbortController();
  const tunnel = new TunnelSocket(target, abandon);
  const opening = proxy.type === "socks5" ? socks5Tunnel(proxy, target, timeoutMs, abandon.signal) : httpConnectTunnel(proxy, target, timeoutMs, abandon.signal);
  opening.then(
    (socket) => tunnel.attach(socket),
    (err: Error) => tunnel.destroy(err),
  );
  // What the engine uses of a Socket (write, cork, end, destroy, its events, remoteAddress) a
  // TunnelSocket has; TLS wraps any Duplex.
  return tunnel as unknown as Socket;
}

/** "host:port", "[::1]:port". */
export function formatEndpoint({ host, port }: Endpoint): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

function proxyName(proxy: ProxyConfig): string {
  return `${proxy.type === "socks5" ? "SOCKS5" : "HTTP"} proxy ${formatEndpoint(proxy)}`;
}

/** The proxy refused: the credentials ("auth", not retried) or the connection it was asked for. */
function proxyError(proxy: ProxyConfig, message: string, kind: "auth" | "transient", cause?: unknown): RemoteError {
  return new RemoteError(`${proxyName(proxy)}: ${message}`, { kind, fault: kind === "auth" ? undefined : "closed", phase: "operation", cause });
}

/** The proxy itself could not be reached (refused, unknown name, cut): Node's code kept for the retry decision. */
function unreachable(proxy: ProxyConfig, err: Error & { code?: string }): Error {
  const wrapped = new Error(`cannot reach the ${proxyName(proxy)}: ${err.code ?? err.message}`) as Error & { code?: string };
  wrapped.code = err.code;
  return wrapped;
}

/** RFC 1928's reply codes, by the name the library gives them in its message. */
const SOCKS5_REPLIES: Record<string, [code: number, words: string]> = {
  Failure: [1, "general SOCKS server failure"],
  NotAllowed: [2, "connection not allowed by ruleset"],
  NetworkUnreachable: [3, "network unreachable"],
  HostUnreachable: [4, "host unreachable"],
  ConnectionRefused: [5, "connection refused"],
  TTLExpired: [6, "TTL expired"],
  CommandNotSupported: [7, "command not supported"],
  AddressNotSupported: [8, "address type not supported"],
};

/** SOCKS5 CONNECT (RFC 1928), by name or address as configured; username/password (RFC 1929) when given. */
async function socks5Tunnel(proxy: ProxyConfig, target: Endpoint, timeoutMs: number, signal: AbortSignal): Promise<Socket> {
  // Connected here, not by the library, so that Node's error code (ECONNREFUSED...) survives.
  const raw = await connectToProxy(proxy, timeoutMs);
  const onAbort = () => raw.destroy();
  if (signal.aborted) onAbort();
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    const { socket } = await SocksClient.createConnection({
      proxy: { host: proxy.host, port: proxy.port, type: 5, ...(proxy.user !== undefined && { userId: proxy.user, password: proxy.password?.reveal() ?? "" }) },
      command: "connect",
      destination: { host: target.host, port: target.port },
      timeout: timeoutMs,
      existing_socket: raw,
    });
    return socket;
  } catch (err) {
    raw.destroy();
    throw socks5Failure(proxy, target, err as Error, timeoutMs);
  } finally {
    signal.removeEventListener("abort", onAbort);
  }
}

function socks5Failure(proxy: ProxyConfig, target: Endpoint, err: Error, timeoutMs: number): Error {
  const message = err.message;
  const rejected = /^Socks5 proxy rejected connection - (\w+)/.exec(message);
  if (rejected) {
    const [code, words] = SOCKS5_REPLIES[rejected[1]] ?? [undefined, rejected[1]];
    return proxyError(proxy, `proxy refused the connection to ${formatEndpoint(target)} (SOCKS5 reply ${code ?? "?"}: ${words})`, code === 2 ? "auth" : "transient");
  }
  if (/no accepted authentication type/.test(message)) {
    return proxyError(proxy, proxy.user === undefined ? 'proxy wants authentication: set "user" and "password" in "proxy"' : "proxy accepts none of the authentication methods offered (no authentication, user and password)", "auth");
  }
  if (/Authentication failed/i.test(message)) return proxyError(proxy, `proxy refused the user "${proxy.user}" and its password (check "proxy.user" and "proxy.password")`, "auth");
  if (/timed out/i.test(message)) return proxyTimeout(proxy, timeoutMs);
  return proxyError(proxy, `SOCKS5 negotiation failed: ${message}`, "transient", err);
}

function proxyTimeout(proxy: ProxyConfig, timeoutMs: number): RemoteError {
  return timeoutError(`from the ${proxyName(proxy)}`, timeoutMs);
}

/** A plain TCP connection to the proxy, within `timeoutMs`. */
function connectToProxy(proxy: ProxyConfig, timeoutMs: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: proxy.host, port: proxy.port, family: isIP(proxy.host) || undefined });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(proxyTimeout(proxy, timeoutMs));
    }, timeoutMs);
    socket.once("connect", () => {
      clearTimeout(timer);
      socket.off("error", onError);
      resolve(socket);
    });
    const onError = (err: Error) => {
      clearTimeout(timer);
      reject(unreachable(proxy, err));
    };
    socket.once("error", onError);
  });
}

/** HTTP CONNECT (RFC 9110, 9.3.6), Basic authentication when a user is given. */
function httpConnectTunnel(proxy: ProxyConfig, target: Endpoint, timeoutMs: number, signal: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const authority = formatEndpoint(target);
    const headers: Record<string, string> = { Host: authority };
    if (proxy.user !== undefined) {
      headers["Proxy-Authorization"] = "Basic " + Buffer.from(`${proxy.user}:${proxy.password?.reveal() ?? ""}`).toString("base64");
    }
    const req = httpRequest({ host: proxy.host, port: proxy.port, method: "CONNECT", path: authority, headers, agent: false, family: isIP(proxy.host) || undefined });
    let done = false;
    const fail = (err: Error) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      reject(err);
    };
    const timer = setTimeout(() => fail(proxyTimeout(proxy, timeoutMs)), timeoutMs);
    signal.addEventListener("abort", () => fail(new Error("abandoned")), { once: true });
    req.once("connect", (res, socket, head) => {
      if (done) return socket.destroy();
      done = true;
      clearTimeout(timer);
      const status = res.statusCode ?? 0;
      if (status >= 200 && status < 300) {
        // Bytes the server sent at once (a greeting) may have come with the proxy's answer.
        if (head.length > 0) socket.unshift(head);
        return resolve(socket);
      }
      socket.destroy();
      const statusText = `HTTP ${status}${res.statusMessage ? ` ${res.statusMessage}` : ""}`;
      if (status === 407) {
        reject(
          proxyError(
            proxy,
            proxy.user === undefined
              ? `proxy wants authentication (${statusText}): set "user" and "password" in "proxy"`
              : `proxy refused the user "${proxy.user}" and its password (${statusText}; check "proxy.user" and "proxy.password")`,
            "auth",
          ),
        );
      } else {
        reject(proxyError(proxy, `proxy refused the connection to ${authority} (${statusText})`, status === 403 ? "auth" : "transient"));
      }
    });
    req.once("response", (res) => {
      res.resume();
      fail(proxyError(proxy, `proxy answered CONNECT without a tunnel (HTTP ${res.statusCode})`, "transient"));
    });
    req.once("error", (err: Error & { code?: string }) => fail(err.code ? unreachable(proxy, err) : proxyError(proxy, err.message, "transient", err)));
    req.end();
  });
}

/**
 * The socket handed out before the tunnel is open: writes wait for it, then everything flows both
 * ways (with back-pressure) between the engine and the tunnel. A failed tunnel destroys it with the
 * proxy's error. remoteAddress is the target as configured: the peer behind the proxy is unknown
 * here, and the data connections go to the same target through the same proxy.
 */
class TunnelSocket extends Duplex {
  private inner?: Socket;
  private waiting: Array<() => void> = [];
  /** The server's end of stream came through the tunnel. */
  private serverEnded = false;

  constructor(
    private readonly target: Endpoint,
    /** Stops the proxy's negotiation when this socket is destroyed before the tunnel opened. */
    private readonly abandon: AbortController,
  ) {
    // Not half-open, as a net.Socket: TLS on top takes this setting when it wraps the socket, and
    // so answers the server's close_notify by ending its own side (vsftpd waits for that before
    // its 226). Not destroyed by itself once both sides ended: whoever reads it destroys it (TLS
    // when it closes), or a cut does. See attach() for the end of stream.
    super({ allowHalfOpen: false, autoDestroy: false });
  }

  get remoteAddress(): string {
    return this.target.host;
  }

  get remotePort(): number {
    return this.target.port;
  }

  attach(socket: Socket): void {
    if (this.destroyed) {
      socket.destroy();
      return;
    }
    this.inner = socket;
    socket.on("data", (chunk: Buffer) => {
      if (!this.push(chunk)) socket.pause();
    });
    let ended = false;
    socket.on("end", () => {
      ended = true;
      this.serverEnded = true;
      // The reader ends this side in its turn, once it has read the last records: TLS may still
      // have to write (its close_notify) after the server's FIN, when the server sent its
      // close_notify and FIN together (ProFTPD at a listing's end). Ending it here at once made
      // that a "write after end", and destroying it here left the listing without its end.
      this.allowHalfOpen = true;
      this.push(null);
    });
    socket.on("error", (err) => this.destroy(err));
    // A close after the end of stream is the reader's to act on; one without it is a cut.
    socket.on("close", () => {
      if (!ended && !this.destroyed) this.destroy();
    });
    for (const run of this.waiting.splice(0)) run();
    this.emit("connect");
  }

  override _read(): void {
    this.inner?.resume();
  }

  override _write(chunk: Buffer, encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    const write = () => {
      const inner = this.inner!;
      // After the server's FIN nobody reads what is written (TLS's closing records): dropped,
      // as the kernel would, rather than a failure of a transfer that is complete.
      if (this.serverEnded || inner.destroyed || inner.writableEnded) callback();
      else inner.write(chunk, encoding, callback);
    };
    if (this.inner) write();
    else this.waiting.push(write);
  }

  override _final(callback: (err?: Error | null) => void): void {
    const end = () => {
      const inner = this.inner!;
      if (inner.destroyed || inner.writableFinished) callback();
      else inner.end(() => callback());
    };
    if (this.inner) end();
    else this.waiting.push(end);
  }

  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    if (this.inner) this.inner.destroy();
    else this.abandon.abort();
    callback(err);
  }

  /** No-ops that a net.Socket has, for callers that tune sockets. */
  setNoDelay(): this {
    this.inner?.setNoDelay();
    return this;
  }

  setKeepAlive(): this {
    return this;
  }
}
