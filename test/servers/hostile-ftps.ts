// A hostile FTPS server for tests (explicit TLS, PROT P): it lists whatever names it is given
// (../../etc/passwd, names with CR or NUL...), can send an endless listing, can point PASV at
// another host, can fail chosen commands with chosen codes, can refuse the password, and can repeat
// the password in its error replies. It
// records every command line exactly as received (inside TLS too), the data connections, and
// connections to a decoy listener on the PASV host it advertises.
import { createHash } from "node:crypto";
import net from "node:net";
import tls from "node:tls";
import { CommandReader, Connections, PassiveData } from "./test-ftp-session.js";

export interface HostileOptions {
  cert: string;
  key: string;
  /** Takes the first command of each read and drops the rest: commands sent together go unanswered. */
  dropPipelined?: boolean;
  /** MLSD bodies by folder path as sent by the client ("/job"), or "endless" */
  listings: Record<string, string | "endless">;
  /** RETR contents by path; anything else gets `defaultContent` */
  files?: Record<string, Buffer | string>;
  defaultContent?: string;
  /** Advertise this host in PASV replies (EPSV is then refused so the client must use PASV). */
  pasvHost?: string;
  /** The password to accept (default: any); anything else gets 530. */
  password?: string;
  /** Fail `times` commands of `verb` with `code`, after letting the first `after` (default 0) through. */
  failures?: { verb: string; code: number; times: number; after?: number }[];
  /** RNTO onto an existing file is refused with 553, as Pure-FTPd and ProFTPD without AllowOverwrite do. */
  refuseOverwrite?: boolean;
  /**
   * Answer these commands with an error reply that repeats the password the client sent (as a
   * careless server might: "550 /job: no access for alice/PASSWORD"). PASS itself can be one of them.
   */
  echoPassword?: { verb: string; code: number }[];
  /** Stop an endless listing after this many bytes (a bound for the test itself). Default 2 GB. */
  endlessLimitBytes?: number;
  /** RETR of these paths streams bytes without end (up to endlessLimitBytes, counted in endlessBytes). */
  endlessFiles?: string[];
  /** Waits this long before answering PASS (a server that hashes passwords slowly). */
  loginDelayMs?: number;
  /**
   * Holds its replies from USER's on and sends them in one write with EPSV's: a pipelined login's
   * replies and the passive port all reach the client in one read.
   */
  batchLoginReplies?: boolean;
  /** Greets the first `count` connections with "421 Too many connections" and closes them. */
  refuseFirstConnections?: number;
  /**
   * The first `times` STORs are cut once the first bytes arrived: `control` closes the control
   * connection (FIN) and drops the data connection; `data` closes the data connection (FIN) and
   * says nothing on the control connection.
   */
  cutStor?: { times: number; close: "control" | "data" };
  /** FEAT lines (without the leading space) in place of the default set (which has MLST and MDTM). */
  features?: string[];
  /**
   * Offers these non-standard hash commands in FEAT and answers them ("<code> <hex>") from what
   * the server holds; with `lie`, the hash of other bytes.
   */
  hashCommands?: { commands: ("XSHA256" | "XSHA1" | "XSHA" | "XMD5")[]; code?: 213 | 250; lie?: boolean };
  /** The first `times` STORs keep (RETRs send) the file with its first byte changed: same size, other bytes. */
  corrupt?: { verb: "STOR" | "RETR"; times: number };
  /**
   * A partner rewrites a file while it is downloaded: a RETR of a path here sends the version the
   * server held, and from then on the path holds `content` and its folder is listed as `listing`.
   */
  rewriteDuringRetr?: Record<string, { content: string; listing: string }>;
  /** RETR of these paths sends only the first half of the file, then ends as if it were complete (226). */
  truncateRetr?: string[];
  /** The greeting's text after "220 " (default "hostile test server"). */
  greeting?: string;
  /**
   * A server that reads its control connection during a transfer: a command that arrives while a
   * STOR or RETR runs is answered at once with this reply (and not executed), as ProFTPD or
   * pyftpdlib might, though the greeting may name another server.
   */
  answerDuringTransfer?: string;
}

const X_HASH_ALGORITHMS: Record<string, string> = { XSHA256: "sha256", XSHA1: "sha1", XSHA: "sha1", XMD5: "md5" };

/** The same bytes with the first one changed (a copy). */
function flipFirstByte(bytes: Buffer): Buffer {
  const out = Buffer.from(bytes);
  if (out.length > 0) out[0] ^= 0x20;
  return out;
}

