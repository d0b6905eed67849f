import { finished, pipeline, Writable, type Readable } from "node:stream";
import type { TLSSocket } from "node:tls";
import { ControlConnection, type CommandOptions } from "./control.js";
import { ActiveListener, eprtArgument, portArgument } from "./active.js";
import { controlHost, describeIgnoredPasvAddress, openDataSocket, secureDataSocket, sendFileRange, sessionToResume, parseEpsvReply, parsePasvReply, pasvTarget, type DataTls, type FileRange } from "./data.js";
import { RemoteError } from "../../errors.js";
import { faultError } from "./faults.js";
import { isFailedListingReply } from "../listing-guard.js";
import { replyText } from "../reply-text.js";
import { isPositive, ReplyError } from "./reply-error.js";
import type { Reply } from "./reply-parser.js";

/** A transfer's final reply, and the replies to the commands sent after it in the same write. */
export interface Transferred {
  final: Reply;
  after: Promise<Reply>[];
}

const answeredDuringTransfer = new WeakSet<Error>();

/** The connection is out of step: the server answered a command sent behind a transfer before the transfer ended. */
function answeredDuringTransferError(message: string): RemoteError {
  const err = new RemoteError(message, { fault: "protocol", kind: "transient", phase: "operation" });
  answeredDuringTransfer.add(err);
  return err;
}

/**
 * The sign of a server that answers the commands sent in a transfer's write while the transfer
 * runs (from then on they are sent after it: FtpClient.techniquesOff).
 */
export function isAnsweredDuringTransfer(err: unknown): boolean {
  for (let e = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof Error && answeredDuringTransfer.has(e)) return true;
  }
  return false;
}

/** Node's codes for a data connection the server cut. */
const CUT_CODES = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED"]);
/** How long a cut upload waits for the server's reply that says why. */
const REPLY_AFTER_CUT_MS = 1000;

/**
 * Commands to send in the same write before a transfer's passive-mode command (a login), and the
 * condition its data connection waits for.
 */
export interface SentFirst {
  first: string[];
  /** Called at once with the replies to `first`, in order. */
  firstSent(replies: Promise<Reply>[]): void;
  /**
   * Awaited once the passive-mode reply came (every reply to `first` came before it), before
   * anything else is done with it: rejects to give the transfer up with no data connection opened.
   */
  gate(): Promise<void>;
}

/** How a data connection's bytes are moved once the server says the transfer starts. */
type DataFlow = (socket: TLSSocket, done: (err?: Error | null) => void) => void;

/**
 * Writes `bytes` and ends the data connection; `done` once the end has been sent (or with the
 * socket's error), as pipeline() calls back for a stream read into the socket. pipeline() costs
 * an AbortController per transfer, aborted at its end (a DOMException with its stack): with a
 * Readable made for one chunk, about 5% of a small-file upload's CPU.
 */
function endWith(socket: TLSSocket, bytes: Buffer, done: (err?: Error | null) => void): void {
  finished(socket, { readable: false }, (err) => done(err));
  socket.end(bytes);
}

/** What an upload sends: a stream, bytes in memory, or a range of an open file. */
export type UploadBytes = Readable | Buffer | FileRange;

function uploadFlow(source: UploadBytes): DataFlow {
  if (Buffer.isBuffer(source)) return (socket, done) => endWith(socket, source, done);
  if ("pipe" in source) return (socket, done) => pipeline(source, socket, done);
  return (socket, done) => sendFileRange(socket, source, done);
}

/**
 * Moves a data connection's bytes into `sink` (ended when the server ends the connection); `done`
 * once the sink has finished, or with the first error of either (the other one then destroyed,
 * a connection closed before its end being one), as pipeline(socket, sink) calls back. Not
 * pipeline() itself: its AbortController, aborted at each transfer's end, builds a DOMException
 * with its stack per file (see endWith).
 */
