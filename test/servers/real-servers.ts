// Starts REAL FTPS servers (vsftpd 3.0.3, ProFTPD 1.3.8 + mod_tls, Pure-FTPd 1.0.50)
// on 127.0.0.1 for integration tests. The binaries come unpacked from Debian 12
// packages into .cache/servers/ by scripts/fetch-servers.sh. Needs root.
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { existsSync, openSync, closeSync, readFileSync } from "node:fs";
import { chmod, chown, mkdir, mkdtemp, open, readdir, rm, stat, writeFile } from "node:fs/promises";
import net, { isIPv6 } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import tls from "node:tls";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { generateCert } from "./certs.js";

const run = promisify(execFile);

export type ServerKind = "vsftpd" | "proftpd" | "pureftpd";
export type TlsMode = "explicit" | "implicit" | "off";
/** What a test file may need: a real server binary, or pyftpdlib (test/servers/pyftpd.ts). */
export type ServerNeed = ServerKind | "pyftpdlib";

export interface StartOptions {
  tls?: TlsMode;
  cert?: "self-signed" | "ca-signed";
  /** SAN names, default ["localhost", "127.0.0.1"] */
  certHosts?: string[];
  /**
   * Loopback address the server binds (control and passive ports), default 127.0.0.1. With
   * 127.0.0.2 a test proxy can listen on the same port numbers on 127.0.0.1 (test/faults/proxy.ts);
   * with "::1" the server listens on IPv6 only.
   */
  listenAddress?: string;
  /** Address the server advertises in PASV replies, default 127.0.0.1. */
  pasvAddress?: string;
  /** Extra configuration lines appended to vsftpd.conf / proftpd.conf (e.g. "max_per_ip=2"). */
  extraConfig?: string[];
  /** ProFTPD only: the TLSProtocol value, default "TLSv1.2 TLSv1.3". */
  tlsProtocols?: string;
  /** Client certificate and key (PEM files) the readiness probe of an implicit server presents, for one that requires one. */
  probeClientCert?: { certPath: string; keyPath: string };
}

export interface RunningServer {
  kind: ServerKind;
  host: "127.0.0.1";
  /** where the server itself listens (differs from host when a test proxy sits in front) */
  listenAddress: string;
  port: number;
  tls: TlsMode;
  user: string;
  password: string;
  /** absolute local path of the FTP user's home folder = what "/" is on the server (chrooted) */
  root: string;
  certPath: string;
  /** CA that signed the cert, when ca-signed */
  caPath?: string;
  certPem: string;
  /** "sha256:AB:CD:..." */
  fingerprint: string;
  /** passive port range the server uses */
  passivePorts: [number, number];
  /** the server's temp folder (config, certs, logs, root) */
  dir: string;
  pid: number;
  logTail(): Promise<string>;
  /** Kills the server (and every session) by PID, waits `downMs`, starts it again on the same ports. */
  restart(downMs?: number): Promise<void>;
  /** kill by PID, wait for exit, remove temp dirs */
  stop(): Promise<void>;
}

export const TEST_USER = "ftpsynctest";
export const TEST_PASSWORD = "Ftps-sync-test-9Qx";
/** the system user's passwd home (not the FTP root: each server gets its own root) */
const TEST_HOME = "/var/lib/ftpsynctest";

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const SERVERS_DIR = process.env.FTPS_SYNC_SERVERS_DIR ?? join(REPO, ".cache", "servers");

const BIN = {
  vsftpd: join(SERVERS_DIR, "vsftpd/usr/sbin/vsftpd"),
  proftpd: join(SERVERS_DIR, "proftpd-core/usr/sbin/proftpd"),
  proftpdTlsModDir: join(SERVERS_DIR, "proftpd-mod-crypto/usr/lib/proftpd"),
  pureftpd: join(SERVERS_DIR, "pure-ftpd/usr/sbin/pure-ftpd"),
  purepw: join(SERVERS_DIR, "pure-ftpd/usr/bin/pure-pw"),
  pyftpdlib: join(SERVERS_DIR, "python3-pyftpdlib/usr/lib/python3/dist-packages/pyftpdlib/handlers.py"),
};

