// A small scripted FTP(S) server for refusal tests: it does just enough of the
// protocol for a client to log in, negotiate TLS and list a folder, and it can
// be told to refuse AUTH TLS, to never offer TLS, or to refuse PROT P.
// It records every command (also those sent inside TLS) and counts data connections.
import net from "node:net";
import tls from "node:tls";
import { CommandReader, Connections, PassiveData } from "./test-ftp-session.js";

export interface ScriptedOptions {
  mode: "explicit" | "implicit";
  /** reply 534 to AUTH TLS */
  refuseAuthTls?: boolean;
  /** never offers TLS: AUTH -> 502, FEAT without AUTH TLS (explicit mode only) */
  noTls?: boolean;
  /** reply 536 to PROT P */
  refuseProtP?: boolean;
  /** server certificate and key (PEM); required unless noTls */
  cert?: string;
  key?: string;
  /** greeting text after "220 " */
  banner?: string;
  /**
   * A server that stops answering: `after-auth-tls` replies 234 to AUTH TLS and then never starts
   * TLS (the client's handshake gets no answer); `handshake` (implicit mode) accepts the connection
   * and never answers the handshake; `mid-reply` starts the reply to PASS ("230-") and then sends
   * one byte every `trickleMs` (default 250 ms) without ever ending it.
   */
  silence?: "after-auth-tls" | "handshake" | "mid-reply";
  trickleMs?: number;
  /**
   * After the login, the reply to this command (e.g. "EPSV") starts as a multi-line reply and then
   * trickles one byte every `trickleMs` (default 250 ms) without ever ending.
   */
  trickleReplyTo?: string;
  /** MLSD's listing instead of the default (which has a folder "docs" in every folder). */
  mlsd?: string;
  /** RETR sends its content one byte every this many ms (a slow transfer that keeps moving). */
  dripRetrMs?: number;
  /** Waits this long before answering PASS (a server that hashes passwords slowly). */
  loginDelayMs?: number;
}

export interface ScriptedServer {
  port: number;
  /** every command line received, in order, as sent (PASS included) */
  commands: string[];
  /** number of data connections accepted so far */
  readonly dataConnections: number;
  /** true if a PASS command arrived */
  passwordSeen(): boolean;
  /** files uploaded with STOR, by path as sent */
  uploads: Map<string, Buffer>;
  stop(): Promise<void>;
}

const LISTING = {
  MLSD:
    "type=dir;modify=20240102030405; docs\r\n" +
    "type=file;size=5;modify=20240101120000; hello.txt\r\n",
  LIST:
    "drwxr-xr-x    2 1000     1000         4096 Jan 02 03:04 docs\r\n" +
    "-rw-r--r--    1 1000     1000            5 Jan 01 12:00 hello.txt\r\n",
  NLST: "docs\r\nhello.txt\r\n",
};

/** Writes `content` one byte every `everyMs`, then ends the data connection. */
async function drip(d: net.Socket, content: Buffer, everyMs: number): Promise<void> {
  for (let i = 0; i < content.length && !d.destroyed; i++) {
    await new Promise((r) => setTimeout(r, everyMs));
    d.write(content.subarray(i, i + 1));
  }
  await new Promise<void>((r) => {
    d.end(() => r());
    d.once("close", () => r());
  });
}

