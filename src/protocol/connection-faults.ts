import { FTPError, type Client, type FTPContext, type FTPResponse } from "basic-ftp";
import { TransferWatchdog } from "basic-ftp/dist/TransferWatchdog.js";
import { enterPassiveModeIPv4_forceControlHostIP, enterPassiveModeIPv6 } from "basic-ftp/dist/transfer.js";
import type { Socket } from "node:net";
import { RemoteError, type FaultKind } from "../errors.js";

/**
 * Typed failures at the connection boundary. basic-ftp reports a timeout, a connection the
 * server closed (FIN), a reply it cannot parse or a refused PASV host as plain `Error`s that
 * differ only in their text. Here each gets a kind (RemoteError.fault) where it happens, from the
 * socket event or the step that failed, so that nothing downstream has to read messages:
 * - a socket's inactivity timeout (control connection during a command, a data connection being
 *   opened), a reply not complete within the timeout (replyDeadline) and basic-ftp's data watchdog
 *   (no byte moved while the server was expected to move some): `timeout`;
 * - the control connection ended or closed by the server, or closed by us under a command: `closed`;
 * - anything else basic-ftp raises without a code (an unparsable or unexpected reply, a command
 *   with a line break, a PASV naming another host): `protocol`.
 * Errors that already carry a code pass unchanged: reply codes (FTPError) and Node's
 * (ECONNRESET, EPIPE, ERR_STREAM_PREMATURE_CLOSE, ERR_SSL_..., certificate codes).
 */

