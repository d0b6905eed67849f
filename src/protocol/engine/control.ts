import type { Socket } from "node:net";
import { connect as tlsConnect, type ConnectionOptions, TLSSocket } from "node:tls";
import type { ProxyConfig } from "../../config/types.js";
import { RemoteError } from "../../errors.js";
import { dial } from "./dial.js";
import { faultError, timeoutError } from "./faults.js";
import { ReplyParser, ReplyTooLong, type Reply } from "./reply-parser.js";
import { looksLikeTlsRecord, tlsRecordAtGreetingError } from "../tls-mode.js";

/** What one command waits for: its final reply; preliminary ones (1xx) go to `onPreliminary`. */
interface Pending {
  verb: string;
  /** Sent while another reply was due (a server that drops such commands never answers it). */
  behind: boolean;
  opensTransfer: boolean;
  /** Written while a transfer before it was still due (see writeDuringTransfer). */
  duringTransfer?: boolean;
  /** A transfer: a write went out behind it while its final reply was due (see writeDuringTransfer). */
  overtaken?: boolean;
  /** A transfer: the server said it starts (125, 150). */
  started?: boolean;
  onPreliminary?: (reply: Reply) => void;
  resolve(reply: Reply): void;
  reject(err: Error): void;
}

/** Commands given to one send() and held until the transfer before them ends. */
interface QueuedWrite {
  commands: readonly string[];
  entries: Pending[];
  transfers: number;
  /** Not written while any transfer runs, even on a connection that writes during transfers. */
  betweenTransfers: boolean;
}

export interface CommandOptions {
  /** Called with each preliminary reply (125, 150) to this command. */
  onPreliminary?: (reply: Reply) => void;
  /** A transfer command (STOR, RETR, LIST...): nothing more is written until its final reply. */
  opensTransfer?: boolean;
  /**
   * Written only while no transfer runs, even where the next transfer is written during the
   * current one (writeDuringTransfer): a NOOP that times a round trip must not wait behind a
   * transfer's bytes.
   */
  betweenTransfers?: boolean;
}

const unansweredBehind = new WeakSet<Error>();

/**
 * The connection timed out waiting for the reply to a command sent in one write behind another:
 * the sign of a server that drops such commands (the next connection should send one at a time).
 */
export function isUnansweredBehind(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof Error && unansweredBehind.has(e)) return true;
  }
  return false;
}

/** In the server's capability profile (techniques off): see ControlConnection.writeDuringTransfer. */
export const WRITE_DURING_TRANSFER = "writeDuringTransfer";

const writtenDuringTransfer = new WeakSet<Error>();

/**
 * The connection was closed because the server answered, refused or dropped a command written
 * while a transfer ran (see writeDuringTransfer): the server reads its control connection during
 * transfers, and the technique is to be turned off for it.
 */
export function isWrittenDuringTransfer(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof Error && writtenDuringTransfer.has(e)) return true;
  }
  return false;
}

/**
 * A transfer's final reply that ends it: 226, or a one-line 250 (a multi-line 250 is MLST's
 * answer, RFC 3659). Anything else positive answers another command.
 */
function endsTransfer(reply: Reply): boolean {
  return reply.code === 226 || (reply.code === 250 && !/^250-/.test(reply.message));
}

/** A transfer's own failures once it started (RFC 959: STOR, RETR and LIST after 125/150). */
const TRANSFER_FAILURES = new Set([425, 426, 451, 551, 552]);

/** The promise, its rejection marked handled (the caller may not read every reply). */
function settled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

/** A byte that would end or split a command line: never sent (a hostile name cannot add a command). */
const LINE_BREAKING = /[\r\n\0]/;

