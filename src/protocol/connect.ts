import { createSecureContext, type TLSSocket, type ConnectionOptions, type SecureContext } from "node:tls";
import type { RemoteConfig } from "../config/types.js";
import { RemoteError } from "../errors.js";
import type { Logger } from "../log.js";
import { parseCapabilities, type Capabilities } from "../remote/capabilities.js";
import type { TechniquesOff } from "../remote/remote-folder.js";
import { replyText } from "./reply-text.js";
import { groupsFor, guessGroupFromGreeting, learnGroup } from "./key-share.js";
import { classify, isTlsFailure } from "./classify.js";
import { FtpClient, parseFeatures } from "./engine/client.js";
import { earlyListingCommand, NO_MLSD, type EarlyListing } from "./early-listing.js";
import { ControlConnection, WRITE_DURING_TRANSFER } from "./engine/control.js";
import type { DataTls } from "./engine/data.js";
import { faultError } from "./engine/faults.js";
import { ReplyError } from "./engine/reply-error.js";
import type { Reply } from "./engine/reply-parser.js";
import { fingerprintOfPeer } from "./fingerprint.js";
import { hostPort } from "./host-port.js";
import { withoutPeerCertificate } from "./session-trim.js";
import { clientCertificateProblem, contextOptionsOf, guardDataSocket, tlsOptionsFor, verifyPin } from "./tls-options.js";
import { GREETING_GRACE_MS, isNotTlsFailure, isTlsRecordAtGreeting, probePlainGreeting, probeTlsHandshake, PROBE_MS, type PortSpeaks } from "./tls-mode.js";

export interface TlsInfo {
  protocol: string;
  cipher: string;
  subject: string;
  altNames?: string;
  issuer: string;
  validTo: string;
  fingerprint: string;
  /** Chain verified against the trust store (false when accepted through the pin). */
  chainVerified: boolean;
}

/** A logged-in FTPS control connection with protected data channels. */
export interface FtpsConnection {
  client: FtpClient;
  /** "MLSD" where the server offers it, else "LIST -a". */
  listCommand: string;
  remote: RemoteConfig;
  capabilities: Capabilities;
  tls: TlsInfo;
  /** Techniques found off while connecting, each with why, for the pool to remember and log once. */
  learnt?: TechniquesOff;
  /** The first listing, sent with the login (see early-listing.ts); taken once by whoever lists that folder. */
  early?: EarlyListing;
  /** The next transfer is written while one runs (ControlConnection.writeDuringTransfer), as of now. */
  writesDuringTransfer?: () => boolean;
  close(): void;
}

/** Largest listing of one folder we accept (about 400 000 entries). */
export const MAX_LISTING_BYTES = 40 * 1024 * 1024;

function is2xx(code: number): boolean {
  return code >= 200 && code < 300;
}

function tlsInfo(socket: TLSSocket): TlsInfo {
  const cert = socket.getPeerCertificate();
  return {
    protocol: socket.getProtocol() ?? "unknown",
    cipher: socket.getCipher()?.name ?? "unknown",
    subject: cert.subject ? Object.entries(cert.subject).map(([k, v]) => `${k}=${v}`).join(", ") : "",
    altNames: cert.subjectaltname,
    issuer: cert.issuer ? Object.entries(cert.issuer).map(([k, v]) => `${k}=${v}`).join(", ") : "",
    validTo: cert.valid_to,
    fingerprint: fingerprintOfPeer(cert) ?? "",
    chainVerified: socket.authorized,
  };
}

/**
 * Node asks each TLS client connection for its ephemeral key once the handshake is done, only to
 * refuse a finite-field DH key below minDHSize; on OpenSSL 3 the question alone costs about 75 us
 * for an X25519 key (measured: 2 000 data connections, 145 ms, some 4% of a small-file upload's
 * CPU). A connection that resumed the session has no such key to refuse: TLS 1.2 resumption makes
 * no key exchange, and TLS 1.3 uses only named groups (finite-field ones 2048 bits and up,
 * RFC 7919). A full handshake is checked as before.
 */
export function skipKeyInfoWhenResumed(socket: TLSSocket): void {
  const keyInfo = socket.getEphemeralKeyInfo;
  socket.getEphemeralKeyInfo = function (this: TLSSocket) {
    return this.isSessionReused() ? {} : keyInfo.call(this);
  };
}