export function faultError(kind: FaultKind, message: string, cause?: unknown): RemoteError {
  return new RemoteError(message, { fault: kind, kind: kind === "protocol" ? "path" : "transient", phase: "operation", cause });
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

/** A step that got no answer within the remote's timeout. `what`: "waiting for the TLS handshake"... */
export function timeoutError(what: string, timeoutMs: number): RemoteError {
  return faultError("timeout", `timeout: no answer within ${seconds(timeoutMs)} ${what}`);
}

/** What basic-ftp's FTPContext has and its type declarations keep protected. */
interface ContextInternals {
  timeout: number;
  _closingError?: Error;
  _socket: Socket;
  _dataSocket?: Socket;
  closeWithError(err: Error): void;
  close(): void;
  handle(command: string | undefined, handler: (res: Error | FTPResponse, task: unknown) => void): Promise<unknown>;
  _setupDefaultErrorHandlers(socket: Socket, identifier: string): void;
  _newSocket(): Socket;
}

function internals(client: Client): ContextInternals {
  const ctx = client.ftp as unknown as ContextInternals;
  for (const m of ["closeWithError", "close", "handle", "_setupDefaultErrorHandlers", "_newSocket"] as const) {
    if (typeof ctx[m] !== "function") throw new Error(`basic-ftp internals changed: FTPContext.${m} is missing`);
  }
  return ctx;
}

/** Node's errors name what happened in `code`; basic-ftp's copy of a closing error may carry "0". */
function hasOwnCode(err: Error): boolean {
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" && code !== "0" && code !== "";
}

/** Errors that already say what they are: left as they are. */
function alreadyTyped(err: unknown): boolean {
  if (!(err instanceof Error)) return true;
  if (err instanceof RemoteError || err instanceof FTPError) return true;
  // Our own error classes (a range download's stop, a STAT listing out of step, ...).
  if (Object.getPrototypeOf(err) !== Error.prototype) return true;
  return hasOwnCode(err);
}

/**
 * Data sockets whose transfer basic-ftp's watchdog found stalled. The watchdog only calls back
 * (and its callback closes the connection with a code-less "Timeout" error); this marks the socket
 * first, for the connection's closing error to say so.
 */
const stalledDataSockets = new WeakSet<object>();
/** Data sockets whose transfer the watchdog is watching now: their command's reply deadline waits. */
const watchedDataSockets = new WeakSet<object>();
type WatchdogStart = (socket: Socket, direction: string, timeout: number, onStall: () => void) => void;
const watchdog = TransferWatchdog.prototype as unknown as { start: WatchdogStart };
const originalStart = watchdog.start;
if (typeof originalStart !== "function") throw new Error("basic-ftp internals changed: TransferWatchdog.start is missing");
watchdog.start = function (this: { watched?: Socket }, socket, direction, timeout, onStall) {
  const started = originalStart.call(this, socket, direction, timeout, () => {
    stalledDataSockets.add(socket);
    onStall();
  });
  // noted after the original, whose first step is a stop()
  this.watched = socket;
  watchedDataSockets.add(socket);
  return started;
};

const watchdogStop = TransferWatchdog.prototype as unknown as { stop: () => void };
const originalStop = watchdogStop.stop;
if (typeof originalStop !== "function") throw new Error("basic-ftp internals changed: TransferWatchdog.stop is missing");
watchdogStop.stop = function (this: { watched?: Socket }) {
  if (this.watched) watchedDataSockets.delete(this.watched);
  this.watched = undefined;
  return originalStop.call(this);
};

/** Sockets whose own inactivity timeout fired (control, or a data connection being opened). */
const timedOutSockets = new WeakSet<object>();

/**
 * Gives every failure of this client's connection a kind (see the top of this file), and replaces
 * basic-ftp's choice of passive mode, which folds every failure into one code-less "None of the
 * available transfer strategies work" error: EPSV, and PASV only when the server refused EPSV or
 * answered it with something unusable.
 */
export function typeConnectionFaults(client: Client): void {
  const ctx = internals(client);
  const timeoutMs = () => ctx.timeout;

  // Every socket basic-ftp creates (control, data): its timeout is noted before basic-ftp's own
  // listener, which destroys it with a code-less error, or rejects opening a data connection.
  const newSocket = ctx._newSocket.bind(ctx);
  let newest: Socket | undefined;
  ctx._newSocket = () => {
    const socket = newSocket();
    socket.prependListener("timeout", () => timedOutSockets.add(socket));
    newest = socket;
    return socket;
  };
  // A data connection that could not be opened in time is rejected without a code, before it
  // becomes the context's data socket: it is the newest socket, and it timed out.
  const newestTimedOut = () => !!newest && timedOutSockets.has(newest);
  // basic-ftp's default handlers of every socket it manages (the TLS ones included): a timeout
  // closes the connection with a typed error first (basic-ftp's then finds it closed).
  const setup = ctx._setupDefaultErrorHandlers.bind(ctx);
  ctx._setupDefaultErrorHandlers = (socket: Socket, identifier: string) => {
    socket.once("timeout", () => {
      timedOutSockets.add(socket);
      ctx.closeWithError(timeoutError(`on the ${identifier === "data socket" ? "data connection" : "control connection"}`, timeoutMs()));
    });
    setup(socket, identifier);
  };

  const closeWithError = ctx.closeWithError.bind(ctx);
  ctx.closeWithError = (err: Error) => closeWithError(closingFault(ctx, err));
  // basic-ftp's close() is a closeWithError with a code-less "User closed client".
  ctx.close = () => ctx.closeWithError(faultError("closed", "the connection was closed by ftps-sync"));

  const handle = ctx.handle.bind(ctx);
  ctx.handle = (command, handler) => {
    const deadline = replyDeadline(ctx, command);
    const task = handle(command, (res, resolver) => {
      if (!(res instanceof Error)) deadline.replied(res.code);
      handler(res, resolver);
    });
    return task.finally(deadline.stop).catch((err: unknown) => Promise.reject(typedFailure(ctx, err, newestTimedOut)));
  };

  const c = client as unknown as { prepareTransfer: (ftp: FTPContext) => Promise<FTPResponse> };
  c.prepareTransfer = async (ftp) => {
    try {
      const res = await openDataConnection(() => enterPassiveModeIPv6(ftp));
      c.prepareTransfer = (f) => openDataConnection(() => enterPassiveModeIPv6(f));
      return res;
    } catch (err) {
      // Only a server that does not do EPSV gets PASV; a data connection that failed is reported.
      if (!(err instanceof FTPError) && !(err instanceof RemoteError && err.fault === "protocol")) throw err;
    }
    const res = await openDataConnection(() => enterPassiveModeIPv4_forceControlHostIP(ftp));
    c.prepareTransfer = (f) => openDataConnection(() => enterPassiveModeIPv4_forceControlHostIP(f));
    return res;
  };

  /** EPSV or PASV and the data connection; a code-less failure is typed (see typedFailure). */
  async function openDataConnection(open: () => Promise<FTPResponse>): Promise<FTPResponse> {
    try {
      return await open();
    } catch (err) {
      throw typedFailure(ctx, err, newestTimedOut);
    }
  }
}

/**
 * A deadline on each reply of a command: basic-ftp's idle timeout of the control connection ends
 * a server's silence, not a reply that trickles a byte at a time or a multi-line reply that never
 * sends its last line. Armed when the command is sent and again at each reply, it closes the
 * connection with a timeout unless the next reply is complete within the remote's timeout. It
 * waits while the command's data transfer runs (basic-ftp's watchdog guards that, and a big
 * STOR's or RETR's final reply legitimately comes minutes later): after it, the reply is due
 * within twice the timeout at most. A preliminary reply other than 125/150 (a transfer starting)
 * does not push the deadline back, so a stream of them cannot hold the command either.
 */
function replyDeadline(ctx: ContextInternals, command: string | undefined): { replied(code: number): void; stop(): void } {
  const ms = ctx.timeout;
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      const data = ctx._dataSocket;
      if (data && watchedDataSockets.has(data)) return arm();
      // The verb only: the rest of a command may be a password or a path.
      const verb = command?.split(" ")[0];
      ctx.closeWithError(timeoutError(`on the control connection, waiting for the complete reply${verb ? ` to ${verb}` : ""}`, ms));
    }, ms);
  };
  if (ms <= 0) return { replied: () => {}, stop: () => {} };
  arm();
  return {
    replied: (code) => {
      if (code >= 200 || code === 125 || code === 150) arm();
    },
    stop: () => clearTimeout(timer),
  };
}