/**
 * One FTP control connection: commands out, replies in, matched in order. Any number of commands
 * may be outstanding (RFC 959 lets a client send before the previous reply): `send` writes them in
 * one write and each gets its own reply. Failures are typed where they happen (RemoteError.fault):
 * - no complete reply within `timeoutMs` of the command or of the previous reply: `timeout`
 *   (the deadline waits while a data transfer holds it: see hold());
 * - the server closed the connection (or sent 421 out of turn): `closed`;
 * - a reply too long, a command with a line break: `protocol`.
 * Node's own errors (ECONNRESET, TLS and certificate errors) pass with their codes. Once closed,
 * every outstanding and later command fails with the reason it closed.
 */
export class ControlConnection {
  private socket: Socket;
  private readonly parser = new ReplyParser();
  private readonly pending: Pending[] = [];
  private closing?: Error;
  private timer?: NodeJS.Timeout;
  private holds = 0;
  /** Some byte came from the server. */
  private heardAny = false;
  private readonly closeListeners = new Set<(err: Error) => void>();
  /** Commands given to send() and not written yet (one at a time only). */
  private readonly unwritten: string[] = [];
  /**
   * Writes each command only once the one before has its final reply: for a server that drops
   * commands sent together (learned, see isUnansweredBehind). Round trips cost more; it works.
   */
  oneAtATime = false;
  /**
   * Whether the next transfer (and the writes before it) may be written while a transfer runs,
   * rather than once its final reply came: for a server that reads its control connection only
   * between transfers (vsftpd), which then has the next EPSV and transfer command the moment it
   * sends a 226, and answers it with no round trip lost. Read at each write (the server's profile
   * may turn it off meanwhile). At most one transfer is written ahead of the one running: what
   * comes later (a rename after a 226) then still goes ahead of the transfer after that one.
   * Other servers read commands during a transfer and answer, refuse or drop them (ProFTPD aborts
   * an upload with 450): nothing is written to them while a transfer runs.
   */
  writeDuringTransfer: () => boolean = () => false;
  /** Transfer commands written whose final reply has not come. */
  private transfersDue = 0;
  /** Writes held until the transfer before them ends (see send); their replies are expected once written. */
  private readonly waitingWrites: QueuedWrite[] = [];
  /** A transfer just ended: writes asked until the next turn of the event loop go out together (see flushWaitingWrites). */
  private flushScheduled = false;
  /** Latest TLS session the server gave (control or data connection), for data connections to resume. */
  session?: Buffer;
  log?: (line: string) => void;
  /**
   * Sees the commands of each write (one round trip's worth), for counting and for tests.
   * `duringTransfer`: written while a transfer's final reply was due (see writeDuringTransfer).
   */
  onWrite?: (commands: readonly string[], at?: { duringTransfer: boolean }) => void;
  /**
   * What the connection is waiting for, in words ("waiting for the login ..."), for a timeout's
   * message while the connection is being opened; the command's verb otherwise.
   */
  step?: string;

  private constructor(
    socket: Socket,
    readonly timeoutMs: number,
    /** The proxy this connection goes through: its data connections go through it too (see dial.ts). */
    readonly proxy?: ProxyConfig,
    /** The server's host as configured, when a proxy stands between (the peer's address is the proxy's). */
    private readonly proxiedHost?: string,
  ) {
    this.socket = socket;
    this.attach(socket);
  }

  /**
   * Connects (through `proxy` when given) and reads the greeting. `implicitTls`: TLS from the
   * first byte (port 990), the handshake within the same deadline as the greeting.
   */
  static open(host: string, port: number, timeoutMs: number, implicitTls?: ConnectionOptions, proxy?: ProxyConfig): { control: ControlConnection; greeting: Promise<Reply> } {
    const raw = implicitTls && !proxy ? undefined : dial({ host, port }, timeoutMs, proxy);
    // TLS runs end to end inside the tunnel, verified against the server's name (`host`), not the proxy's.
    const socket = implicitTls ? tlsConnect({ ...implicitTls, host, port, ...(raw && { socket: raw }) }) : raw!;
    const control = new ControlConnection(socket, timeoutMs, proxy, proxy ? host : undefined);
    return { control, greeting: control.expect("greeting") };
  }

  get tlsSocket(): TLSSocket | undefined {
    return this.socket instanceof TLSSocket ? this.socket : undefined;
  }