export interface HostileServer {
  port: number;
  /** every command line as received, with any CR/NUL inside it kept */
  commands: string[];
  /** control connections accepted so far */
  readonly connections: number;
  readonly dataConnections: number;
  /** connections that arrived at the decoy listener on pasvHost (should stay 0) */
  readonly decoyConnections: number;
  /** bytes of endless listing written so far */
  readonly endlessBytes: number;
  /** commands answered out of turn during a transfer (answerDuringTransfer) */
  readonly answeredDuringTransfer: number;
  uploads: Map<string, Buffer>;
  /** What is on the server under `path` now (given in `files`, or stored, renamed or deleted since). */
  remoteFile(path: string): string | undefined;
  stop(): Promise<void>;
}

export async function startHostileServer(opts: HostileOptions): Promise<HostileServer> {
  const secureContext = tls.createSecureContext({ cert: opts.cert, key: opts.key });
  const commands: string[] = [];
  const uploads = new Map<string, Buffer>();
  // Files given in `files` that were renamed away or deleted.
  const gone = new Set<string>();
  const stored = (path: string): Buffer | string | undefined => uploads.get(path) ?? (gone.has(path) ? undefined : opts.files?.[path]);
  const remove = (path: string) => {
    uploads.delete(path);
    gone.add(path);
  };
  const failures = (opts.failures ?? []).map((f) => ({ ...f }));
  // Read live: a test may change a folder's listing between runs (and rewriteDuringRetr does).
  const listings = opts.listings;
  const limit = opts.endlessLimitBytes ?? 2 * 1024 ** 3;
  let dataConnections = 0;
  let decoyConnections = 0;
  let endlessBytes = 0;
  let connections = 0;
  let storCuts = opts.cutStor?.times ?? 0;
  let corruptions = opts.corrupt?.times ?? 0;
  let answeredDuringTransfer = 0;
  const corrupting = (verb: string, bytes: Buffer): Buffer => {
    if (opts.corrupt?.verb !== verb || corruptions <= 0 || bytes.length === 0) return bytes;
    corruptions--;
    return flipFirstByte(bytes);
  };
  const conns = new Connections();

  const onControl = (raw: net.Socket) => {
    conns.track(raw);
    if (++connections <= (opts.refuseFirstConnections ?? 0)) {
      raw.end("421 Too many connections, try again later\r\n");
      return;
    }
    let sock: net.Socket = raw;
    let secure = false;
    let protP = false;
    let user = "";
    let password = "";
    let renameFrom = "";
    /** The offset a REST asked the next RETR to start at. */
    let restAt = 0;
    let decoy: net.Server | undefined;
    /** A STOR or RETR runs (see answerDuringTransfer). */
    let transferring = false;
    const during = async (transfer: Promise<void>): Promise<void> => {
      transferring = true;
      try {
        await transfer;
      } finally {
        transferring = false;
      }
    };
    /** Replies held (batchLoginReplies), undefined when not holding. */
    let held: string[] | undefined;
    const reply = (text: string) => {
      if (held) held.push(text + "\r\n");
      else if (!sock.destroyed) sock.write(text + "\r\n");
    };
    const data = new PassiveData(conns, secureContext, reply, () => dataConnections++);

    const openPassive = async (): Promise<number> => {
      decoy?.close();
      const port = await data.open(protP);
      // A listener on the advertised PASV host counts a client that follows it (it must not).
      if (opts.pasvHost && /^127\./.test(opts.pasvHost) && opts.pasvHost !== "127.0.0.1") {
        const d = net.createServer((s) => {
          decoyConnections++;
          s.destroy();
        });
        decoy = d;
        await conns.listen(d, opts.pasvHost, port).catch(() => undefined);
      }
      return port;
    };

    const sendEndless = () =>
      data.transfer(
        (d) =>
          new Promise<void>((r) => {
            let i = 0;
            const chunk = () => {
              let s = "";
              for (let k = 0; k < 500; k++, i++) s += `type=file;size=${i};modify=20240101120000; endless-${i}-${"x".repeat(40)}.txt\r\n`;
              return s;
            };
            const pump = () => {
              while (!d.destroyed && endlessBytes < limit) {
                const c = chunk();
                endlessBytes += c.length;
                if (!d.write(c)) return d.once("drain", pump);
              }
              d.end();
            };
            d.once("close", () => r());
            pump();
          }),
      );

    const sendEndlessFile = () =>
      data.transfer(
        (d) =>
          new Promise<void>((r) => {
            const chunk = Buffer.alloc(64 * 1024, 0x61);
            const pump = () => {
              while (!d.destroyed && endlessBytes < limit) {
                endlessBytes += chunk.length;
                if (!d.write(chunk)) return d.once("drain", pump);
              }
              d.end();
            };
            d.once("close", () => r());
            d.once("error", () => r());
            pump();
          }),
      );

    const handle = async (line: string): Promise<void> => {
      commands.push(line);
      const sp = line.indexOf(" ");
      const verb = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
      if (opts.batchLoginReplies && verb === "USER") held = [];
      if (held && verb === "EPSV") {
        const together = held;
        held = undefined;
        const port = await openPassive();
        if (!sock.destroyed) sock.write(together.join("") + `229 Entering Extended Passive Mode (|||${port}|)\r\n`);
        return;
      }
      const arg = sp < 0 ? "" : line.slice(sp + 1);
      if (verb === "PASS") password = arg;
      const echo = opts.echoPassword?.find((x) => x.verb === verb);
      if (echo) return reply(`${echo.code} ${verb} refused for ${user}/${password}`);
      const f = failures.find((x) => x.verb === verb && x.times > 0);
      if (f && (f.after ?? 0) > 0) f.after!--;
      else if (f) {
        f.times--;
        return reply(`${f.code} injected failure`);
      }
      switch (verb) {
        case "AUTH": {
          if (secure) return reply("503 Already secure");
          reply("234 AUTH TLS successful");
          raw.removeAllListeners("data");
          const t = new tls.TLSSocket(raw, { isServer: true, secureContext });
          conns.track(t);
          sock = t;
          secure = true;
          reader.attach(t);
          return;
        }
        case "USER":
          user = arg;
          return reply("331 Password required");
        case "PASS":
          if (!user) return reply("503 USER first");
          if (opts.password !== undefined && arg !== opts.password) return reply("530 Login incorrect");
          if (opts.loginDelayMs) await new Promise((r) => setTimeout(r, opts.loginDelayMs));
          return reply("230 Logged in");
        case "FEAT": {
          const features = opts.features ?? ["UTF8", "SIZE", "MDTM", "REST STREAM", "MLST type*;size*;modify*;", "EPSV", "PASV", "AUTH TLS", "PBSZ", "PROT"];
          return reply(["211-Features:", ...[...features, ...(opts.hashCommands?.commands ?? [])].map((f) => " " + f), "211 End"].join("\r\n"));
        }
        case "XSHA256":
        case "XSHA1":
        case "XSHA":
        case "XMD5": {
          const x = opts.hashCommands;
          if (!x?.commands.includes(verb as "XSHA256")) return reply("502 Command not implemented");
          const c = stored(arg.replace(/^"(.*)"$/, "$1"));
          if (c === undefined) return reply("550 No such file");
          const bytes = x.lie ? flipFirstByte(Buffer.from(c)) : Buffer.from(c);
          return reply(`${x.code ?? 250} ${createHash(X_HASH_ALGORITHMS[verb]).update(bytes).digest("hex").toUpperCase()}`);
        }
        case "SYST":
          return reply("215 UNIX Type: L8");
        case "TYPE":
        case "OPTS":
        case "NOOP":
          return reply("200 OK");
        case "PBSZ":
          return reply("200 PBSZ=0");
        case "PROT":
          protP = arg.trim().toUpperCase() === "P";
          return reply("200 Protection level set");
        case "PWD":
          return reply('257 "/" is the current directory');
        case "CWD":
          return listings[arg] !== undefined || arg === "/" ? reply("250 Directory changed") : reply("550 No such folder");
        case "EPSV":
          if (opts.pasvHost) return reply("500 EPSV not understood");
          return reply(`229 Entering Extended Passive Mode (|||${await openPassive()}|)`);
        case "PASV": {
          const port = await openPassive();
          const host = (opts.pasvHost ?? "127.0.0.1").split(".").join(",");
          return reply(`227 Entering Passive Mode (${host},${port >> 8},${port & 255})`);
        }
        case "MLSD":
        case "LIST": {
          // LIST may carry ls options ("LIST -a /dir"), which the agent sends to LIST-only servers.
          const folder = verb === "LIST" ? arg.replace(/^-\S*\s*/, "") : arg;
          const body = listings[folder || "/"];
          if (body === undefined) return reply("550 No such folder");
          if (body === "endless") return sendEndless();
          return data.send(body);
        }
        case "RNFR":
          renameFrom = arg;
          return stored(arg) !== undefined ? reply("350 Ready") : reply("550 No such file");
        case "RNTO": {
          const c = stored(renameFrom);
          if (c === undefined) return reply("503 RNFR first");
          if (opts.refuseOverwrite && stored(arg) !== undefined) return reply("553 Rename/move failure: File exists");
          remove(renameFrom);
          uploads.set(arg, Buffer.from(c));
          gone.delete(arg);
          return reply("250 Renamed");
        }
        case "MLST": {
          // The file's facts as its folder's listing gives them (size as stored now), if it is there.
          const c = stored(arg);
          const slash = arg.lastIndexOf("/");
          const body = listings[arg.slice(0, slash) || "/"];
          const line = typeof body === "string" ? body.split("\r\n").find((l) => l.endsWith("; " + arg.slice(slash + 1))) : undefined;
          if (c === undefined || !line) return reply("550 No such file");
          const facts = line.slice(0, line.indexOf("; ") + 1).replace(/size=\d+;/, `size=${Buffer.byteLength(c)};`);
          return reply(`250-Listing ${arg}\r\n ${facts} ${arg}\r\n250 End`);
        }
        case "MKD":
          if (listings[arg] !== undefined) return reply("550 File exists");
          listings[arg] = "";
          return reply(`257 "${arg}" created`);
        case "DELE":
          if (stored(arg) === undefined) return reply("550 No such file");
          remove(arg);
          return reply("250 Deleted");
        case "SIZE": {
          const c = stored(arg);
          return c === undefined ? reply("550 No such file") : reply(`213 ${Buffer.byteLength(c)}`);
        }
        case "REST":
          restAt = Number(arg);
          return Number.isSafeInteger(restAt) && restAt >= 0 ? reply(`350 Restarting at ${restAt}`) : reply("501 Bad offset");
        case "RETR": {
          const from = restAt;
          restAt = 0;
          if (opts.endlessFiles?.includes(arg)) return sendEndlessFile();
          const bytes = corrupting("RETR", Buffer.from(stored(arg) ?? opts.defaultContent ?? "")).subarray(from);
          const rewrite = opts.rewriteDuringRetr?.[arg];
          if (rewrite) {
            uploads.set(arg, Buffer.from(rewrite.content));
            listings[arg.slice(0, arg.lastIndexOf("/")) || "/"] = rewrite.listing;
          }
          return during(data.send(opts.truncateRetr?.includes(arg) ? bytes.subarray(0, Math.floor(bytes.length / 2)) : bytes));
        }
        case "STOR":
          if (storCuts > 0 && opts.cutStor) {
            storCuts--;
            const close = opts.cutStor.close;
            // Cut as soon as the upload is under way; what arrived so far is kept, as a server would.
            return data.transfer(
              (d) =>
                new Promise<void>((r) => {
                  d.once("data", (first: Buffer) => {
                    uploads.set(arg, first);
                    if (close === "control") {
                      // FIN on the control connection; the data connection is left for the client to drop.
                      d.pause();
                      sock.end();
                    } else {
                      d.pause();
                      d.end();
                    }
                    r();
                  });
                }),
              10_000,
              undefined,
            );
          }
          return during(
            data.receive((bytes) => {
              uploads.set(arg, corrupting("STOR", bytes));
              gone.delete(arg);
            }),
          );
        case "APPE":
          return data.receive((bytes) => uploads.set(arg, Buffer.concat([uploads.get(arg) ?? Buffer.alloc(0), bytes])));
        case "QUIT":
          reply("221 Goodbye");
          sock.end();
          return;
        default:
          return reply("502 Command not implemented");
      }
    };

    const reader = new CommandReader(handle, () => sock.destroy(), opts.dropPipelined, (line) => {
      if (!opts.answerDuringTransfer || !transferring) return false;
      commands.push(line);
      answeredDuringTransfer++;
      reply(opts.answerDuringTransfer);
      return true;
    });
    raw.on("close", () => {
      data.close();
      decoy?.close();
    });
    reader.attach(sock);
    reply(`220 ${opts.greeting ?? "hostile test server"}`);
  };

  const control = net.createServer((s) => onControl(s));
  const port = await conns.listen(control, "127.0.0.1");
  return {
    port,
    commands,
    get connections() {
      return connections;
    },
    get dataConnections() {
      return dataConnections;
    },
    get decoyConnections() {
      return decoyConnections;
    },
    get endlessBytes() {
      return endlessBytes;
    },
    get answeredDuringTransfer() {
      return answeredDuringTransfer;
    },
    uploads,
    remoteFile: (path) => stored(path)?.toString(),
    stop: () => conns.stopAll(),
  };
}