/**
 * How this remote's data connections are secured: the control connection's options (one shared
 * context), the pin checked on a connection that did not resume the session (guardDataSocket),
 * and the resumed session without the certificate in it (session-trim.ts).
 */
function dataTlsFor(remote: RemoteConfig, options: ConnectionOptions): DataTls {
  const pinned = !!remote.fingerprint;
  return {
    options,
    guard: (socket) => {
      if (remote.fingerprint) guardDataSocket(socket, remote.fingerprint);
      skipKeyInfoWhenResumed(socket);
    },
    trim: (session) => withoutPeerCertificate(session as Buffer<ArrayBuffer>, pinned),
  };
}

function connectFailure(remote: RemoteConfig, err: unknown): RemoteError {
  if (err instanceof RemoteError && err.phase === "connect") return err;
  const c = classify(err);
  // A TLS failure (handshake, certificate) at connect is the server's or the configuration's:
  // retrying cannot help (see FtpsPool.start).
  const tls = isTlsFailure(err);
  const where = `${remote.name} (${hostPort(remote.host, remote.port)}, ${remote.tls} TLS)`;
  const e = err as { code?: string | number; message?: string };
  let msg: string;
  const mtls = clientCertificateProblem(remote, err);
  if (mtls) {
    msg = `${mtls} (${typeof e.code === "string" ? e.code : (e.message ?? "").split("\n")[0]})`;
  } else if (err instanceof ReplyError && err.code === 530) {
    msg = `login refused for user "${remote.user}" (530): check the user and the password's env variable or file`;
  } else if (typeof e.code === "string" && /CERT|SELF_SIGNED|UNABLE_TO|ALTNAME|DEPTH_ZERO/.test(e.code)) {
    msg =
      `certificate not trusted (${e.code}: ${e.message}). Give the server's CA in "ca", or pin the certificate: ` +
      `run \`ftps-sync fingerprint ${hostPort(remote.host, remote.port)}${remote.tls === "implicit" ? " --implicit" : ""}\`, ` +
      `check the value out of band, and put it in "fingerprint"`;
  } else {
    msg = e.message ?? String(err);
  }
  return new RemoteError(`cannot connect to ${where}: ${msg}`, {
    code: c.code,
    kind: tls ? "tls" : c.kind,
    fault: err instanceof RemoteError ? err.fault : undefined,
    phase: "connect",
    cause: err,
  });
}

/** The configuration names the other TLS mode than the port speaks: said plainly, and not retried. */
function wrongTlsMode(remote: RemoteConfig, speaks: PortSpeaks): RemoteError {
  const where = `${remote.name} (${hostPort(remote.host, remote.port)}, ${remote.tls} TLS)`;
  const what =
    speaks === "tls"
      ? `this port speaks TLS from the first byte: use "tls": "implicit" (implicit FTPS, often port 990)`
      : `this port speaks plain FTP first: use "tls": "explicit" (explicit FTPS: AUTH TLS, often port 21)`;
  return new RemoteError(`cannot connect to ${where}: ${what}`, { kind: "tls", phase: "connect" });
}

/**
 * The server's greeting, or the error that names the TLS mode the port really speaks:
 * - implicit: a handshake that met plain bytes (OpenSSL: "wrong version number") or a cut
 *   connection, where a plain connection reads an FTP reply first;
 * - explicit: a TLS record where the greeting should be; a connection closed before any greeting,
 *   or no greeting within a few seconds (an implicit port says nothing: it waits for a
 *   ClientHello), where a TLS handshake succeeds. A slow server's greeting is still waited for.
 */
