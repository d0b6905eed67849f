/**
 * A small FTPS server for the demo (and tests): one user, one root folder, loopback only.
 *
 * - TLS is mandatory: explicit (AUTH TLS, then USER/PASS) or implicit; USER before TLS is refused.
 * - Data connections are passive only (EPSV, PASV) on 127.0.0.1, must be protected (PBSZ 0 +
 *   PROT P, else 521) and, by default, must resume the control connection's TLS session, as
 *   vsftpd's `require_ssl_reuse` does (else 522). Control and data sockets share one
 *   SecureContext, so they share its session-ticket keys.
 * - Jailed: every path is resolved against the session's folder, normalised, joined under the
 *   root, and its real path (symlinks followed) must stay inside the root.
 * - Files are streamed between the disk and the data connection, never held in memory.
 * - FEAT: UTF8, MLST/MLSD, MFMT, SIZE, MDTM, REST STREAM, EPSV, PASV, AUTH TLS, PBSZ, PROT.
 *
 * It is on the demo's path only (the demo command imports it dynamically), never the agent's.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { createReadStream, createWriteStream, type Stats } from "node:fs";
import { mkdir, readdir, realpath, rename, rmdir, stat, unlink, utimes } from "node:fs/promises";
import net from "node:net";
import { basename, dirname, join, posix, sep } from "node:path";
import { pipeline } from "node:stream/promises";
import { StringDecoder } from "node:string_decoder";
import tls from "node:tls";

export interface DemoServerOptions {
  /** Folder served as "/". Must exist. */
  root: string;
  user: string;
  password: string;
  /** PEM certificate and key. */
  cert: string;
  key: string;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0 (any free port). */
  port?: number;
  /** TLS from the first byte instead of AUTH TLS. */
  implicit?: boolean;
  /** Refuse data connections that do not resume the control session (522). Default true. */
  requireSessionReuse?: boolean;
  /** Control connections at once; more get "421 Too many connections". Default 10. */
  maxConnections?: number;
  /** Idle control connections are closed after this long. Default 5 minutes. */
  idleTimeoutMs?: number;
  /** Protocol log (PASS arguments are masked). */
  log?: (line: string) => void;
}

export interface DemoServer {
  host: string;
  port: number;
  /** Counters, for tests and the demo's closing lines. */
  stats: { connections: number; dataConnections: number; resumedDataSessions: number; bytesIn: number; bytesOut: number };
  stop(): Promise<void>;
}

/** A reply with a code: thrown by command handlers, sent to the client by the loop. */
class Reply extends Error {
  constructor(
    readonly code: number,
    readonly text: string,
  ) {
    super(`${code} ${text}`);
  }
}

const FEATURES = [
  "AUTH TLS",
  "PBSZ",
  "PROT",
  "UTF8",
  "EPSV",
  "PASV",
  "SIZE",
  "MDTM",
  "MFMT",
  "REST STREAM",
  "MLST type*;size*;modify*;unix.mode*;",
];

/** Commands that work before login. */
const BEFORE_LOGIN = new Set(["AUTH", "USER", "PASS", "FEAT", "SYST", "NOOP", "QUIT", "PBSZ", "PROT", "OPTS", "TYPE", "HELP"]);

function fsReply(err: unknown): Reply {
  if (err instanceof Reply) return err;
  switch ((err as NodeJS.ErrnoException).code) {
    case "ENOENT":
      return new Reply(550, "No such file or directory");
    case "EEXIST":
      return new Reply(550, "File exists");
    case "ENOTEMPTY":
      return new Reply(550, "Directory not empty");
    case "EISDIR":
      return new Reply(550, "Is a directory");
    case "ENOTDIR":
      return new Reply(550, "Not a directory");
    case "EACCES":
    case "EPERM":
      return new Reply(550, "Permission denied");
    case "ENOSPC":
    case "EDQUOT":
      return new Reply(552, "Insufficient storage space");
    default:
      // Never the message: it holds real (outside) paths.
      return new Reply(451, `Local error (${(err as NodeJS.ErrnoException).code ?? "unknown"})`);
  }
}

const pad = (n: number, w = 2) => String(n).padStart(w, "0");