function receiveInto(socket: TLSSocket, sink: Writable, done: (err?: Error | null) => void): void {
  let settled = false;
  const settle = (err?: Error | null) => {
    if (settled) return;
    settled = true;
    if (err) {
      socket.destroy();
      if (!sink.destroyed) sink.destroy(err);
    }
    done(err);
  };
  finished(socket, { writable: false }, (err) => err && settle(err));
  finished(sink, (err) => settle(err));
  socket.pipe(sink);
}

/**
 * A transfer's data connection once the server knows where it goes, and the replies still to
 * come. `open` is called once the transfer command is on its way; `close` gives up what is left.
 */
interface DataChannel {
  replies: Promise<Reply>[];
  open(onSocket: (socket: TLSSocket) => void, onError: (err: Error) => void): void;
  close(): void;
}

/**
 * The FTPS client of one logged-in control connection: commands, and transfers over protected
 * data connections. Several commands may be outstanding at once (sendAll), which is what saves
 * round trips: a transfer's passive-mode command and the transfer command leave in one write.
 */
export class FtpClient {
  /** Passive mode that works on this server: EPSV first; PASV after the server refused EPSV. */
  private passiveMode: "EPSV" | "PASV" | undefined;
  /** Active mode's command that works on this server: EPRT first; PORT after the server refused EPRT. */
  private activeMode: "EPRT" | "PORT" | undefined;
  /**
   * Who opens data connections: the client ("passive", EPSV/PASV), or the server ("active",
   * EPRT/PORT) for a server that forbids passive mode (the remote's dataConnections).
   */
  dataConnections: "passive" | "active" = "passive";
  /** What this connection found the server does not take, reported once each (see onLearnt). */
  private readonly learnt = new Set<string>();
  private learntListener?: (technique: string, reason: string) => void;
  /** Learnt before anyone listened (the listing sent with the login): told to the first listener. */
  private readonly learntUnheard: [string, string][] = [];
  /**
   * Told of each technique this connection finds the server does not take, with why ("epsv": EPSV
   * refused; "pasvAddress": PASV names an address not connected to), for the server's profile.
   */
  get onLearnt(): ((technique: string, reason: string) => void) | undefined {
    return this.learntListener;
  }

  set onLearnt(listener: ((technique: string, reason: string) => void) | undefined) {
    this.learntListener = listener;
    if (listener) for (const [technique, reason] of this.learntUnheard.splice(0)) listener(technique, reason);
  }
  /**
   * What the server was found not to take, a live view (the pool's record, which may learn while
   * this connection lives). "epsv": PASV from the start. "commandsBehindTransfer": a transfer's
   * `after` commands, which otherwise leave in the transfer's own write (their replies come once
   * it is complete), are sent once its final reply came, for a server that answers them while the
   * transfer runs (pyftpdlib: "213 0" to SIZE before the upload's 226).
   */
  techniquesOff: Readonly<Record<string, string>> = {};

  constructor(
    readonly control: ControlConnection,
    private readonly dataTls: DataTls,
    /** Largest listing of one folder accepted, in bytes. */
    private readonly maxListingBytes: number,
  ) {}

  private learn(technique: string, reason: string): void {
    if (this.learnt.has(technique)) return;
    this.learnt.add(technique);
    if (this.learntListener) this.learntListener(technique, reason);
    else this.learntUnheard.push([technique, reason]);
  }

  get closed(): boolean {
    return this.control.closed;
  }

  /** The TLS session the next data connection will offer to resume. */
  get resumeSession(): Buffer | undefined {
    return sessionToResume(this.control, this.dataTls);
  }

  close(err?: Error): void {
    this.control.close(err);
  }

  /** One command; a negative reply (4xx, 5xx) rejects as a ReplyError. */
  async send(command: string, options?: CommandOptions): Promise<Reply> {
    const reply = await this.control.request(command, options);
    if (reply.code >= 400) throw new ReplyError(reply);
    return reply;
  }

  /** One command and its final reply, whatever its code. */
  sendIgnoringError(command: string): Promise<Reply> {
    return this.control.request(command);
  }

