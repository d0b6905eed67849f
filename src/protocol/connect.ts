import { Client, FTPError } from "basic-ftp";
import { createSecureContext, TLSSocket, type ConnectionOptions, type SecureContext } from "node:tls";
import type { RemoteConfig } from "../config/types.js";
import { RemoteError } from "../errors.js";
import type { Logger } from "../log.js";
import { parseCapabilities, type Capabilities } from "../remote/capabilities.js";
import { replyText } from "./reply-text.js";
import { classify, isTlsFailure } from "./classify.js";
import { typeConnectionFaults, withDeadline } from "./connection-faults.js";
import { fingerprintOfPeer } from "./fingerprint.js";
import { refuseFailedListings } from "./listing-guard.js";
import { withoutPeerCertificate } from "./session-trim.js";
import { guardDataSocket, tlsOptionsFor, verifyPin } from "./tls-options.js";

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
  client: Client;
  remote: RemoteConfig;
  capabilities: Capabilities;
  tls: TlsInfo;
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
 * Data connections resume the session without the certificate in it (see session-trim.ts):
 * basic-ftp keeps the latest session of the control and data connections in `tlsSessionStore`
 * and falls back to the control socket's getSession().
 */
function trimDataSessions(client: Client, pinned: boolean): void {
  const ctx = client.ftp as unknown as { tlsSessionStore?: Buffer<ArrayBuffer>; socket: TLSSocket };
  const trim = (session: Buffer<ArrayBuffer>) => withoutPeerCertificate(session, pinned);
  let store = ctx.tlsSessionStore && trim(ctx.tlsSessionStore);
  Object.defineProperty(ctx, "tlsSessionStore", {
    configurable: true,
    get: () => store,
    set: (session: Buffer<ArrayBuffer> | undefined) => void (store = session && trim(session)),
  });
  const socket = ctx.socket;
  const getSession = socket.getSession.bind(socket);
  socket.getSession = () => {
    const session = getSession();
    return session && trim(session);
  };
}

/**
 * Every basic-ftp data socket, as it is handed to the transfer (its TLS handshake under way):
 * through the pin check (see guardDataSocket) when the remote is pinned, and with the ephemeral
 * key check skipped when the session is resumed (see skipKeyInfoWhenResumed).
 */
function watchDataConnections(client: Client, pin: string | undefined): void {
  const ctx = client.ftp as unknown as object;
  const desc = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(ctx), "dataSocket");
  if (!desc?.get || !desc.set) throw new Error("basic-ftp internals changed: cannot watch data connections");
  Object.defineProperty(ctx, "dataSocket", {
    configurable: true,
    get() {
      return desc.get!.call(this);
    },
    set(socket: unknown) {
      if (socket instanceof TLSSocket) {
        if (pin) guardDataSocket(socket, pin);
        skipKeyInfoWhenResumed(socket);
      }
      desc.set!.call(this, socket);
    },
  });
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

