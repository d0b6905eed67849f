// A small scripted FTP(S) server for refusal tests: it does just enough of the
// protocol for a client to log in, negotiate TLS and list a folder, and it can
// be told to refuse AUTH TLS, to never offer TLS, or to refuse PROT P.
// It records every command (also those sent inside TLS) and counts data connections.
import net from "node:net";
import tls from "node:tls";

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

export async function startScriptedServer(opts: ScriptedOptions): Promise<ScriptedServer> {
  const tlsAvailable = !opts.noTls;
  if ((opts.mode === "implicit" || !opts.noTls) && (!opts.cert || !opts.key)) {
    throw new Error("scripted FTPS server: cert and key are required unless noTls");
  }
  const secureContext = opts.cert && opts.key ? tls.createSecureContext({ cert: opts.cert, key: opts.key }) : undefined;
  const commands: string[] = [];
  const uploads = new Map<string, Buffer>();
  let dataConnections = 0;
  const sockets = new Set<net.Socket>();
  const servers = new Set<net.Server>();

  const track = (s: net.Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
  };

  const onControl = (raw: net.Socket, startsSecure: boolean) => {
    track(raw);
    let sock: net.Socket = raw;
    let secure = startsSecure;
    let protP = false;
    let buf = "";
    // pending passive data connection
    let dataServer: net.Server | undefined;
    let dataSocket: Promise<net.Socket> | undefined;

    const reply = (text: string) => {
      if (!sock.destroyed) sock.write(text + "\r\n");
    };

    const openPassive = async (): Promise<number> => {
      dataServer?.close();
      const useTls = protP;
      let resolveSock!: (s: net.Socket) => void;
      dataSocket = new Promise<net.Socket>((r) => (resolveSock = r));
      const srv = net.createServer((d) => {
        dataConnections++;
        track(d);
        srv.close();
        if (useTls) {
          const t = new tls.TLSSocket(d, { isServer: true, secureContext });
          track(t);
          t.once("secure", () => resolveSock(t));
        } else {
          resolveSock(d);
        }
      });
      servers.add(srv);
      srv.on("close", () => servers.delete(srv));
      dataServer = srv;
      await new Promise<void>((r) => srv.listen(0, "127.0.0.1", () => r()));
      return (srv.address() as net.AddressInfo).port;
    };

    const withData = async (fn: (d: net.Socket) => Promise<void>) => {
      if (!dataSocket) {
        reply("425 Use PASV or EPSV first");
        return;
      }
      const pending = dataSocket;
      dataSocket = undefined;
      reply("150 Opening data connection");
      const d = await pending;
      await fn(d);
      reply("226 Transfer complete");
    };

    const sendOnData = (text: string) =>
      withData(
        (d) =>
          new Promise<void>((r) => {
            d.end(text, () => r());
            d.once("close", () => r());
          }),
      );

    const handle = async (line: string): Promise<void> => {
      commands.push(line);
      const sp = line.indexOf(" ");
      const verb = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
      const arg = sp < 0 ? "" : line.slice(sp + 1);
      switch (verb) {
        case "AUTH": {
          if (opts.noTls || opts.mode === "implicit" || secure) return reply("502 Command not implemented");
          if (opts.refuseAuthTls) return reply("534 Request denied for policy reasons");
          if (!/^(TLS|SSL|TLS-C)$/i.test(arg)) return reply("504 Unknown AUTH type");
          reply("234 AUTH TLS successful");
          raw.removeAllListeners("data");
          const t = new tls.TLSSocket(raw, { isServer: true, secureContext });
          track(t);
          sock = t;
          secure = true;
          attach(t);
          return;
        }
        case "USER":
          return reply("331 Password required");
        case "PASS":
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
          const port = await openPassive();
          return reply(`229 Entering Extended Passive Mode (|||${port}|)`);
        }
        case "PASV": {
          const port = await openPassive();
          return reply(`227 Entering Passive Mode (127,0,0,1,${port >> 8},${port & 255})`);
        }
        case "MLSD":
        case "LIST":
        case "NLST":
          return sendOnData(LISTING[verb]);
        case "RETR": {
          const content = uploads.get(arg) ?? (arg.endsWith("hello.txt") ? Buffer.from("hello") : undefined);
          if (!content) return reply("550 No such file");
          return withData(
            (d) =>
              new Promise<void>((r) => {
                d.end(content, () => r());
                d.once("close", () => r());
              }),
          );
        }
        case "STOR":
          return withData(
            (d) =>
              new Promise<void>((r) => {
                const chunks: Buffer[] = [];
                d.on("data", (c: Buffer) => chunks.push(c));
                d.once("end", () => {
                  uploads.set(arg, Buffer.concat(chunks));
                  r();
                });
                d.once("close", () => r());
              }),
          );
        case "QUIT":
          reply("221 Goodbye");
          sock.end();
          return;
        default:
          return reply("502 Command not implemented");
      }
    };

    // commands are handled one at a time, in order
    let chain = Promise.resolve();
    const attach = (s: net.Socket) => {
      s.on("data", (chunk: Buffer) => {
        buf += chunk.toString("utf8");
        let i: number;
        while ((i = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, i).replace(/\r$/, "");
          buf = buf.slice(i + 1);
          const isAuth = /^AUTH /i.test(line);
          chain = chain.then(() => handle(line)).catch(() => {
            sock.destroy();
          });
          // AUTH TLS must swap sockets before any more bytes are read as plain text
          if (isAuth) break;
        }
      });
      s.on("close", () => dataServer?.close());
    };
    attach(sock);
    reply(`220 ${opts.banner ?? "scripted FTPS test server ready"}`);
  };

  const control: net.Server =
    opts.mode === "implicit"
      ? tls.createServer({ cert: opts.cert, key: opts.key }, (s) => onControl(s, true))
      : net.createServer((s) => onControl(s, false));
  control.on("tlsClientError", () => {});
  servers.add(control);
  await new Promise<void>((r) => control.listen(0, "127.0.0.1", () => r()));
  const port = (control.address() as net.AddressInfo).port;

  return {
    port,
    commands,
    get dataConnections() {
      return dataConnections;
    },
    passwordSeen: () => commands.some((c) => /^PASS( |$)/i.test(c)),
    uploads,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await Promise.all(
        [...servers].map((s) => new Promise<void>((r) => (s.listening ? s.close(() => r()) : r()))),
      );
    },
  };
}