  /** Commands in one write, a reply to each, whatever its code (a failed connection rejects). */
  sendAll(commands: string[]): Promise<Reply[]> {
    return Promise.all(this.control.send(commands));
  }

  async size(path: string): Promise<number> {
    const reply = await this.send(`SIZE ${path}`);
    const size = Number(reply.message.slice(4).trim());
    if (!Number.isSafeInteger(size) || size < 0) throw faultError("protocol", `cannot read the size in the reply to SIZE: ${reply.message}`);
    return size;
  }

  /** FEAT's features, upper-cased names to their parameters ("" when none). */
  async features(): Promise<Map<string, string>> {
    return parseFeatures(await this.sendIgnoringError("FEAT"));
  }

  /**
   * A folder's listing (`command`: "MLSD" or "LIST -a"), its text whole. `sentFirst`: commands
   * in the same write before it, and what its data connection waits for (see SentFirst).
   */
  async list(path: string, command: string, sentFirst?: SentFirst): Promise<string> {
    const chunks: Buffer[] = [];
    let bytes = 0;
    const full = path ? `${command} ${path}` : command;
    const { final: reply } = await this.transfer(full, [], (socket, done) => {
      const collect = new Writable({
        write: (chunk: Buffer, _enc, next) => {
          bytes += chunk.length;
          if (bytes > this.maxListingBytes) return next(faultError("protocol", `the listing of ${path} is longer than ${this.maxListingBytes / 1024 / 1024} MiB: refused`));
          chunks.push(chunk);
          next();
        },
      });
      receiveInto(socket, collect, done);
    }, sentFirst && { first: sentFirst.first, firstSent: sentFirst.firstSent, gate: sentFirst.gate });
    if (isFailedListingReply(reply.code, reply.message)) {
      throw new ReplyError({ code: 550, message: `${command}: the server reported a failed listing: ${reply.message.trim()}` });
    }
    return Buffer.concat(chunks).toString("utf8");
  }

  /**
   * STOR (APPE with `append`) from `source`; resolves with the final reply. `after`: commands sent
   * in the same write, answered once the transfer is complete (see transfer()). A source already
   * in memory may be given as its bytes (see endWith), a file as the range of it to send (see
   * sendFileRange).
   */
  async upload(source: UploadBytes, path: string, append = false, after: string[] = []): Promise<Reply> {
    const { final } = await this.uploadThen(source, path, append, after);
    return final;
  }

  uploadThen(source: UploadBytes, path: string, append: boolean, after: string[]): Promise<Transferred> {
    return this.transfer(`${append ? "APPE" : "STOR"} ${path}`, [], uploadFlow(source), { replyAfterCut: true, after });
  }

  /** RETR (after REST `startAt`) into `sink`; resolves once the sink has finished. */
  async download(sink: Writable, path: string, startAt = 0): Promise<Reply> {
    return (await this.downloadThen(sink, path, startAt, [])).final;
  }

  /**
   * download(), with `after` commands answered once the transfer is complete (see transfer()), and
   * `first` commands sent in the same write before it, their replies given to `onFirst` (called
   * only if every one came: the transfer may fail after them).
   */
  downloadThen(sink: Writable, path: string, startAt: number, after: string[], first: string[] = [], onFirst?: (replies: Reply[]) => void): Promise<Transferred> {
    return this.transfer(`RETR ${path}`, startAt > 0 ? [`REST ${startAt}`] : [], (socket, done) => receiveInto(socket, sink, done), { after, first, onFirst });
  }