function which(cmd: string): boolean {
  return (process.env.PATH ?? "/usr/bin:/bin").split(":").some((d) => d && existsSync(join(d, cmd)));
}

export function serversAvailable(): { vsftpd: boolean; proftpd: boolean; pureftpd: boolean; pyftpdlib: boolean; reason?: string } {
  const reasons: string[] = [];
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  if (!isRoot) reasons.push("tests are not running as root");
  if (!which("openssl")) reasons.push("openssl not found");
  if (!which("useradd") || !which("chpasswd")) reasons.push("useradd/chpasswd not found");
  const base = isRoot && reasons.length === 0;
  const vsftpd = base && existsSync(BIN.vsftpd);
  const proftpd = base && existsSync(BIN.proftpd) && existsSync(join(BIN.proftpdTlsModDir, "mod_tls.so"));
  const pureftpd = base && existsSync(BIN.pureftpd) && existsSync(BIN.purepw);
  const pyftpdlib = base && existsSync(BIN.pyftpdlib) && which("python3");
  if (!vsftpd || !proftpd || !pureftpd || !pyftpdlib) {
    const missing = [!vsftpd && "vsftpd", !proftpd && "proftpd", !pureftpd && "pureftpd", !pyftpdlib && "pyftpdlib"].filter(Boolean);
    if (base) reasons.push(`not unpacked in ${SERVERS_DIR}: ${missing.join(", ")} (run scripts/fetch-servers.sh)`);
  }
  return { vsftpd, proftpd, pureftpd, pyftpdlib, reason: reasons.length ? reasons.join("; ") : undefined };
}

const ALL_KINDS: ServerNeed[] = ["vsftpd", "proftpd", "pureftpd", "pyftpdlib"];

/** What a run without the servers it needs is told: how to get them, or the tier that needs none. */
export function serversMissingMessage(kinds: ServerNeed[] = ALL_KINDS): string | undefined {
  const avail = serversAvailable();
  const missing = kinds.filter((k) => !avail[k]);
  if (missing.length === 0) return undefined;
  return (
    `the server tier needs root and the real FTPS servers (${missing.join(", ")}): ${avail.reason ?? "not found"}. ` +
    "`npm test` fetches and unpacks them itself when run as root on Debian (scripts/fetch-servers.sh); " +
    "without root or servers, run `npm run test:fast` (the tests that need neither)."
  );
}

/**
 * Marks a test file as part of the server tier (vitest.config.ts puts every file that calls it in
 * the "servers" project) and fails the file, never skips it, when a server it needs cannot run here.
 */
export function requireServers(...kinds: ServerNeed[]): void {
  const message = serversMissingMessage(kinds.length ? kinds : ALL_KINDS);
  if (message) throw new Error(message);
}

// ---------------------------------------------------------------- processes

const HAVE_SETPRIV = which("setpriv");

const livePids = new Set<number>();
let exitHookInstalled = false;
function trackPid(pid: number): void {
  livePids.add(pid);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on("exit", () => {
      for (const p of livePids) {
        try {
          process.kill(-p, "SIGKILL"); // whole process group (server + session children)
        } catch {
          try {
            process.kill(p, "SIGKILL");
          } catch {
            /* gone */
          }
        }
      }
    });
  }
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

// ---------------------------------------------------------------- user

/** useradd/chpasswd fail while another process (a parallel test worker) holds /etc/passwd's lock. */
async function retryLocked<T>(fn: () => Promise<T>): Promise<T> {
  for (let i = 0; ; i++) {
    try {
      return await fn();
    } catch (e) {
      const msg = String((e as { stderr?: string }).stderr ?? "") + String((e as Error).message);
      if (i >= 20 || !/lock|try again/i.test(msg)) throw e;
      await new Promise((r) => setTimeout(r, 100 + Math.random() * 200));
    }
  }
}