/** YYYYMMDDHHMMSS in UTC (seconds, like most servers). */
function stamp(ms: number): string {
  const d = new Date(ms);
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}`;
}

function parseStamp(s: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d{1,3}))?$/.exec(s);
  if (!m) return undefined;
  const [y, mo, d, h, mi, se] = m.slice(1, 7).map(Number);
  const ms = m[7] ? Number(m[7].padEnd(3, "0")) : 0;
  const t = Date.UTC(y, mo - 1, d, h, mi, se, ms);
  return Number.isNaN(t) ? undefined : t;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function unixMode(st: Stats): string {
  const bits = st.mode & 0o777;
  const rwx = (b: number) => (b & 4 ? "r" : "-") + (b & 2 ? "w" : "-") + (b & 1 ? "x" : "-");
  return (st.isDirectory() ? "d" : "-") + rwx(bits >> 6) + rwx((bits >> 3) & 7) + rwx(bits & 7);
}

function listLine(name: string, st: Stats, now: number): string {
  const d = st.mtime;
  const recent = Math.abs(now - d.getTime()) < 180 * 86_400_000;
  const when = `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2)} ${recent ? `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}` : ` ${d.getUTCFullYear()}`}`;
  return `${unixMode(st)} 1 ftp ftp ${String(st.isDirectory() ? 4096 : st.size).padStart(12)} ${when} ${name}`;
}

function mlsxFacts(st: Stats): string {
  const type = st.isDirectory() ? "dir" : "file";
  const size = st.isDirectory() ? "" : `size=${st.size};`;
  return `type=${type};${size}modify=${stamp(st.mtimeMs)};unix.mode=0${(st.mode & 0o777).toString(8)};`;
}

/** "/a/b" as an FTP reply quotes it: embedded quotes are doubled (RFC 959). */
const quote = (path: string) => `"${path.replace(/"/g, '""')}"`;

function sameSecret(a: string, b: string): boolean {
  const h = (s: string) => createHash("sha256").update(s, "utf8").digest();
  return timingSafeEqual(h(a), h(b));
}