export async function startScriptedServer(opts: ScriptedOptions): Promise<ScriptedServer> {
  const tlsAvailable = !opts.noTls;
  if ((opts.mode === "implicit" || !opts.noTls) && (!opts.cert || !opts.key)) {
    throw new Error("scripted FTPS server: cert and key are required unless noTls");
  }
  const secureContext = opts.cert && opts.key ? tls.createSecureContext({ cert: opts.cert, key: opts.key }) : undefined;
  const commands: string[] = [];
  const uploads = new Map<string, Buffer>();
  let dataConnections = 0;
  const conns = new Connections();

  const onControl = (raw: net.Socket, startsSecure: boolean) => {
    conns.track(raw);
    if (opts.silence === "handshake") return; // accepted, never answered
    let sock: net.Socket = raw;
    let secure = startsSecure;
    let protP = false;
    const reply = (text: string) => {
      if (!sock.destroyed) sock.write(text + "\r\n");
    };
    const data = new PassiveData(conns, secureContext, reply, () => dataConnections++);

    const handle = async (line: string): Promise<void> => {
      commands.push(line);
      const sp = line.indexOf(" ");
      const verb = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
      const arg = sp < 0 ? "" : line.slice(sp + 1);
      if (verb === opts.trickleReplyTo?.toUpperCase()) {
        sock.write("200-Working on it\r\n");
        const drip = setInterval(() => (sock.destroyed ? clearInterval(drip) : sock.write(" ")), opts.trickleMs ?? 250);
        sock.once("close", () => clearInterval(drip));
        return;
      }
      switch (verb) {
        case "AUTH": {
          if (opts.noTls || opts.mode === "implicit" || secure) return reply("502 Command not implemented");
          if (opts.refuseAuthTls) return reply("534 Request denied for policy reasons");
          if (!/^(TLS|SSL|TLS-C)$/i.test(arg)) return reply("504 Unknown AUTH type");
          reply("234 AUTH TLS successful");
          raw.removeAllListeners("data");
          if (opts.silence === "after-auth-tls") return; // the client's TLS handshake is never answered
          const t = new tls.TLSSocket(raw, { isServer: true, secureContext });
          conns.track(t);
          sock = t;
          secure = true;
          reader.attach(t);
          return;
        }
        case "USER":
          return reply("331 Password required");
        case "PASS":
          if (opts.loginDelayMs) await new Promise((r) => setTimeout(r, opts.loginDelayMs));
          if (opts.silence === "mid-reply") {
            sock.write("230-Logged in\r\n");
            const drip = setInterval(() => (sock.destroyed ? clearInterval(drip) : sock.write(" ")), opts.trickleMs ?? 250);
            sock.once("close", () => clearInterval(drip));
            return;
          }
          return reply("230 Logged in");
        case "FEAT": {
          const feats = [" UTF8", " SIZE", " MDTM", " REST STREAM", " MLST type*;size*;modify*;", " EPSV", " PASV"];
          if (tlsAvailable) feats.push(" AUTH TLS", " PBSZ", " PROT");
          return reply(["211-Features:", ...feats, "211 End"].join("\r\n"));
        }
        case "SYST":
          return reply("215 UNIX Type: L8");
        case "TYPE":
          return reply(`200 Type set to ${arg || "I"}`);
        case "STRU":
          return reply("200 Structure set to F");
        case "MODE":
          return reply("200 Mode set to S");
        case "OPTS":
          return reply("200 OK");
        case "NOOP":
          return reply("200 NOOP ok");
        case "PBSZ":
          return secure ? reply("200 PBSZ=0") : reply("503 PBSZ needs a secure connection");
        case "PROT": {
          const level = arg.trim().toUpperCase();
          if (level === "P") {
            if (opts.refuseProtP) return reply("536 Requested PROT level not supported by mechanism");
            if (!secure) return reply("503 PROT needs a secure connection");
            protP = true;
            return reply("200 Protection level set to P");
          }
          if (level === "C") {
            protP = false;
            return reply("200 Protection level set to C");
          }
          return reply("504 Unsupported protection level");
        }
        case "PWD":
        case "XPWD":
          return reply('257 "/" is the current directory');
        case "CWD":
          return reply("250 Directory changed");
        case "CDUP":
          return reply("250 Directory changed");
        case "EPSV": {
          const port = await data.open(protP);
          return reply(`229 Entering Extended Passive Mode (|||${port}|)`);
        }
        case "PASV": {
          const port = await data.open(protP);
          return reply(`227 Entering Passive Mode (127,0,0,1,${port >> 8},${port & 255})`);
        }
        case "MLSD":
          return data.send(opts.mlsd ?? LISTING.MLSD);
        case "LIST":
        case "NLST":
          return data.send(LISTING[verb]);
        case "RETR": {
          const content = uploads.get(arg) ?? (arg.endsWith("hello.txt") ? Buffer.from("hello") : undefined);
          if (!content) return reply("550 No such file");
          if (opts.dripRetrMs) return data.transfer((d) => drip(d, content, opts.dripRetrMs!));
          return data.send(content);
        }
        case "STOR":
          return data.receive((bytes) => uploads.set(arg, bytes));
        case "QUIT":
          reply("221 Goodbye");
          sock.end();
          return;
        default:
          return reply("502 Command not implemented");
      }
    };

    const reader = new CommandReader(handle, () => sock.destroy());
    raw.on("close", () => data.close());
    reader.attach(sock);
    reply(`220 ${opts.banner ?? "scripted FTPS test server ready"}`);
  };

  const control: net.Server =
    opts.mode === "implicit" && opts.silence !== "handshake"
      ? tls.createServer({ cert: opts.cert, key: opts.key }, (s) => onControl(s, true))
      : net.createServer((s) => onControl(s, false));
  control.on("tlsClientError", () => {});
  const port = await conns.listen(control, "127.0.0.1");

  return {
    port,
    commands,
    get dataConnections() {
      return dataConnections;
    },
    passwordSeen: () => commands.some((c) => /^PASS( |$)/i.test(c)),
    uploads,
    stop: () => conns.stopAll(),
  };
}