let userReady: Promise<{ uid: number; gid: number }> | undefined;
/** Creates the system user ftpsynctest (no home, /bin/bash) if missing and sets its password. */
export function ensureTestUser(): Promise<{ uid: number; gid: number }> {
  userReady ??= (async () => {
    const ids = async () => {
      const u = await run("id", ["-u", TEST_USER]);
      const g = await run("id", ["-g", TEST_USER]);
      return { uid: Number(u.stdout.trim()), gid: Number(g.stdout.trim()) };
    };
    let got: { uid: number; gid: number };
    try {
      got = await ids();
    } catch {
      try {
        await retryLocked(() => run("useradd", ["-M", "-U", "-d", TEST_HOME, "-s", "/bin/bash", TEST_USER]));
      } catch (e) {
        // a parallel worker may have created it meanwhile
        if (!/already exists/.test(String((e as { stderr?: string }).stderr))) throw e;
      }
      got = await ids();
    }
    // vsftpd chdirs into the passwd home before local_root: it must exist
    const home = (await run("getent", ["passwd", TEST_USER])).stdout.trim().split(":")[5];
    if (!home || !existsSync(home)) {
      if (home !== TEST_HOME) await run("usermod", ["-d", TEST_HOME, TEST_USER]);
      await mkdir(TEST_HOME, { recursive: true, mode: 0o755 });
      await chown(TEST_HOME, got.uid, got.gid);
    }
    await retryLocked(
      () =>
        new Promise<void>((res, rej) => {
          const p = execFile("chpasswd", (err) => (err ? rej(err) : res()));
          p.stdin!.end(`${TEST_USER}:${TEST_PASSWORD}\n`);
        }),
    );
    return got;
  })();
  userReady.catch(() => (userReady = undefined));
  return userReady;
}

// ---------------------------------------------------------------- ports

const reserved = new Set<number>();

function canBind(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = net.createServer();
    s.once("error", () => res(false));
    s.listen({ port, host: "127.0.0.1", exclusive: true }, () => s.close(() => res(true)));
  });
}

export async function freePort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = await new Promise<number>((res, rej) => {
      const s = net.createServer();
      s.once("error", rej);
      s.listen({ port: 0, host: "127.0.0.1", exclusive: true }, () => {
        const p = (s.address() as net.AddressInfo).port;
        s.close(() => res(p));
      });
    });
    if (!reserved.has(port)) {
      reserved.add(port);
      return port;
    }
  }
  throw new Error("no free port found");
}

/** A random range of `count` consecutive free ports (outside the usual ephemeral range). */
export async function freePortRange(count = 20): Promise<[number, number]> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const lo = 20000 + Math.floor(Math.random() * (32000 - 20000 - count));
    let ok = true;
    for (let p = lo; p < lo + count && ok; p++) ok = !reserved.has(p) && (await canBind(p));
    if (ok) {
      for (let p = lo; p < lo + count; p++) reserved.add(p);
      return [lo, lo + count - 1];
    }
  }
  throw new Error("no free passive port range found");
}

function release(ports: number[]): void {
  for (const p of ports) reserved.delete(p);
}

// ---------------------------------------------------------------- readiness

/** Connects and reads the "220 " greeting (through TLS for implicit mode). */
function readBanner(host: string, port: number, implicit: boolean, timeoutMs: number, clientCert?: { certPath: string; keyPath: string }): Promise<string> {
  return new Promise((res, rej) => {
    let buf = "";
    const cert = clientCert && { cert: readFileSync(clientCert.certPath), key: readFileSync(clientCert.keyPath) };
    const sock: net.Socket = implicit
      ? tls.connect({ host, port, rejectUnauthorized: false, servername: "localhost", ...cert })
      : net.connect({ host, port });
    const timer = setTimeout(() => {
      sock.destroy();
      rej(new Error(`no greeting within ${timeoutMs} ms (got ${JSON.stringify(buf)})`));
    }, timeoutMs);
    sock.setEncoding("utf8");
    sock.on("data", (d: string) => {
      buf += d;
      if (/(^|\n)220 [^\n]*\n/.test(buf)) {
        clearTimeout(timer);
        sock.end("QUIT\r\n");
        sock.destroy();
        res(buf);
      } else if (/(^|\n)[45]\d\d /.test(buf)) {
        clearTimeout(timer);
        sock.destroy();
        rej(new Error(`server refused: ${buf.trim()}`));
      }
    });
    sock.on("error", (e) => {
      clearTimeout(timer);
      rej(e);
    });
  });
}