  /**
   * One transfer: the passive-mode command, `before` (REST) and `command` in one write; the data
   * connection opens once the passive reply names its port and the command is sent; the bytes flow from the server's
   * "150" (or its final reply, for a server that sends none). Resolves with the final reply once
   * the data flow is done. A negative final reply rejects as a ReplyError, the connection still in
   * step; a failure of the data connection or of the caller's stream rejects with that error and
   * closes the control connection (its final reply is still to come).
   */
  private async transfer(
    command: string,
    before: string[],
    flow: DataFlow,
    opts: { replyAfterCut?: boolean; after?: string[]; first?: string[]; onFirst?: (replies: Reply[]) => void } & Partial<Omit<SentFirst, "first">> = {},
  ): Promise<Transferred> {
    const control = this.control;
    let socket: TLSSocket | undefined;
    let channel: DataChannel | undefined;
    let opening = false;
    let started = false;
    /** The server said the transfer starts; it may say so before the data connection is opened here. */
    let ready = false;
    let release: (() => void) | undefined;
    let settle: { resolve(r: Transferred): void; reject(e: Error): void } | undefined;
    let dataDone = false;
    let finalReply: Reply | undefined;
    let failed = false;
    /**
     * The commands before the transfer (REST) were accepted. Until then no byte moves: their
     * replies are read a few microtasks after a 150 that came in the same chunk, and bytes already
     * waiting on the data connection would otherwise reach the sink first.
     */
    let beforeAccepted = before.length === 0;

    const fail = (err: Error, outOfStep: boolean) => {
      if (failed) return;
      failed = true;
      release?.();
      channel?.close();
      socket?.destroy();
      if (outOfStep) control.close(closedAfter(err));
      settle?.reject(err);
    };
    const maybeDone = () => {
      if (!failed && dataDone && finalReply) {
        release?.();
        socket?.destroy();
        settle?.resolve({ final: finalReply, after: afterReplies });
      }
    };
    const start = () => {
      if (started || !socket || !beforeAccepted || failed) return;
      started = true;
      release = control.hold();
      const data = socket;
      // Bytes move once the TLS handshake is done: an empty upload ended before it confuses
      // ProFTPD ("decode error" alert) and loses the file.
      void secured.then(() => {
        if (failed) return;
        flow(data, (err) => {
          release?.();
          if (err) return cut(err);
          dataDone = true;
          maybeDone();
        });
      });
    };
    const onPreliminary = (r: Reply) => {
      if (r.code === 125 || r.code === 150) {
        ready = true;
        start();
      }
    };

    const inTransferWrite = !this.techniquesOff.commandsBehindTransfer;
    const deferred = inTransferWrite ? [] : (opts.after ?? []);
    const after = inTransferWrite ? (opts.after ?? []) : [];
    const all = [...before, command, ...after];
    channel =
      this.dataConnections === "active"
        ? await this.active(all, onPreliminary, before.length, opts.first, opts.onFirst)
        : await this.passiveChannel(all, onPreliminary, before.length, opts.first, opts.onFirst, opts);
    const replies = channel.replies;
    const restReplies = replies.slice(0, before.length);
    const final = replies[before.length];
    let afterReplies = replies.slice(before.length + 1);
    /**
     * The data connection was cut. A server that cuts an upload often says why just after (552
     * out of space, 451): its reply, if it comes within a moment, is the failure (a reply code is
     * typed; a reset alone would only be retried). Else the connection is out of step: closed.
     */
    const cut = (err: Error) => {
      if (failed) return;
      const code = (err as { code?: unknown }).code;
      if (finalReply || !opts.replyAfterCut || !(typeof code === "string" && CUT_CODES.has(code))) return fail(err, !finalReply);
      const grace = setTimeout(() => fail(err, true), REPLY_AFTER_CUT_MS);
      final.then(
        (reply) => {
          clearTimeout(grace);
          if (reply.code >= 400) fail(new ReplyError(reply), false);
          else fail(err, false);
        },
        () => {
          clearTimeout(grace);
          fail(err, false);
        },
      );
    };
    let secured: Promise<void> = Promise.resolve();
    /**
     * The data connection opens once the transfer command is on its way: some servers (pyftpdlib)
     * reset a data connection whose TLS handshake begins before they have the command. Pipelined,
     * the command left with the passive one; one at a time, it leaves once `before` is answered.
     */
    const openData = () => {
      if (failed || opening) return;
      opening = true;
      channel?.open((opened) => {
        if (failed) return void opened.destroy();
        socket = opened;
        secured = new Promise<void>((resolve) => opened.once("secureConnect", () => resolve()));
        opened.once("error", cut);
        if ((ready || finalReply) && beforeAccepted) start();
      }, cut);
    };
    if (opts.gate) {
      // Sent with the login: a transfer the server refused at once (a LIST-only server's 500 to
      // MLSD, read with the passive reply) opens no data connection.
      void Promise.race([final, Promise.resolve(undefined)]).then(
        (reply) => (!reply || reply.code < 300) && openData(),
        () => undefined,
      );
    } else if (before.length === 0 || !control.oneAtATime) openData();
    return new Promise<Transferred>((resolve, reject) => {
      settle = { resolve, reject };
      Promise.all(restReplies).then(
        (rs) => {
          const refused = rs.find((r) => r.code >= 400);
          // REST refused: the RETR that followed sends from byte 0, which must not be appended.
          if (refused) return fail(new ReplyError(refused), true);
          beforeAccepted = true;
          openData();
          if (ready || finalReply) start();
        },
        (err: Error) => fail(err, false),
      );
      final.then(
        (reply) => {
          // Only a transfer's own completion ends it: a reply of another kind here is the reply
          // to a command sent after it, answered early by a server that reads commands while it
          // transfers (the connection is out of step).
          // A multi-line 250 is MLST's answer (RFC 3659), never a transfer's completion.
          const listingReply = reply.code === 250 && /^250-/.test(reply.message);
          if (reply.code >= 200 && reply.code < 300 && ((reply.code !== 226 && reply.code !== 250) || listingReply)) {
            const message = `unexpected reply to ${command.split(" ")[0]} (not a transfer's completion): ${reply.message}`;
            // With commands in the transfer's write, the reply is theirs: the server answers them
            // while it transfers. Worth another attempt, on a connection that sends them after.
            return fail(after.length > 0 ? answeredDuringTransferError(message) : faultError("protocol", message), true);
          }
          if (reply.code >= 300) return fail(new ReplyError(reply.code >= 400 ? reply : { code: 550, message: `unexpected reply to ${command.split(" ")[0]}: ${reply.message}` }), false);
          finalReply = reply;
          if (deferred.length > 0) afterReplies = control.send(deferred);
          start();
          maybeDone();
        },
        (err: Error) => fail(err, false),
      );
    });
  }

