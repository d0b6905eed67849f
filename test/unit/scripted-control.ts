// A TLS FTP server on loopback whose every reply a test scripts, for the engine's unit tests
// (src/protocol/engine/): the control connection in TLS from the first byte (implicit) or after
// AUTH TLS (explicit), data connections in TLS. It records each command line and each chunk the
// control connection received (how the client wrote its commands).
import net from "node:net";
import tls from "node:tls";
import { afterAll, beforeAll } from "vitest";
import { ControlConnection } from "../../src/protocol/engine/control.js";
import { testTempDir } from "../helpers/temp-dir.js";
import { generateCert, type GeneratedCert } from "../servers/certs.js";
import { CommandReader, Connections, PassiveData } from "../servers/test-ftp-session.js";

export interface ScriptSession {
  /** Every command line received, in order, without its CRLF. */
  commands: string[];
  /** The control connection's bytes as they arrived (after TLS), one string per read. */
  chunks: string[];
  /** The control connection now (the TLS socket after startTls). */
  socket: net.Socket;
  /** Writes `text` and CRLF on the control connection (a script may replace it for a while). */
  reply(text: string): void;
  /** The passive data side: transfer(), send(), receive() (see test/servers/test-ftp-session.ts). */
  data: PassiveData;
  /** Opens a TLS data listener and answers 229 with its port. */
  epsv(): Promise<void>;
  /** Opens a TLS data listener and answers 227 with 127.0.0.1 and its port. */
  pasv(): Promise<void>;
  /** Call after replying 234 to AUTH TLS: the control connection continues in TLS. */
  startTls(): void;
}

/** What the server does with one command line; lines are handled one at a time, in order. */
export type Script = (line: string, s: ScriptSession) => void | Promise<void>;

export interface ScriptedServer {
  port: number;
  sessions: ScriptSession[];
  stop(): Promise<void>;
}

/** A certificate for the file's servers, made once per test file; `clientTls()` trusts it. */
export function scriptedCertificate(): { clientTls: () => tls.ConnectionOptions; cert: () => GeneratedCert } {
  let cert: GeneratedCert | undefined;
  beforeAll(async () => {
    cert = await generateCert(testTempDir("engine-cert"), { name: "engine" });
  });
  return {
    cert: () => cert!,
    clientTls: () => ({ host: "127.0.0.1", ca: [cert!.certPem], minVersion: "TLSv1.2" }),
  };
}

/** Every server a test file started, stopped after its last test. */
const started: ScriptedServer[] = [];
afterAll(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()));
});

export async function scriptedServer(
  cert: GeneratedCert,
  script: Script,
  opts: { implicit?: boolean; greeting?: string | null } = {},
): Promise<ScriptedServer> {
  const implicit = opts.implicit ?? true;
  const secureContext = tls.createSecureContext({ cert: cert.certPem, key: cert.keyPem });
  const conns = new Connections();
  const sessions: ScriptSession[] = [];

  const onControl = (raw: net.Socket) => {
    conns.track(raw);
    const record = (socket: net.Socket) => socket.on("data", (chunk: Buffer) => session.chunks.push(chunk.toString("utf8")));
    const reply = (text: string) => {
      if (!session.socket.destroyed) session.socket.write(text + "\r\n");
    };
    const session: ScriptSession = {
      commands: [],
      chunks: [],
      socket: raw,
      reply,
      data: new PassiveData(conns, secureContext, (text) => session.reply(text), () => undefined),
      epsv: async () => reply(`229 Entering Extended Passive Mode (|||${await session.data.open(true)}|)`),
      pasv: async () => {
        const port = await session.data.open(true);
        reply(`227 Entering Passive Mode (127,0,0,1,${port >> 8},${port & 255})`);
      },
      startTls: () => {
        raw.removeAllListeners("data");
        const t = new tls.TLSSocket(raw, { isServer: true, secureContext });
        conns.track(t);
        session.socket = t;
        record(t);
        reader.attach(t);
      },
    };
    sessions.push(session);
    const reader = new CommandReader(
      async (line) => {
        session.commands.push(line);
        await script(line, session);
      },
      () => session.socket.destroy(),
    );
    raw.on("close", () => session.data.close());
    record(raw);
    reader.attach(raw);
    if (opts.greeting !== null) reply(opts.greeting ?? "220 scripted engine test server");
  };

  const control: net.Server = implicit ? tls.createServer({ cert: cert.certPem, key: cert.keyPem }, onControl) : net.createServer(onControl);
  control.on("tlsClientError", () => {});
  const port = await conns.listen(control, "127.0.0.1");
  const server = { port, sessions, stop: () => conns.stopAll() };
  started.push(server);
  return server;
}

/** A control connection to `server` (implicit TLS), its greeting read. */
export async function connected(server: ScriptedServer, clientTls: tls.ConnectionOptions, timeoutMs = 5_000): Promise<ControlConnection> {
  const { control, greeting } = ControlConnection.open("127.0.0.1", server.port, timeoutMs, clientTls);
  await greeting;
  return control;
}

/** The verb of a command line, upper-cased. */
export const verbOf = (line: string): string => line.split(" ")[0].toUpperCase();

/** The rejection of `p` (fails the test when it resolves). */
export function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error("expected a failure");
    },
    (err: unknown) => err,
  );
}