async function tailOfDir(dir: string, maxBytes = 4000): Promise<string> {
  let out = "";
  let names: string[] = [];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith(".log")).sort();
  } catch {
    return "(log folder gone)";
  }
  for (const n of names) {
    const p = join(dir, n);
    try {
      const st = await stat(p);
      const fh = await open(p, "r");
      try {
        const len = Math.min(st.size, maxBytes);
        const b = Buffer.alloc(len);
        await fh.read(b, 0, len, st.size - len);
        out += `==> ${n} <==\n${b.toString("utf8")}\n`;
      } finally {
        await fh.close();
      }
    } catch {
      /* skip */
    }
  }
  return out || "(no log output)";
}

// ---------------------------------------------------------------- configs

interface Ctx {
  dir: string;
  root: string;
  port: number;
  pasv: [number, number];
  tls: TlsMode;
  uid: number;
  gid: number;
  cert: { certPath: string; keyPath: string; bundlePath: string };
  listen: string;
  pasvAddress: string;
  extra: string[];
  tlsProtocols?: string;
}

async function vsftpdCommand(c: Ctx): Promise<{ cmd: string; args: string[] }> {
  if (c.tls === "off") throw new Error("vsftpd harness supports only tls explicit/implicit");
  const empty = join(c.dir, "empty");
  await mkdir(empty, { mode: 0o755 });
  const conf = [
    // IPv6 (listenAddress "::1"): vsftpd takes one or the other family per listener.
    ...(isIPv6(c.listen) ? ["listen=NO", "listen_ipv6=YES", `listen_address6=${c.listen}`] : ["listen=YES", "listen_ipv6=NO", `listen_address=${c.listen}`]),
    `listen_port=${c.port}`,
    "background=NO",
    "seccomp_sandbox=NO",
    "anonymous_enable=NO",
    "local_enable=YES",
    "write_enable=YES",
    "local_umask=022",
    `local_root=${c.root}`,
    "chroot_local_user=YES",
    "allow_writeable_chroot=YES",
    `secure_chroot_dir=${empty}`,
    // no /etc/pam.d file of this name: PAM falls back to "other" (pam_unix)
    "pam_service_name=ftps-sync-test",
    "userlist_enable=NO",
    "tcp_wrappers=NO",
    "use_localtime=NO",
    "dirmessage_enable=NO",
    "connect_from_port_20=NO",
    "pasv_enable=YES",
    // PASV names an IPv4 address; over IPv6 EPSV names only a port.
    ...(isIPv6(c.pasvAddress) ? [] : [`pasv_address=${c.pasvAddress}`]),
    `pasv_min_port=${c.pasv[0]}`,
    `pasv_max_port=${c.pasv[1]}`,
    "ssl_enable=YES",
    `implicit_ssl=${c.tls === "implicit" ? "YES" : "NO"}`,
    `rsa_cert_file=${c.cert.certPath}`,
    `rsa_private_key_file=${c.cert.keyPath}`,
    "force_local_logins_ssl=YES",
    "force_local_data_ssl=YES",
    "require_ssl_reuse=YES",
    "ssl_request_cert=NO",
    "ssl_sslv2=NO",
    "ssl_sslv3=NO",
    "ssl_tlsv1=NO",
    "ssl_ciphers=HIGH",
    "xferlog_enable=YES",
    "xferlog_std_format=NO",
    "log_ftp_protocol=YES",
    `vsftpd_log_file=${join(c.dir, "vsftpd.log")}`,
    ...c.extra,
    "",
  ].join("\n");
  const file = join(c.dir, "vsftpd.conf");
  await writeFile(file, conf, { mode: 0o600 });
  return { cmd: BIN.vsftpd, args: [file] };
}

async function opensslPasswd(pw: string): Promise<string> {
  return new Promise((res, rej) => {
    const p = execFile("openssl", ["passwd", "-6", "-stdin"], (err, stdout) => (err ? rej(err) : res(stdout.trim())));
    p.stdin!.end(pw + "\n");
  });
}