export async function startDemoServer(opts: DemoServerOptions): Promise<DemoServer> {
  const host = opts.host ?? "127.0.0.1";
  const rootReal = await realpath(opts.root);
  const secureContext = tls.createSecureContext({ cert: opts.cert, key: opts.key, minVersion: "TLSv1.2" });
  const requireReuse = opts.requireSessionReuse ?? true;
  const maxConnections = opts.maxConnections ?? 10;
  const idleTimeoutMs = opts.idleTimeoutMs ?? 5 * 60_000;
  const log = opts.log ?? (() => {});
  const sockets = new Set<net.Socket>();
  const servers = new Set<net.Server>();
  const stats = { connections: 0, dataConnections: 0, resumedDataSessions: 0, bytesIn: 0, bytesOut: 0 };
  let active = 0;
  let sessionIds = 0;

  const track = <S extends net.Socket>(s: S): S => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
    s.on("error", () => {});
    return s;
  };

  const serverSocket = (raw: net.Socket) => track(new tls.TLSSocket(raw, { isServer: true, secureContext }));

  /** Real path of `virtual` under the root, or 550 when it would leave it (also through symlinks). */
  async function jailed(virtual: string, mustExist: boolean): Promise<string> {
    const inside = (p: string) => p === rootReal || p.startsWith(rootReal + sep);
    const candidate = join(rootReal, virtual);
    try {
      const real = await realpath(candidate);
      if (!inside(real)) throw new Reply(550, "Permission denied: outside the root folder");
      return real;
    } catch (err) {
      if (err instanceof Reply) throw err;
      if ((err as NodeJS.ErrnoException).code !== "ENOENT" || mustExist || virtual === "/") throw fsReply(err);
      const parent = await realpath(dirname(candidate)).catch((e) => Promise.reject(fsReply(e)));
      if (!inside(parent)) throw new Reply(550, "Permission denied: outside the root folder");
      return join(parent, basename(candidate));
    }
  }

  function onControl(raw: net.Socket): void {
    track(raw);
    const id = ++sessionIds;
    stats.connections++;
    const remoteAddress = raw.remoteAddress;
    if (active >= maxConnections) {
      raw.end(`421 Too many connections (at most ${maxConnections}); try again later\r\n`);
      return;
    }
    active++;
    raw.once("close", () => active--);

    let sock: net.Socket = raw;
    let secure = false;
    let userName: string | undefined;
    let loggedIn = false;
    let pbsz = false;
    let protP = false;
    let cwd = "/";
    let restAt = 0;
    let renameFrom: string | undefined;
    let passive: { server: net.Server; socket: Promise<net.Socket> } | undefined;
    let closed = false;

    const reply = (code: number, text: string) => {
      if (closed || sock.destroyed) return;
      // Multi-line (RFC 959): "211-first", middle lines as given (they start with a space), "211 last".
      const lines = text.split("\n");
      const out =
        lines.length === 1
          ? `${code} ${text}\r\n`
          : [`${code}-${lines[0]}`, ...lines.slice(1, -1), `${code} ${lines[lines.length - 1]}`].join("\r\n") + "\r\n";
      log(`#${id} < ${out.trimEnd()}`);
      sock.write(out);
    };

    const closePassive = () => {
      if (passive?.server.listening) passive.server.close();
      passive = undefined;
    };

    // --- lines in, one command at a time ------------------------------------------------------
    const decoder = new StringDecoder("utf8");
    let buffer = "";
    const queue: string[] = [];
    let busy = false;

    const onData = (chunk: Buffer) => {
      buffer += decoder.write(chunk);
      if (buffer.length > 64 * 1024) {
        reply(500, "Command line too long");
        sock.destroy();
        return;
      }
      let i: number;
      while ((i = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, i).replace(/\r$/, "");
        buffer = buffer.slice(i + 1);
        queue.push(line);
        // Plaintext after AUTH TLS (command injection) is dropped: the queue is cleared on upgrade.
        if (!secure && /^AUTH\b/i.test(line)) {
          buffer = "";
          break;
        }
      }
      void pump();
    };

    const pump = async () => {
      if (busy) return;
      busy = true;
      try {
        while (queue.length > 0 && !closed) {
          const line = queue.shift()!;
          try {
            await handle(line);
          } catch (err) {
            const r = fsReply(err);
            reply(r.code, r.text);
          }
        }
      } finally {
        busy = false;
      }
    };

    const attach = (s: net.Socket) => {
      s.on("data", onData);
      s.setTimeout(idleTimeoutMs, () => {
        reply(421, "Idle timeout, closing control connection");
        s.end();
      });
    };

    const upgrade = () => {
      raw.removeListener("data", onData);
      raw.setTimeout(0);
      queue.length = 0;
      buffer = "";
      const t = serverSocket(raw);
      sock = t;
      secure = true;
      attach(t);
    };

    raw.once("close", () => {
      closed = true;
      closePassive();
    });

    // --- data connections --------------------------------------------------------------------
    const openPassive = async (): Promise<number> => {
      closePassive();
      const protect = protP;
      let resolveSocket!: (s: net.Socket) => void;
      let rejectSocket!: (e: Reply) => void;
      const socket = new Promise<net.Socket>((res, rej) => {
        resolveSocket = res;
        rejectSocket = rej;
      });
      socket.catch(() => {});
      const server = net.createServer((d) => {
        track(d);
        server.close();
        // Only the client of this control connection may connect (no port stealing).
        if (d.remoteAddress !== remoteAddress) {
          d.destroy();
          return rejectSocket(new Reply(425, "Data connection from an unexpected address"));
        }
        stats.dataConnections++;
        if (!protect) return resolveSocket(d);
        const t = serverSocket(d);
        t.once("secure", () => {
          const reused = t.isSessionReused();
          if (reused) stats.resumedDataSessions++;
          if (requireReuse && !reused) {
            t.destroy();
            return rejectSocket(new Reply(522, "SSL connection failed: session reuse required"));
          }
          resolveSocket(t);
        });
        t.once("error", () => rejectSocket(new Reply(425, "TLS handshake on the data connection failed")));
      });
      servers.add(server);
      server.on("close", () => servers.delete(server));
      server.on("error", () => rejectSocket(new Reply(425, "Cannot open data connection")));
      await new Promise<void>((res) => server.listen(0, host, () => res()));
      const timer = setTimeout(() => {
        if (server.listening) server.close();
        rejectSocket(new Reply(425, "No data connection within 30 seconds"));
      }, 30_000);
      timer.unref();
      void socket.then(() => clearTimeout(timer), () => clearTimeout(timer));
      passive = { server, socket };
      return (server.address() as net.AddressInfo).port;
    };

    /** Checks protection, waits for the data connection, says 150, runs the transfer, says 226. */
    const withData = async (what: string, fn: (d: net.Socket) => Promise<void>) => {
      if (!protP) {
        closePassive();
        throw new Reply(521, "Data connections must be protected: send PBSZ 0 and PROT P first");
      }
      if (!passive) throw new Reply(425, "Use EPSV or PASV first");
      const pending = passive.socket;
      passive = undefined;
      const d = await pending;
      reply(150, `Opening data connection for ${what}`);
      try {
        await fn(d);
      } catch (err) {
        d.destroy();
        if (err instanceof Reply) throw err;
        const code = (err as NodeJS.ErrnoException).code;
        if (code && /^E[A-Z]+$/.test(code) && !["ECONNRESET", "EPIPE"].includes(code)) throw fsReply(err);
        throw new Reply(426, "Connection closed; transfer aborted");
      }
      reply(226, "Transfer complete");
      // The client closes its side; make sure nothing lingers if it does not.
      setTimeout(() => d.destroy(), 5000).unref();
    };

    const sendText = (text: string) => async (d: net.Socket) => {
      const buf = Buffer.from(text, "utf8");
      stats.bytesOut += buf.length;
      await new Promise<void>((res, rej) => {
        d.once("error", rej);
        d.end(buf, () => res());
      });
    };

    // --- paths ---------------------------------------------------------------------------------
    /** Virtual absolute path: "/" separated, normalised, never above "/". */
    const virtualPath = (arg: string) => posix.resolve(cwd, arg === "" ? "." : arg);

    /** LIST/NLST may carry ls options ("LIST -a /dir"): drop them. */
    const listTarget = (arg: string) => arg.replace(/^(-[A-Za-z]+\s*)+/, "");

    async function listing(arg: string): Promise<Array<{ name: string; st: Stats }>> {
      const dir = await jailed(virtualPath(arg), true);
      const st = await stat(dir);
      if (!st.isDirectory()) throw new Reply(550, "Not a directory");
      const out: Array<{ name: string; st: Stats }> = [];
      for (const entry of await readdir(dir, { withFileTypes: true })) {
        const abs = join(dir, entry.name);
        try {
          if (entry.isSymbolicLink()) {
            const real = await realpath(abs);
            if (real !== rootReal && !real.startsWith(rootReal + sep)) continue;
          }
          const s = await stat(abs);
          if (s.isFile() || s.isDirectory()) out.push({ name: entry.name, st: s });
        } catch {
          // vanished or dangling: not listed
        }
      }
      return out;
    }

    const needFile = async (arg: string) => {
      const p = await jailed(virtualPath(arg), true);
      const st = await stat(p);
      if (!st.isFile()) throw new Reply(550, "Not a plain file");
      return { p, st };
    };

    // --- commands ------------------------------------------------------------------------------
    async function handle(line: string): Promise<void> {
      const sp = line.indexOf(" ");
      const verb = (sp < 0 ? line : line.slice(0, sp)).toUpperCase();
      const arg = sp < 0 ? "" : line.slice(sp + 1);
      log(`#${id} > ${verb === "PASS" ? "PASS ****" : line}`);
      if (!BEFORE_LOGIN.has(verb) && !loggedIn) throw new Reply(530, "Please log in with USER and PASS");
      // REST applies to the next command only, RNFR to an RNTO that follows at once.
      const rest = restAt;
      restAt = 0;
      const from = renameFrom;
      renameFrom = undefined;

      switch (verb) {
        case "AUTH":
          if (secure) throw new Reply(503, "Already using TLS");
          if (!/^(TLS|TLS-C|SSL)$/i.test(arg.trim())) throw new Reply(504, "Only AUTH TLS is supported");
          reply(234, "Proceed with negotiation");
          upgrade();
          return;
        case "USER":
          if (!secure) throw new Reply(530, "This server requires TLS: send AUTH TLS first");
          userName = arg;
          loggedIn = false;
          return reply(331, "Password required");
        case "PASS":
          if (!secure) throw new Reply(530, "This server requires TLS: send AUTH TLS first");
          if (userName === undefined) throw new Reply(503, "Send USER first");
          if (userName === opts.user && sameSecret(arg, opts.password)) {
            loggedIn = true;
            cwd = "/";
            return reply(230, "Logged in");
          }
          await new Promise((r) => setTimeout(r, 300)); // slow down guessing
          userName = undefined;
          throw new Reply(530, "Login incorrect");
        case "FEAT":
          return reply(211, ["Features:", ...FEATURES.map((f) => ` ${f}`), "End"].join("\n"));
        case "SYST":
          return reply(215, "UNIX Type: L8");
        case "NOOP":
          return reply(200, "NOOP ok");
        case "HELP":
          return reply(214, "See FEAT");
        case "QUIT":
          reply(221, "Goodbye");
          closed = true;
          sock.end();
          return;
        case "PBSZ":
          if (!secure) throw new Reply(503, "PBSZ requires TLS");
          pbsz = true;
          return reply(200, "PBSZ=0");
        case "PROT": {
          if (!secure) throw new Reply(503, "PROT requires TLS");
          if (!pbsz) throw new Reply(503, "Send PBSZ first");
          const level = arg.trim().toUpperCase();
          if (level === "P") {
            protP = true;
            return reply(200, "Protection level set to Private");
          }
          if (level === "C") throw new Reply(534, "Clear data connections are not allowed; use PROT P");
          throw new Reply(504, "Unsupported protection level");
        }
        case "OPTS": {
          const [name] = arg.trim().split(/\s+/);
          if (/^UTF8$/i.test(name)) return reply(200, "UTF8 is always on");
          if (/^MLST$/i.test(name)) return reply(200, "MLST OPTS type;size;modify;unix.mode;");
          throw new Reply(501, "Option not understood");
        }
        case "TYPE": {
          const t = arg.trim().toUpperCase();
          if (t === "I" || t === "L 8") return reply(200, "Type set to I");
          if (t === "A" || t === "A N") return reply(200, "Type set to A (transferred as binary)");
          throw new Reply(504, "Unsupported type");
        }
        case "MODE":
          if (arg.trim().toUpperCase() === "S") return reply(200, "Mode set to S");
          throw new Reply(504, "Only stream mode");
        case "STRU":
          if (arg.trim().toUpperCase() === "F") return reply(200, "Structure set to F");
          throw new Reply(504, "Only file structure");
        case "PWD":
        case "XPWD":
          return reply(257, `${quote(cwd)} is the current directory`);
        case "CWD":
        case "XCWD": {
          const v = virtualPath(arg);
          const st = await stat(await jailed(v, true));
          if (!st.isDirectory()) throw new Reply(550, "Not a directory");
          cwd = v;
          return reply(250, `Directory changed to ${quote(v)}`);
        }
        case "CDUP":
        case "XCUP":
          cwd = posix.dirname(cwd);
          return reply(250, `Directory changed to ${quote(cwd)}`);
        case "EPSV": {
          if (arg.trim().toUpperCase() === "ALL") return reply(200, "EPSV ALL ok");
          const port = await openPassive();
          return reply(229, `Entering Extended Passive Mode (|||${port}|)`);
        }
        case "PASV": {
          if (!net.isIPv4(host)) throw new Reply(502, "Use EPSV");
          const port = await openPassive();
          return reply(227, `Entering Passive Mode (${host.split(".").join(",")},${port >> 8},${port & 255})`);
        }
        case "PORT":
        case "EPRT":
          throw new Reply(502, "Active mode is not supported; use EPSV or PASV");
        case "MLSD": {
          const entries = await listing(arg);
          return withData("MLSD", sendText(entries.map((e) => `${mlsxFacts(e.st)} ${e.name}\r\n`).join("")));
        }
        case "LIST": {
          const target = listTarget(arg);
          const v = virtualPath(target);
          const st = await stat(await jailed(v, true));
          const now = Date.now();
          const lines = st.isDirectory()
            ? (await listing(target)).map((e) => listLine(e.name, e.st, now))
            : [listLine(posix.basename(v), st, now)];
          return withData("LIST", sendText(lines.map((l) => l + "\r\n").join("")));
        }
        case "NLST": {
          const entries = await listing(listTarget(arg));
          return withData("NLST", sendText(entries.map((e) => `${e.name}\r\n`).join("")));
        }
        case "MLST": {
          const v = virtualPath(arg);
          const st = await stat(await jailed(v, true));
          return reply(250, `Listing ${v}\n ${mlsxFacts(st)} ${v}\nEnd`);
        }
        case "SIZE": {
          const { st } = await needFile(arg);
          return reply(213, String(st.size));
        }
        case "MDTM": {
          const { st } = await needFile(arg);
          return reply(213, stamp(st.mtimeMs));
        }
        case "MFMT": {
          const m = /^(\S+) (.+)$/.exec(arg);
          const ms = m ? parseStamp(m[1]) : undefined;
          if (!m || ms === undefined) throw new Reply(501, "Usage: MFMT YYYYMMDDHHMMSS path");
          const p = await jailed(virtualPath(m[2]), true);
          await utimes(p, new Date(ms), new Date(ms));
          return reply(213, `Modify=${stamp(ms)}; ${m[2]}`);
        }
        case "REST": {
          const n = Number(arg.trim());
          if (!Number.isSafeInteger(n) || n < 0) throw new Reply(501, "REST needs a byte offset");
          restAt = n;
          return reply(350, `Restarting at ${n}. Send STOR or RETR`);
        }
        case "RETR": {
          const start = rest;
          const { p, st } = await needFile(arg);
          if (start > st.size) throw new Reply(554, "Restart offset beyond the end of the file");
          return withData(`RETR (${st.size - start} bytes)`, async (d) => {
            const source = createReadStream(p, { start, highWaterMark: 256 * 1024 });
            source.on("data", (c) => (stats.bytesOut += c.length));
            await pipeline(source, d);
          });
        }
        case "STOR":
        case "APPE": {
          const start = verb === "STOR" ? rest : 0;
          if (arg === "") throw new Reply(501, `${verb} needs a file name`);
          const p = await jailed(virtualPath(arg), false);
          const existing = await stat(p).catch(() => undefined);
          if (existing?.isDirectory()) throw new Reply(550, "Is a directory");
          if (start > 0 && (!existing || start > existing.size)) throw new Reply(554, "Restart offset beyond the end of the file");
          return withData(verb, async (d) => {
            const flags = verb === "APPE" ? "a" : start > 0 ? "r+" : "w";
            const sink = createWriteStream(p, { flags, start: verb === "APPE" ? undefined : start });
            d.on("data", (c: Buffer) => (stats.bytesIn += c.length));
            await pipeline(d, sink);
          });
        }
        case "DELE": {
          const { p } = await needFile(arg);
          await unlink(p);
          return reply(250, "File deleted");
        }
        case "MKD":
        case "XMKD": {
          const v = virtualPath(arg);
          await mkdir(await jailed(v, false));
          return reply(257, `${quote(v)} created`);
        }
        case "RMD":
        case "XRMD": {
          const v = virtualPath(arg);
          if (v === "/") throw new Reply(550, "Cannot remove the root folder");
          await rmdir(await jailed(v, true));
          return reply(250, "Directory removed");
        }
        case "RNFR": {
          const v = virtualPath(arg);
          if (v === "/") throw new Reply(550, "Cannot rename the root folder");
          await stat(await jailed(v, true));
          renameFrom = v;
          return reply(350, "Ready for RNTO");
        }
        case "RNTO": {
          if (!from) throw new Reply(503, "Send RNFR first");
          const to = virtualPath(arg);
          if (to === "/") throw new Reply(550, "Cannot rename onto the root folder");
          await rename(await jailed(from, true), await jailed(to, false));
          return reply(250, "Rename successful");
        }
        case "ABOR":
          closePassive();
          return reply(226, "No transfer to abort");
        default:
          throw new Reply(502, `${verb} not implemented`);
      }
    }

    // --- start ---------------------------------------------------------------------------------
    if (opts.implicit) {
      const t = serverSocket(raw);
      sock = t;
      secure = true;
      attach(t);
    } else {
      attach(raw);
    }
    reply(220, "ftps-sync demo server ready (FTPS only)");
  }

  const control = net.createServer(onControl);
  servers.add(control);
  await new Promise<void>((res, rej) => {
    control.once("error", rej);
    control.listen(opts.port ?? 0, host, () => res());
  });
  const port = (control.address() as net.AddressInfo).port;
  log(`listening on ${host}:${port} (${opts.implicit ? "implicit" : "explicit"} TLS), root ${rootReal}`);

  return {
    host,
    port,
    stats,
    stop: async () => {
      const closing = [...servers].map((s) => new Promise<void>((res) => (s.listening ? s.close(() => res()) : res())));
      for (const s of sockets) s.destroy();
      await Promise.all(closing);
    },
  };
}