function connectFailure(remote: RemoteConfig, err: unknown): RemoteError {
  if (err instanceof RemoteError && err.phase === "connect") return err;
  const c = classify(err);
  // A TLS failure (handshake, certificate) at connect is the server's or the configuration's:
  // retrying cannot help (see FtpsPool.start).
  const tls = isTlsFailure(err);
  const where = `${remote.name} (${remote.host}:${remote.port}, ${remote.tls} TLS)`;
  const e = err as { code?: string | number; message?: string };
  let msg: string;
  if (err instanceof FTPError && err.code === 530) {
    msg = `login refused for user "${remote.user}" (530): check the user and the password's env variable or file`;
  } else if (typeof e.code === "string" && /CERT|SELF_SIGNED|UNABLE_TO|ALTNAME|DEPTH_ZERO/.test(e.code)) {
    msg =
      `certificate not trusted (${e.code}: ${e.message}). Give the server's CA in "ca", or pin the certificate: ` +
      `run \`ftps-sync fingerprint ${remote.host}:${remote.port}${remote.tls === "implicit" ? " --implicit" : ""}\`, ` +
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

/**
 * basic-ftp records `new Error().stack` for every command it sends, only to name the caller in a
 * "task already running" diagnostic; formatting those stacks cost ~0.25 ms of CPU per
 * transferred file (about 6% of a small-file upload). Errors keep their messages.
 */
function withoutTaskStacks(client: Client): void {
  const ftp = client.ftp as unknown as { handle: (...args: unknown[]) => unknown };
  const handle = ftp.handle.bind(ftp);
  ftp.handle = (...args: unknown[]) => {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    try {
      return handle(...args);
    } finally {
      Error.stackTraceLimit = limit;
    }
  };
}

/**
 * One TLS context per remote, shared by its control connections and every data connection
 * (basic-ftp reuses the control connection's options for each data connection). Without it each
 * data connection built its own context, CA list included: about 0.4 ms of CPU per file.
 */
const sharedContexts = new WeakMap<RemoteConfig, SecureContext>();
function withSharedContext(remote: RemoteConfig, options: ConnectionOptions): ConnectionOptions {
  let secureContext = sharedContexts.get(remote);
  if (!secureContext) {
    secureContext = createSecureContext({ ca: options.ca, minVersion: options.minVersion, maxVersion: options.maxVersion });
    sharedContexts.set(remote, secureContext);
  }
  return { ...options, secureContext };
}

/**
 * Opens a control connection that is encrypted before anything secret crosses it and whose data
 * channel is protected (PROT P), or fails. Never falls back to plaintext:
 * - explicit: a refused AUTH TLS closes the connection before USER is sent;
 * - pin or certificate failure closes it before USER is sent;
 * - a refused PBSZ/PROT P closes it before any data connection opens (basic-ftp's own
 *   `access()` ignores that refusal, which is why we do the steps ourselves).
 * Every step has a deadline of the remote's timeout (see withDeadline); `signal` abandons the
 * connection half-way (a pool closed meanwhile).
 */
export async function connectFtps(remote: RemoteConfig, logger?: Logger, signal?: AbortSignal): Promise<FtpsConnection> {
  // Stated, not left to basic-ftp's defaults (test/integration/hostile.test.ts proves both):
  // a PASV reply naming another host is refused (no FTP bounce, no connection to a host we were
  // not configured with), and one folder's listing is buffered up to a cap, so a hostile or
  // broken server sending an endless listing fails that folder instead of exhausting memory.
  const client = new Client(remote.timeoutMs, { allowSeparateTransferHost: false, maxListingBytes: MAX_LISTING_BYTES });
  typeConnectionFaults(client);
  const step = <T>(what: string, run: () => Promise<T>) => withDeadline(client, remote.timeoutMs, what, run, signal);
  withoutTaskStacks(client);
  refuseFailedListings(client);
  if (logger?.isDebugEnabled()) {
    client.ftp.verbose = true;
    client.ftp.log = (message: string) => logger.debug(`[ftp ${remote.name}] ${message}`);
  }
  try {
    const options = withSharedContext(remote, tlsOptionsFor(remote));
    if (remote.tls === "implicit") {
      await step("waiting for the TLS handshake and the server's greeting", () => client.connectImplicitTLS(remote.host, remote.port, options));
    } else {
      await step("waiting for the connection and the server's greeting", () => client.connect(remote.host, remote.port));
      try {
        await step("waiting for the reply to AUTH TLS and the TLS handshake", () => client.useTLS(options));
      } catch (err) {
        if (err instanceof FTPError) {
          throw new RemoteError(
            `${remote.name}: the server refused AUTH TLS (${replyText(err.code, err.message)}); ` +
              `the connection was closed before the user name or password was sent. ` +
              `ftps-sync never talks plain FTP: enable explicit TLS on the server, or use "tls": "implicit" if it expects TLS from the first byte.`,
            { code: err.code, kind: "tls", phase: "connect" },
          );
        }
        throw err;
      }
    }
    const socket = client.ftp.socket;
    if (!(socket instanceof TLSSocket) || !socket.encrypted) {
      throw new RemoteError(`${remote.name}: the control connection is not encrypted; refusing to log in`, {
        kind: "tls",
        phase: "connect",
      });
    }
    if (remote.fingerprint) {
      verifyPin(socket, remote.fingerprint, `${remote.name} (${remote.host}:${remote.port})`);
    } else if (!socket.authorized) {
      // rejectUnauthorized already refuses this; kept so that a future option change cannot slip by.
      throw new RemoteError(`${remote.name}: certificate not verified (${String(socket.authorizationError)})`, {
        kind: "tls",
        phase: "connect",
      });
    }
    const tls = tlsInfo(socket);
    watchDataConnections(client, remote.fingerprint);
    trimDataSessions(client, !!remote.fingerprint);

    await step("waiting for the login (USER and PASS) to be accepted", () => client.login(remote.user, remote.password.reveal()));
    const capabilities = parseCapabilities(await step("waiting for the reply to FEAT", () => client.features()));
    await step("waiting for the reply to TYPE I", () => client.send("TYPE I"));
    await step("waiting for the reply to OPTS UTF8", () => client.sendIgnoringError("OPTS UTF8 ON"));
    if (capabilities.mlsd) await step("waiting for the reply to OPTS MLST", () => client.sendIgnoringError("OPTS MLST type;size;modify;unix.mode;"));

    const pbsz = await step("waiting for the reply to PBSZ", () => client.sendIgnoringError("PBSZ 0"));
    const prot = is2xx(pbsz.code) ? await step("waiting for the reply to PROT P", () => client.sendIgnoringError("PROT P")) : pbsz;
    if (!is2xx(prot.code)) {
      throw new RemoteError(
        `${remote.name}: the server refused to protect the data channel (${replyText(prot.code, prot.message)} in reply to ` +
          `${is2xx(pbsz.code) ? "PROT P" : "PBSZ 0"}); closed before any data connection was opened. ` +
          `Enable TLS for data connections on the server (vsftpd: force_local_data_ssl=YES).`,
        { code: prot.code, kind: "tls", phase: "connect" },
      );
    }
    // One listing command per connection, no fallback: basic-ftp would otherwise retreat to a
    // plain LIST after any error reply (a transient 451 included), and plain LIST hides dotfiles
    // on most servers, which would look like deleted files.
    client.availableListCommands = capabilities.mlsd ? ["MLSD"] : ["LIST -a"];
    return { client, remote, capabilities, tls, close: () => client.close() };
  } catch (err) {
    client.close();
    throw connectFailure(remote, err);
  }
}