/** The directive name of a config line ("" for a blank or indented line). */
function directiveOf(line: string): string {
  return /^[A-Za-z]\w*/.exec(line)?.[0] ?? "";
}

async function proftpdCommand(c: Ctx): Promise<{ cmd: string; args: string[] }> {
  if (c.tls === "off") throw new Error("proftpd harness supports only tls explicit/implicit");
  const hash = await opensslPasswd(TEST_PASSWORD);
  const passwd = join(c.dir, "ftpd.passwd");
  const group = join(c.dir, "ftpd.group");
  await writeFile(passwd, `${TEST_USER}:${hash}:${c.uid}:${c.gid}::${c.root}:/bin/sh\n`, { mode: 0o600 });
  await writeFile(group, `${TEST_USER}:x:${c.gid}:\n`, { mode: 0o600 });
  const conf = [
    'ServerName "ftps-sync test"',
    "ServerType standalone",
    `DefaultAddress ${c.listen}`,
    c.pasvAddress !== c.listen ? `MasqueradeAddress ${c.pasvAddress}` : "",
    `Port ${c.port}`,
    `UseIPv6 ${isIPv6(c.listen) ? "on" : "off"}`,
    "SocketBindTight on",
    `User ${TEST_USER}`,
    `Group ${TEST_USER}`,
    `ModulePath ${BIN.proftpdTlsModDir}`,
    "<IfModule mod_dso.c>",
    "  LoadModule mod_tls.c",
    "</IfModule>",
    `PidFile ${join(c.dir, "proftpd.pid")}`,
    `ScoreboardFile ${join(c.dir, "proftpd.scoreboard")}`,
    `SystemLog ${join(c.dir, "proftpd.log")}`,
    `TransferLog ${join(c.dir, "xfer.log")}`,
    // every command as received (tests read it to see what the agent sent)
    'LogFormat commands "%m %J"',
    `ExtendedLog ${join(c.dir, "commands.log")} ALL commands`,
    "WtmpLog off",
    "DelayTable none",
    "UseReverseDNS off",
    "UseFtpUsers off",
    "AuthOrder mod_auth_file.c",
    `AuthUserFile ${passwd}`,
    `AuthGroupFile ${group}`,
    "RequireValidShell off",
    "DefaultRoot ~",
    `PassivePorts ${c.pasv[0]} ${c.pasv[1]}`,
    "AllowOverwrite on",
    "AllowStoreRestart on",
    "AllowRetrieveRestart on",
    "TimesGMT on",
    "Umask 022",
    "MaxInstances 50",
    "<Limit LOGIN>",
    "  AllowAll",
    "</Limit>",
    "<IfModule mod_tls.c>",
    "  TLSEngine on",
    `  TLSLog ${join(c.dir, "tls.log")}`,
    "  TLSRequired on",
    `  TLSProtocol ${c.tlsProtocols ?? "TLSv1.2 TLSv1.3"}`,
    `  TLSRSACertificateFile ${c.cert.certPath}`,
    `  TLSRSACertificateKeyFile ${c.cert.keyPath}`,
    "  TLSVerifyClient off",
    "  TLSRenegotiate none",
    c.tls === "implicit" ? "  TLSOptions UseImplicitSSL" : "",
    "</IfModule>",
    ...c.extra,
    "",
  ]
    // ProFTPD takes a server-wide directive's first line: one in extraConfig replaces the default
    // line of the same name (e.g. "AllowStoreRestart off", ProFTPD's own default; "TLSVerifyClient
    // on" replaces the one indented in the mod_tls block). LoadModule lines add up, never replace.
    .filter((line, i, all) => i >= all.length - c.extra.length - 1 || !c.extra.some((x) => !["", "LoadModule"].includes(directiveOf(x)) && directiveOf(x) === directiveOf(line.trimStart())))
    .join("\n");
  const file = join(c.dir, "proftpd.conf");
  await writeFile(file, conf, { mode: 0o600 });
  return { cmd: BIN.proftpd, args: ["-n", "-q", "-c", file] };
}