/** The error a connection closes with, typed (see the top of this file). */
function closingFault(ctx: ContextInternals, err: Error): Error {
  if (alreadyTyped(err)) return err;
  const data = ctx._dataSocket;
  if (data && stalledDataSockets.has(data)) {
    return timeoutError("on the data connection: no byte moved", ctx.timeout);
  }
  const control = ctx._socket;
  if (control && (control.destroyed || control.readableEnded)) {
    return faultError("closed", `the server closed the connection: ${err.message}`, err);
  }
  return faultError("protocol", err.message, err);
}

/** A command's failure, typed: after the connection closed, the reason it closed. */
function typedFailure(ctx: ContextInternals, err: unknown, newestTimedOut: () => boolean): unknown {
  if (alreadyTyped(err)) return err;
  const closing = ctx._closingError;
  if (closing instanceof RemoteError && closing.fault) return faultError(closing.fault, closing.message, err);
  if (closing && hasOwnCode(closing)) return closing;
  if (newestTimedOut()) return timeoutError("opening the data connection", ctx.timeout);
  return faultError("protocol", (err as Error).message, err);
}

/**
 * Runs one step of opening a connection (TCP connect and greeting, AUTH TLS and the handshake,
 * the login, each setting) with a deadline: basic-ftp times a command out only while the server
 * is silent, not while it trickles a reply that never ends, and not at all during the TLS
 * handshake that follows AUTH TLS. At the deadline the connection is closed and the step fails
 * with a timeout naming it.
 */
export async function withDeadline<T>(client: Client, timeoutMs: number, what: string, run: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const stop = (err: RemoteError, reject: (e: unknown) => void) => {
    (client.ftp as unknown as ContextInternals).closeWithError(err);
    reject(err);
  };
  const cut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => stop(timeoutError(what, timeoutMs), reject), timeoutMs);
    // Given up by the caller (a pool closed while this connection was being opened).
    onAbort = () => stop(faultError("closed", `the connection was closed by ftps-sync (${what})`), reject);
    if (signal?.aborted) onAbort();
    else signal?.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([run(), cut]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener("abort", onAbort);
  }
}