  /** passive() as a DataChannel: the data connection is opened to the port it names. */
  private async passiveChannel(...args: Parameters<FtpClient["passive"]>): Promise<DataChannel> {
    const { host, port, replies } = await this.passive(...args);
    return { replies, open: (onSocket) => onSocket(openDataSocket(this.control, host, port, this.dataTls)), close: () => undefined };
  }

  /**
   * Active mode: listens on the control connection's local address (see ActiveListener), sends
   * EPRT (PORT, for good, on a server that refused EPRT: learnt, see onLearnt; from the start on
   * one known to, techniquesOff.eprt), and `commands` once it is accepted. Not in the same write:
   * a server may answer EPRT only once it has connected, and meanwhile the commands behind it
   * (pyftpdlib answers SIZE first: the replies would be out of order), and no transfer is ever
   * sent that the server could start without a port. The server's connection, from the control
   * connection's peer only and within the timeout, is then secured as passive mode's are: TLS
   * client, the control session resumed, the same guards.
   */
  private async active(
    commands: string[],
    onPreliminary: (r: Reply) => void,
    transferAt: number,
    first: string[] = [],
    onFirst?: (replies: Reply[]) => void,
  ): Promise<DataChannel> {
    const listener = await ActiveListener.open(this.control.localAddress);
    try {
      /** `mode` in one write after `first` (their replies to onFirst); its reply. */
      const sendMode = (mode: string): Promise<Reply> => {
        const sent = this.control.send([...first, mode]);
        const mine = sent.slice(0, first.length);
        if (onFirst && mine.length > 0) void Promise.all(mine).then(onFirst, () => undefined);
        first = [];
        return sent[sent.length - 1];
      };
      if (this.activeMode !== "PORT" && !this.techniquesOff.eprt) {
        const reply = await sendMode(`EPRT ${eprtArgument(listener.address, listener.port)}`);
        if (reply.code !== 200) {
          if (this.activeMode === "EPRT" || (reply.code >= 400 && reply.code < 500)) {
            throw new ReplyError(reply.code >= 400 ? reply : { code: 425, message: `unexpected reply to EPRT: ${reply.message}` });
          }
          this.activeMode = "PORT";
          this.learn("eprt", `EPRT refused (${serverText(reply)}): active mode by PORT`);
        } else this.activeMode = "EPRT";
      }
      if (this.activeMode !== "EPRT") {
        const argument = portArgument(listener.address, listener.port);
        if (!argument) throw faultError("protocol", `the server refused EPRT, and PORT cannot name an IPv6 address (${listener.address}): use passive mode with this server`);
        const reply = await sendMode(`PORT ${argument}`);
        if (reply.code !== 200) throw reply.code >= 400 ? new ReplyError(reply) : faultError("protocol", `unexpected reply to PORT: ${reply.message}`);
      }
      const options = commands.map((_, i) => (i === transferAt ? { onPreliminary, opensTransfer: true } : {}));
      const replies = this.control.send(commands, options);
      return {
        replies,
        open: (onSocket, onError) => {
          const peer = controlHost(this.control);
          listener.accept(peer, this.control.timeoutMs, (raw) => onSocket(secureDataSocket(this.control, raw, this.dataTls)), onError, (from) =>
            this.control.log?.(`! active mode: refused a data connection from ${from} (not the server, ${peer})`),
          );
        },
        close: () => listener.close(),
      };
    } catch (err) {
      listener.close();
      throw err;
    }
  }