  get remoteAddress(): string | undefined {
    if (this.proxiedHost !== undefined) return this.closing ? undefined : this.proxiedHost;
    return this.socket.remoteAddress;
  }

  /** This end's address (where an active-mode data connection is awaited). */
  get localAddress(): string | undefined {
    return this.socket.localAddress;
  }

  get closed(): boolean {
    return this.closing !== undefined;
  }

  /** Why the connection closed, once it has. */
  get closingError(): Error | undefined {
    return this.closing;
  }

  onClose(listener: (err: Error) => void): () => void {
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  /**
   * Sends `commands` in one write; resolves each with its final reply, whatever its code (the
   * caller decides what a refusal means). Rejects only when the connection fails.
   */
  send(commands: string[], options: CommandOptions[] = []): Promise<Reply>[] {
    if (this.closing) return commands.map(() => settled(Promise.reject(this.closing)));
    const bad = commands.find((c) => LINE_BREAKING.test(c));
    if (bad !== undefined) {
      const err = faultError("protocol", `refusing to send a command with a line break or NUL (${bad.split(" ")[0]} ...)`);
      return commands.map(() => settled(Promise.reject(err)));
    }
    if (this.oneAtATime) {
      const replies = commands.map((command, i) => this.expect(command.split(" ")[0].toUpperCase(), options[i]?.onPreliminary, false, !!options[i]?.opensTransfer));
      for (const reply of replies) reply.catch(() => undefined);
      this.unwritten.push(...commands);
      if (this.pending.length === commands.length) this.writeNext();
      return replies;
    }
    const entries: Pending[] = [];
    // (A promise's executor runs at once: `entries` is in the commands' order.)
    const replies = commands.map(
      (command, i) =>
        new Promise<Reply>((resolve, reject) =>
          entries.push({ verb: command.split(" ")[0].toUpperCase(), behind: false, opensTransfer: !!options[i]?.opensTransfer, onPreliminary: options[i]?.onPreliminary, resolve, reject }),
        ),
    );
    // A caller reads the replies in order and may stop at the first failure: the later ones'
    // rejections (the same closed connection) are not unhandled.
    for (const reply of replies) reply.catch(() => undefined);
    const write: QueuedWrite = { commands, entries, transfers: entries.filter((e) => e.opensTransfer).length, betweenTransfers: options.some((o) => o?.betweenTransfers) };
    // Servers read the control connection during a transfer (ProFTPD, Pure-FTPd) and answer,
    // refuse or drop what comes then: a write waits until the transfer before it has ended
    // (vsftpd, which does not: until the transfer after the running one, see writeDuringTransfer).
    if (this.transfersDue >= (write.betweenTransfers ? 1 : this.transfersAtOnce()) || this.flushScheduled) this.waitingWrites.push(write);
    else this.writeTogether([write]);
    return replies;
  }

  /** Transfers that may be due at once: the running one, and one written ahead (writeDuringTransfer). */
  private transfersAtOnce(): number {
    return this.writeDuringTransfer() ? 2 : 1;
  }

  /** Writes `writes` in one write; their replies are expected in that order. */
  private writeTogether(writes: QueuedWrite[]): void {
    const wasIdle = this.pending.length === 0;
    const duringTransfer = this.transfersDue > 0;
    if (duringTransfer) for (const p of this.pending) if (p.opensTransfer) p.overtaken = true;
    for (const w of writes) {
      for (const entry of w.entries) {
        // Sent while an earlier reply is still due: pipelined (what a naive server may drop).
        entry.behind = this.pending.length > 0;
        entry.duringTransfer = duringTransfer;
        this.pending.push(entry);
      }
      this.transfersDue += w.transfers;
    }
    if (wasIdle) this.arm();
    this.write(writes.flatMap((w) => w.commands), { duringTransfer });
  }

  /**
   * After a transfer's final reply, at the next turn of the event loop (so that the caller whose
   * transfer ended can add what follows it, a rename say): every waiting write that opens no
   * transfer, then the first that does, all in one write. The others' order is kept. Writes that
   * open no transfer may go ahead of a queued transfer: they come from other callers (a caller
   * waits for its transfer's final reply before it sends again), and the server then has the next
   * transfer as soon as it has answered them, with no round trip lost between files.
   */
  private scheduleFlush(): void {
    if (this.transfersDue >= this.transfersAtOnce() || this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      if (this.closing || this.waitingWrites.length === 0) return;
      const plain = this.waitingWrites.filter((w) => w.transfers === 0 && (!w.betweenTransfers || this.transfersDue === 0));
      const transfer = this.waitingWrites.find((w) => w.transfers > 0);
      const now = transfer ? [...plain, transfer] : plain;
      const later = this.waitingWrites.filter((w) => !now.includes(w));
      this.waitingWrites.length = 0;
      this.waitingWrites.push(...later);
      this.writeTogether(now);
    });
  }