async function pureftpdCommand(c: Ctx): Promise<{ cmd: string; args: string[] }> {
  if (c.tls === "implicit") throw new Error("pure-ftpd harness supports only tls explicit/off");
  const passwd = join(c.dir, "pureftpd.passwd");
  const pdb = join(c.dir, "pureftpd.pdb");
  // pure-pw useradd hashes with argon2id (t=511): ~2 s to create AND ~2 s per login.
  // Write the passwd line ourselves with a crypt() SHA-512 hash, which Pure-FTPd accepts.
  const hash = await opensslPasswd(TEST_PASSWORD);
  await writeFile(passwd, `${TEST_USER}:${hash}:${c.uid}:${c.gid}::${c.root}/./::::::::::::\n`, { mode: 0o600 });
  try {
    await run(BIN.purepw, ["mkdb", pdb, "-f", passwd]);
  } catch (e) {
    throw new Error(`pure-pw mkdb failed: ${(e as { stderr?: string }).stderr || (e as Error).message}`);
  }
  const args = [
    "-S", `${c.listen},${c.port}`,
    ...(isIPv6(c.listen) ? [] : ["-4"]),
    "-l", `puredb:${pdb}`,
    "-E", // no anonymous
    "-A", // chroot everyone
    "-H", // no DNS
    "-j", // create home dir if missing
    "-U", "133:022",
    "-p", `${c.pasv[0]}:${c.pasv[1]}`,
    ...(isIPv6(c.pasvAddress) ? [] : ["-P", c.pasvAddress]),
    "-c", "50",
    "-C", "50",
    "-u", "1",
    "-g", join(c.dir, "pureftpd.pid"),
    "-f", "none",
    "-d",
    "-Y", c.tls === "off" ? "0" : "2",
  ];
  if (c.tls !== "off") args.push("-2", `${c.cert.certPath},${c.cert.keyPath}`);
  return { cmd: BIN.pureftpd, args };
}

// ---------------------------------------------------------------- start

let swept = false;
/** Removes temp folders left by test processes that died without stop(). */
async function sweepStaleDirs(): Promise<void> {
  if (swept) return;
  swept = true;
  let names: string[] = [];
  try {
    names = (await readdir(tmpdir())).filter((n) => /^ftps-sync-(vsftpd|proftpd|pureftpd)-/.test(n));
  } catch {
    return;
  }
  for (const n of names) {
    const d = join(tmpdir(), n);
    try {
      const owner = Number(readFileSync(join(d, "owner.pid"), "utf8"));
      if (!owner) continue;
      try {
        process.kill(owner, 0);
        continue; // owner alive
      } catch {
        /* owner gone */
      }
      await rm(d, { recursive: true, force: true });
    } catch {
      /* no owner file (yet) or gone: leave it */
    }
  }
}