  /**
   * Sends the passive-mode command followed by `commands` in one write, and returns the data
   * port with the replies still to come. EPSV first (it names no host); PASV, for good, on a
   * server that does not know EPSV or answers it with something unusable (learnt: see onLearnt),
   * and from the start on one known to (techniquesOff.epsv).
   */
  private async passive(
    commands: string[],
    onPreliminary: (r: Reply) => void,
    transferAt: number,
    first: string[] = [],
    onFirst?: (replies: Reply[]) => void,
    sentFirst: Partial<Omit<SentFirst, "first">> = {},
  ): Promise<{ host: string; port: number; replies: Promise<Reply>[] }> {
    const options = commands.map((_, i) => (i === transferAt ? { onPreliminary, opensTransfer: true } : {}));
    // `first` leaves in the same write as the first passive-mode command, and only then.
    const firstReplies = (sent: Promise<Reply>[]) => {
      const mine = sent.slice(0, first.length);
      if (mine.length > 0) sentFirst.firstSent?.(mine);
      if (onFirst && mine.length > 0) void Promise.all(mine).then(onFirst, () => undefined);
      return sent.slice(first.length);
    };
    if (this.passiveMode !== "PASV" && !this.techniquesOff.epsv) {
      // A server that refused EPSV may still start the transfer sent behind it, and wait for a
      // data connection that cannot come (pyftpdlib answers 150): the connection is given up at
      // once rather than at its timeout. The transfer's 150 may be read before EPSV's reply is.
      let epsvOk: boolean | undefined;
      let early: Reply | undefined;
      const startedWithoutPort = () =>
        this.control.close(faultError("closed", `the server started ${commands[transferAt].split(" ")[0]} without a data port after refusing EPSV; connection closed`));
      const guarded = (r: Reply) => {
        if (epsvOk === undefined) early = r;
        else if (epsvOk) onPreliminary(r);
        else startedWithoutPort();
      };
      const firstOptions = commands.map((_, i) => (i === transferAt ? { onPreliminary: guarded, opensTransfer: true } : {}));
      const [epsv, ...replies] = firstReplies(this.control.send([...first, "EPSV", ...commands], [...first.map(() => ({})), {}, ...firstOptions]));
      first = [];
      const reply = await epsv;
      // Nothing is made of the reply (no port used, no PASV tried) before the gate opens.
      await sentFirst.gate?.();
      const port = reply.code === 229 ? parseEpsvReply(reply.message) : undefined;
      epsvOk = port !== undefined;
      if (port !== undefined) {
        this.passiveMode = "EPSV";
        if (early) onPreliminary(early);
        return { host: controlHost(this.control), port, replies };
      }
      const transient = this.passiveMode === "EPSV" || (reply.code >= 400 && reply.code < 500);
      if (!transient) {
        this.passiveMode = "PASV";
        // Learnt now, before this connection may be lost (see startedWithoutPort): the next one uses PASV.
        this.learn("epsv", `${reply.code >= 500 ? "EPSV refused" : "unusable reply to EPSV"} (${serverText(reply)}): passive mode by PASV`);
      }
      if (early) startedWithoutPort();
      await this.drain(replies, transferAt, "EPSV");
      if (transient) throw new ReplyError(reply.code >= 400 ? reply : { code: 425, message: `unusable reply to EPSV: ${reply.message}` });
    }
    const [pasv, ...replies] = firstReplies(this.control.send([...first, "PASV", ...commands], [...first.map(() => ({})), {}, ...options]));
    const reply = await pasv;
    await sentFirst.gate?.();
    const named = reply.code === 227 ? parsePasvReply(reply.message) : undefined;
    if (!named) {
      await this.drain(replies, transferAt, "PASV");
      throw reply.code >= 400 ? new ReplyError(reply) : faultError("protocol", `cannot read the reply to PASV: ${reply.message}`);
    }
    const target = pasvTarget(this.control, named);
    const ignored = describeIgnoredPasvAddress(target);
    if (ignored) this.learn("pasvAddress", ignored);
    return { host: target.host, port: target.port, replies };
  }