  private write(commands: readonly string[], at = { duringTransfer: false }): void {
    // One line per write: a write is one round trip, however many commands it carries.
    this.log?.(`> ${commands.map((c) => (/^PASS /i.test(c) ? "PASS ###" : c)).join(" | ")}`);
    this.onWrite?.(commands, at);
    this.socket.cork();
    for (const command of commands) this.socket.write(command + "\r\n");
    this.socket.uncork();
  }

  /** One at a time: the next command once the one before has its final reply. */
  private writeNext(): void {
    const next = this.unwritten.shift();
    if (next !== undefined) this.write([next]);
  }

  /** One command and its final reply. */
  request(command: string, options?: CommandOptions): Promise<Reply> {
    return this.send([command], options ? [options] : [])[0];
  }

  /**
   * Encrypts the connection (after "234" to AUTH TLS): nothing else may be outstanding. The
   * handshake has the connection's deadline.
   */
  async upgrade(options: ConnectionOptions): Promise<TLSSocket> {
    if (this.pending.length > 0 || this.parser.pending) throw faultError("protocol", "the server sent more after its reply to AUTH TLS");
    const raw = this.socket;
    this.detach(raw);
    const tls = tlsConnect({ ...options, socket: raw });
    this.socket = tls;
    this.attach(tls);
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => this.close(timeoutError(this.step ?? "waiting for the TLS handshake", this.timeoutMs)), this.timeoutMs);
      const stop = this.onClose((err) => {
        clearTimeout(timer);
        reject(err);
      });
      tls.once("secureConnect", () => {
        clearTimeout(timer);
        stop();
        resolve();
      });
    });
    return tls;
  }

  /**
   * Holds the reply deadline while a data transfer runs (its own watchdog guards it, and a big
   * transfer's final reply legitimately comes minutes after the command). Returns the release;
   * after it, the next reply is due within the timeout.
   */
  hold(): () => void {
    this.holds++;
    clearTimeout(this.timer);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      this.arm();
    };
  }

  /** Closes the connection now; outstanding commands fail with `err` (by default: closed by us). */
  close(err?: Error): void {
    if (this.closing) return;
    this.closing = err ?? faultError("closed", "the connection was closed by ftps-sync");
    clearTimeout(this.timer);
    this.socket.destroy();
    this.unwritten.length = 0;
    for (const w of this.waitingWrites.splice(0)) for (const p of w.entries) p.reject(this.closing);
    for (const p of this.pending.splice(0)) p.reject(this.closing);
    for (const listener of [...this.closeListeners]) listener(this.closing);
  }

  private expect(verb: string, onPreliminary?: (reply: Reply) => void, behind = false, opensTransfer = false): Promise<Reply> {
    const reply = new Promise<Reply>((resolve, reject) => this.pending.push({ verb, behind, opensTransfer, onPreliminary, resolve, reject }));
    if (this.pending.length === 1) this.arm();
    return reply;
  }

  private arm(): void {
    clearTimeout(this.timer);
    if (this.holds > 0 || this.pending.length === 0 || this.closing || this.timeoutMs <= 0) return;
    const { verb, behind, duringTransfer } = this.pending[0];
    this.timer = setTimeout(() => {
      const what = this.step ?? (verb === "greeting" ? "waiting for the server's greeting" : `on the control connection, waiting for the complete reply to ${verb}`);
      const err = timeoutError(what, this.timeoutMs);
      // Written while a transfer ran, and dropped: that technique is the one to turn off.
      if (duringTransfer) writtenDuringTransfer.add(err);
      else if (behind) unansweredBehind.add(err);
      this.close(err);
    }, this.timeoutMs);
  }

  private readonly onData = (chunk: Buffer) => {
    // A plain connection that hears a TLS record first is talking to an implicit FTPS port.
    if (!this.heardAny && !(this.socket instanceof TLSSocket) && looksLikeTlsRecord(chunk)) return this.close(tlsRecordAtGreetingError());
    this.heardAny = true;
    let replies: Reply[];
    try {
      replies = this.parser.push(chunk);
    } catch (err) {
      if (err instanceof ReplyTooLong) return this.close(faultError("protocol", `the server sent ${err.message}`));
      throw err;
    }
    for (const reply of replies) {
      this.log?.(`< ${reply.message}`);
      const head = this.pending[0];
      if (!head) {
        // Nothing asked: a server closing an idle connection says why (421); anything else is noise.
        if (reply.code === 421) this.close(new RemoteError(`the server closed the connection: ${reply.message}`, { code: 421, kind: "transient", fault: "closed", phase: "operation" }));
        continue;
      }
      if (reply.code < 200) {
        if (reply.code === 125 || reply.code === 150) head.started = true;
        head.onPreliminary?.(reply);
        // A transfer starting pushes the deadline back; a stream of other preliminary replies cannot hold a command.
        if (reply.code === 125 || reply.code === 150) this.arm();
        continue;
      }
      if (head.overtaken && this.answeredOutOfTurn(head, reply)) return;
      this.pending.shift();
      head.resolve(reply);
      if (this.oneAtATime) this.writeNext();
      if (head.opensTransfer && !this.oneAtATime) {
        this.transfersDue--;
        this.scheduleFlush();
      }
      this.arm();
    }
  };

  /**
   * A transfer with a write behind it (writeDuringTransfer) got a final reply that may be the
   * answer to that write, given while the transfer ran: any positive reply but its completion, or
   * a refusal once the transfer had started that is not one of a transfer's own failures (a
   * refusal before it is the transfer command's own, answered in turn). The replies can no longer
   * be matched to their commands: the connection is closed, every command on it fails as one to
   * try again, marked for the server's profile.
   */
  private answeredOutOfTurn(head: Pending, reply: Reply): boolean {
    if (endsTransfer(reply) || (reply.code >= 400 && (!head.started || TRANSFER_FAILURES.has(reply.code)))) return false;
    const err = new RemoteError(
      `the server answered during a transfer a command written behind it (${head.verb} got: ${reply.message.split("\n")[0].slice(0, 120).replace(/[\x00-\x1f\x7f-\x9f]/g, "?")}); connection closed`,
      { kind: "transient", fault: "protocol", phase: "operation" },
    );
    writtenDuringTransfer.add(err);
    this.close(err);
    return true;
  }

  private readonly onError = (err: Error) => this.close(err);

  private readonly onEnd = () => {
    if (!this.closing) this.close(faultError("closed", "the server closed the connection"));
  };

  private readonly onSession = (session: Buffer) => {
    this.session = session;
  };

  private attach(socket: Socket): void {
    socket.on("data", this.onData);
    socket.on("error", this.onError);
    socket.on("end", this.onEnd);
    socket.on("close", this.onEnd);
    socket.on("session", this.onSession);
  }

  private detach(socket: Socket): void {
    socket.off("data", this.onData);
    socket.off("error", this.onError);
    socket.off("end", this.onEnd);
    socket.off("close", this.onEnd);
    socket.off("session", this.onSession);
  }
}