export async function startServer(kind: ServerKind, opts: StartOptions = {}): Promise<RunningServer> {
  const avail = serversAvailable();
  if (!avail[kind]) throw new Error(`${kind} not available: ${avail.reason ?? "unknown reason"}`);
  const tlsMode: TlsMode = opts.tls ?? "explicit";
  const { uid, gid } = await ensureTestUser();

  await sweepStaleDirs();
  const dir = await mkdtemp(join(tmpdir(), `ftps-sync-${kind}-`));
  await chmod(dir, 0o755);
  await writeFile(join(dir, "owner.pid"), String(process.pid));
  const root = join(dir, "root");
  await mkdir(root, { mode: 0o755 });
  await chown(root, uid, gid);
  await chmod(root, 0o755);

  const cert = await generateCert(join(dir, "certs"), {
    mode: opts.cert ?? "self-signed",
    hosts: opts.certHosts,
  });
  const port = await freePort();
  const pasv = await freePortRange(20);
  const listen = opts.listenAddress ?? "127.0.0.1";
  const ctx: Ctx = {
    dir, root, port, pasv, tls: tlsMode, uid, gid, cert,
    listen, pasvAddress: opts.pasvAddress ?? (isIPv6(listen) ? listen : "127.0.0.1"), extra: opts.extraConfig ?? [], tlsProtocols: opts.tlsProtocols,
  };
  const ports = [port];
  for (let p = pasv[0]; p <= pasv[1]; p++) ports.push(p);

  let child: ChildProcess | undefined;
  const cleanupDir = async () => {
    release(ports);
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
  };
  try {
    const { cmd, args } =
      kind === "vsftpd" ? await vsftpdCommand(ctx) : kind === "proftpd" ? await proftpdCommand(ctx) : await pureftpdCommand(ctx);
    let pid = 0;
    let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let exitPromise: Promise<void> = Promise.resolve();
    /** Spawns the server and waits for its greeting (also used by restart()). */
    const launch = async () => {
      const outFd = openSync(join(dir, "stdout.log"), "a");
      try {
        // setpriv --pdeathsig: the kernel SIGKILLs the server when the spawning test process
        // (or worker thread) dies without running its exit hooks (vitest kills its workers).
        const [exe, argv] = HAVE_SETPRIV ? ["setpriv", ["--pdeathsig", "SIGKILL", "--", cmd, ...args]] : [cmd, args];
        child = spawn(exe, argv, { cwd: dir, stdio: ["ignore", outFd, outFd], detached: true });
      } finally {
        closeSync(outFd);
      }
      const proc = child;
      proc.unref();
      if (proc.pid === undefined) throw new Error(`could not spawn ${cmd}`);
      const thisPid = proc.pid;
      pid = thisPid;
      trackPid(thisPid);
      exited = undefined;
      exitPromise = new Promise<void>((res) => {
        proc.once("exit", (code, signal) => {
          exited = { code, signal };
          livePids.delete(thisPid);
          res();
        });
        proc.once("error", () => res());
      });

      // readiness: the 220 greeting
      const deadline = Date.now() + 10_000;
      for (;;) {
        // (read through a cast: TypeScript narrowed `exited` to undefined at the assignment above,
        // not seeing that the exit handler sets it meanwhile)
        const ended = exited as typeof exited | { code: number | null; signal: NodeJS.Signals | null };
        if (ended) {
          throw new Error(`${kind} exited early (code ${ended.code}, signal ${ended.signal})`);
        }
        try {
          await readBanner(listen, port, tlsMode === "implicit", Math.max(500, deadline - Date.now()), opts.probeClientCert);
          break;
        } catch (e) {
          if (Date.now() >= deadline) throw new Error(`${kind} not ready after 10 s: ${(e as Error).message}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    };
    const kill = async () => {
      if (!exited) {
        killGroup(pid, "SIGTERM");
        const t = setTimeout(() => killGroup(pid, "SIGKILL"), 3000);
        await exitPromise;
        clearTimeout(t);
      }
      killGroup(pid, "SIGKILL"); // leftover session processes of the group
      livePids.delete(pid);
    };
    await launch();

    let stopped: Promise<void> | undefined;
    const server: RunningServer = {
      kind,
      host: "127.0.0.1",
      listenAddress: listen,
      port,
      tls: tlsMode,
      user: TEST_USER,
      password: TEST_PASSWORD,
      root,
      certPath: cert.certPath,
      caPath: cert.caPath,
      certPem: cert.certPem,
      fingerprint: cert.fingerprint,
      passivePorts: pasv,
      dir,
      get pid() {
        return pid;
      },
      logTail: () => tailOfDir(dir),
      restart: async (downMs = 0) => {
        await kill();
        if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
        await launch();
      },
      stop: () =>
        (stopped ??= (async () => {
          await kill();
          await cleanupDir();
        })()),
    };
    return server;
  } catch (e) {
    const tail = await tailOfDir(dir);
    if (child?.pid !== undefined) {
      killGroup(child.pid, "SIGKILL");
      livePids.delete(child.pid);
    }
    await cleanupDir();
    throw new Error(`${(e as Error).message}\n--- ${kind} log tail ---\n${tail}`);
  }
}

/** For debugging: read a file in a server's dir synchronously. */
export function readServerFile(server: RunningServer, name: string): string {
  return readFileSync(join(server.dir, name), "utf8");
}