  /**
   * The replies to a transfer sent behind a passive-mode command that failed: the server refused
   * them too (no data port). One that started a transfer anyway leaves the connection out of step.
   */
  private async drain(replies: Promise<Reply>[], transferAt: number, passive: string): Promise<void> {
    const rs = await Promise.all(replies);
    const transfer = rs[transferAt];
    if (isPositive(transfer.code) || transfer.code < 200) {
      const err = faultError("protocol", `the server accepted a transfer without a usable ${passive} reply`);
      this.control.close(closedAfter(err));
      throw err;
    }
  }
}

/**
 * The reason a connection is closed after one call's failure, for the other calls queued on it
 * (see FtpsPool's sharing): their commands were cut, a transient failure of theirs, not the
 * failing call's own error (a sink's, a refused reply) that says nothing of them.
 */
function closedAfter(err: Error): Error {
  return faultError("closed", `the connection was closed after another transfer on it failed (${err.message})`, err);
}

/** A reply as one short line for a log or the server's profile: the server's text is not trusted. */
function serverText(reply: Reply): string {
  const text = replyText(reply.code, reply.message).replace(/[\x00-\x1f\x7f-\x9f]/g, "?");
  return text.length > 120 ? `${text.slice(0, 120)}...` : text;
}

/** FEAT's reply to a map: one feature per line between the first and the last. */
export function parseFeatures(reply: Reply): Map<string, string> {
  const features = new Map<string, string>();
  if (reply.code >= 400 || !/^\d{3}-/.test(reply.message)) return features;
  for (const line of reply.message.split("\n").slice(1, -1)) {
    const [name, ...rest] = line.trim().split(" ");
    if (name) features.set(name.toUpperCase(), rest.join(" "));
  }
  return features;
}