async function greetingInMode(remote: RemoteConfig, control: ControlConnection, greeting: Promise<Reply>, signal?: AbortSignal): Promise<Reply> {
  const probeMs = Math.min(PROBE_MS, remote.timeoutMs);
  if (remote.tls === "implicit") {
    let secured = false;
    control.tlsSocket?.once("secureConnect", () => (secured = true));
    try {
      return await greeting;
    } catch (err) {
      if (secured || !isNotTlsFailure(err)) throw err;
      if ((await probePlainGreeting(remote.host, remote.port, Math.min(GREETING_GRACE_MS, remote.timeoutMs), remote.proxy)) === "plain-ftp") throw wrongTlsMode(remote, "plain-ftp");
      throw err;
    }
  }
  const outcome = <T>(p: Promise<T>) => p.then((reply) => ({ reply }), (error: unknown) => ({ error }));
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<"slow">((resolve) => (timer = setTimeout(() => resolve("slow"), Math.min(GREETING_GRACE_MS, remote.timeoutMs))));
  try {
    const first = await Promise.race([outcome(greeting), grace]);
    if (first !== "slow") {
      if ("reply" in first) return first.reply;
      if (isTlsRecordAtGreeting(first.error)) throw wrongTlsMode(remote, "tls");
      // Closed or cut before any greeting: an implicit port that read AUTH TLS as a broken handshake?
      if (!signal?.aborted && (await probeTlsHandshake(remote.host, remote.port, probeMs, remote.proxy))) throw wrongTlsMode(remote, "tls");
      throw first.error;
    }
    const probe = probeTlsHandshake(remote.host, remote.port, probeMs, remote.proxy).then((tls) => (tls ? "tls" : "unknown"));
    const next = await Promise.race([outcome(greeting), probe]);
    if (next === "tls") throw wrongTlsMode(remote, "tls");
    if (next === "unknown") return await greeting;
    if ("reply" in next) return next.reply;
    throw isTlsRecordAtGreeting(next.error) ? wrongTlsMode(remote, "tls") : next.error;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * An implicit FTPS server that refused PBSZ/PROT P: its data channel is used only once a data
 * connection is seen to be TLS, by a listing of the login folder. Nothing can move in the clear:
 * every data connection is a TLS client whose bytes flow only after its handshake, so a clear
 * one fails that handshake, here (the server's bytes are not TLS records) and on every later
 * connection too (where the refusal is remembered, this listing is skipped).
 */
async function seeDataChannelTls(remote: RemoteConfig, client: FtpClient, listCommand: string, refused: string): Promise<void> {
  try {
    await client.list("", listCommand);
  } catch (err) {
    throw new RemoteError(
      `${remote.name}: the server refused to protect the data channel (${refused}) and its data connection is not TLS ` +
        `(${(err as Error).message}); closed, no data was sent. ftps-sync never moves data in the clear: enable TLS for data connections on the server.`,
      { kind: "tls", phase: "connect", cause: err },
    );
  }
}

/**
 * One TLS context per remote (and key-exchange groups offered, see key-share.ts), shared by its
 * control connections and every data connection (the data connections reuse the control
 * connection's options). Without it each data connection built its own context, CA list
 * included: about 0.4 ms of CPU per file.
 */
const sharedContexts = new WeakMap<RemoteConfig, Map<string, SecureContext>>();
function withSharedContext(remote: RemoteConfig, options: ConnectionOptions): ConnectionOptions {
  const groups = groupsFor(`${remote.host}:${remote.port}`);
  let byGroups = sharedContexts.get(remote);
  if (!byGroups) sharedContexts.set(remote, (byGroups = new Map()));
  let secureContext = byGroups.get(groups ?? "");
  if (!secureContext) {
    secureContext = createSecureContext({ ...contextOptionsOf(options), ...(groups && { ecdhCurve: groups }) });
    byGroups.set(groups ?? "", secureContext);
  }
  return { ...options, secureContext };
}

/**
 * Opens a control connection that is encrypted before anything secret crosses it and whose data
 * channel is protected (PROT P), or fails. Never falls back to plaintext:
 * - explicit: a refused AUTH TLS closes the connection before USER is sent;
 * - pin or certificate failure closes it before USER is sent;
 * - a refused PBSZ/PROT P closes it before any data connection opens; in implicit mode only, the
 *   connection goes on once a data connection is seen to be TLS (seeDataChannelTls).
 * Round trips are few: after the TLS handshake, the login and every setting leave in one write
 * (USER, PASS, FEAT, TYPE I, OPTS, PBSZ, PROT P; a refusal of any is read from its own reply),
 * and with them `firstListing`'s listing (EPSV, MLSD or LIST: early-listing.ts), whose data
 * connection opens only once USER/PASS and PBSZ/PROT P were accepted: a refused login or PROT P
 * opens none (implicit mode: see seeDataChannelTls).
 * Every step has a deadline of the remote's timeout, each reply its own (a reply trickled a byte at
 * a time cannot hold it); `signal` abandons the connection half-way (a pool closed meanwhile).
 */
export async function connectFtps(remote: RemoteConfig, logger?: Logger, signal?: AbortSignal, off: TechniquesOff = {}, firstListing?: string): Promise<FtpsConnection> {
  let options = withSharedContext(remote, tlsOptionsFor(remote));
  const implicit = remote.tls === "implicit";
  const { control, greeting } = ControlConnection.open(remote.host, remote.port, remote.timeoutMs, implicit ? options : undefined, remote.proxy);
  // A server that drops commands sent together gets them one at a time, the login included.
  control.oneAtATime = !!off.pipelining;
  const step = <T>(what: string, run: () => Promise<T>): Promise<T> => {
    control.step = what;
    return run();
  };
  const onAbort = () => control.close(faultError("closed", `the connection was closed by ftps-sync (${control.step ?? "opening"})`));
  if (signal?.aborted) onAbort();
  else signal?.addEventListener("abort", onAbort, { once: true });
  if (logger?.isDebugEnabled()) control.log = (line) => logger.debug(`[ftp ${remote.name}] ${line}`);
  try {
    // Explicit TLS: AUTH TLS goes out with the connection, not a round trip after the greeting
    // (the server reads it once it has greeted; its reply comes after the greeting's).
    const authReply = implicit || control.oneAtATime ? undefined : control.request("AUTH TLS");
    const hello = await step(implicit ? "waiting for the TLS handshake and the server's greeting" : "waiting for the connection and the server's greeting", () =>
      greetingInMode(remote, control, greeting, signal),
    );
    if (hello.code >= 400) {
      // An implicit FTPS port reads AUTH TLS as a broken handshake and some say so in plain text
      // (vsftpd "500 OOPS: ... wrong version number", ProFTPD "421 TLS handshake failed").
      if (!implicit && (await probeTlsHandshake(remote.host, remote.port, Math.min(PROBE_MS, remote.timeoutMs), remote.proxy))) throw wrongTlsMode(remote, "tls");
      throw new ReplyError(hello);
    }
    if (!implicit) {
      const auth = await step("waiting for the reply to AUTH TLS and the TLS handshake", () => authReply ?? control.request("AUTH TLS"));
      if (auth.code !== 234) {
        throw new RemoteError(
          `${remote.name}: the server refused AUTH TLS (${replyText(auth.code, auth.message)}); ` +
            `the connection was closed before the user name or password was sent. ` +
            `ftps-sync never talks plain FTP: enable explicit TLS on the server, or use "tls": "implicit" if it expects TLS from the first byte.`,
          { code: auth.code, kind: "tls", phase: "connect" },
        );
      }
      if (guessGroupFromGreeting(`${remote.host}:${remote.port}`, hello.message)) options = withSharedContext(remote, tlsOptionsFor(remote));
      await step("waiting for the reply to AUTH TLS and the TLS handshake", () => control.upgrade(options));
    }
    const socket = control.tlsSocket;
    if (!socket || !socket.encrypted) {
      throw new RemoteError(`${remote.name}: the control connection is not encrypted; refusing to log in`, {
        kind: "tls",
        phase: "connect",
      });
    }
    if (remote.fingerprint) {
      verifyPin(socket, remote.fingerprint, `${remote.name} (${hostPort(remote.host, remote.port)})`);
    } else if (!socket.authorized) {
      // rejectUnauthorized already refuses this; kept so that a future option change cannot slip by.
      throw new RemoteError(`${remote.name}: certificate not verified (${String(socket.authorizationError)})`, {
        kind: "tls",
        phase: "connect",
      });
    }
    const tls = tlsInfo(socket);
    // The server's key-exchange group, offered first by the data connections and later logins.
    if (learnGroup(`${remote.host}:${remote.port}`, socket)) options = withSharedContext(remote, tlsOptionsFor(remote));

    const client = new FtpClient(control, dataTlsFor(remote, options), MAX_LISTING_BYTES);
    client.techniquesOff = off;
    // vsftpd reads its control connection only between transfers: the next transfer is written
    // while one runs, unless the server's profile (a live view, see FtpsPool) turned it off.
    const readsBetweenTransfers = /\bvsftpd\b/i.test(hello.message);
    control.writeDuringTransfer = () => readsBetweenTransfers && !control.oneAtATime && !client.techniquesOff[WRITE_DURING_TRANSFER];
    client.dataConnections = remote.dataConnections ?? "passive";
    const login = [
      `USER ${remote.user}`,
      `PASS ${remote.password.reveal()}`,
      "FEAT",
      "TYPE I",
      "OPTS UTF8 ON",
      // Asked of every server; one without MLST refuses it, which changes nothing.
      "OPTS MLST type;size;modify;unix.mode;",
      "PBSZ 0",
      "PROT P",
    ];
    /** The login's replies checked: throws for a refused login, and (explicit) a refused PBSZ/PROT P. */
    const checkLogin = async (replies: Promise<Reply>[]) => {
      // Read in order: a server may close the connection after refusing the login.
      const [user, pass] = await step("waiting for the login (USER and PASS) to be accepted", () => Promise.all(replies.slice(0, 2)));
      if (user.code >= 400) throw new ReplyError(user);
      if (user.code !== 230 && pass.code >= 300) throw new ReplyError(pass.code >= 400 ? pass : { code: 530, message: pass.message });
      const [feat, , , , pbsz, prot] = await step("waiting for the replies to FEAT, TYPE I, OPTS, PBSZ and PROT P", () => Promise.all(replies.slice(2)));
      const capabilities = parseCapabilities(parseFeatures(feat));
      const refusal = !is2xx(pbsz.code) ? { reply: pbsz, to: "PBSZ 0" } : !is2xx(prot.code) ? { reply: prot, to: "PROT P" } : undefined;
      // Implicit FTPS may go on without PROT P, once its data channel is seen to be TLS (below).
      if (refusal && !implicit) {
        throw new RemoteError(
          `${remote.name}: the server refused to protect the data channel (${replyText(refusal.reply.code, refusal.reply.message)} in reply to ` +
            `${refusal.to}); closed before any data connection was opened. ` +
            `Enable TLS for data connections on the server (vsftpd: force_local_data_ssl=YES).`,
          { code: refusal.reply.code, kind: "tls", phase: "connect" },
        );
      }
      return { capabilities, refusal };
    };
    let loggedIn: ReturnType<typeof checkLogin> | undefined;
    let early: EarlyListing | undefined;
    const earlyCommand = firstListing === undefined ? undefined : earlyListingCommand(remote, hello, off);
    if (firstListing !== undefined && earlyCommand) {
      // The login and the first listing in one write; the listing's data connection waits for
      // the login's replies (its gate), all read by then: the passive reply comes after them.
      let sent: Promise<Reply>[] | undefined;
      const text = client.list(firstListing, earlyCommand, {
        first: login,
        firstSent: (replies) => (sent = replies),
        gate: async () => void (await loggedIn),
      });
      text.catch(() => undefined);
      if (!sent) throw new Error("the login was not sent with the first listing");
      loggedIn = checkLogin(sent);
      early = { path: firstListing, command: earlyCommand, text, at: performance.now() };
    } else {
      loggedIn = checkLogin(control.send(login));
    }
    const { capabilities, refusal } = await loggedIn;
    control.step = undefined;
    // One listing command per connection, no fallback: plain LIST hides dotfiles on most servers,
    // which would look like deleted files.
    const listCommand = capabilities.mlsd ? "MLSD" : "LIST -a";
    let learnt: TechniquesOff | undefined;
    if (early && early.command !== listCommand) {
      // The guess was wrong: listed again with the right command (this listing is left to end).
      if (early.command === "MLSD" && !off[NO_MLSD]) {
        learnt = { [NO_MLSD]: "the server offers no MLSD (FEAT): the first listing, sent with the login, is LIST" };
      }
      early = undefined;
    }
    if (refusal && !off.protP) {
      const refused = `${replyText(refusal.reply.code, refusal.reply.message)} in reply to ${refusal.to}`;
      // The early listing, when it came whole, was over a TLS data connection: seen already.
      const seen = early ? await step("listing the first folder, which shows whether the data channel is TLS without PROT P", () => early!.text.then(() => true, () => false)) : false;
      if (!seen) {
        early = undefined;
        await step("listing the login folder to see that the data channel is TLS without PROT P", () => seeDataChannelTls(remote, client, listCommand, refused));
      }
      control.step = undefined;
      learnt = { ...learnt, protP: `the server refused PROT P (${refused}); its data connections were seen to be TLS (implicit FTPS)` };
    }
    return { client, remote, capabilities, tls, listCommand, learnt, early, writesDuringTransfer: control.writeDuringTransfer, close: () => client.close() };
  } catch (err) {
    control.close();
    throw connectFailure(remote, err);
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}
