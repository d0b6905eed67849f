// Starts a REAL pyftpdlib FTPS server (Debian's python3-pyftpdlib 1.5.7, unpacked into
// .cache/servers by scripts/fetch-servers.sh) on 127.0.0.1, for the behaviours that other servers
// show: each behaviour is a Python mixin in test/servers/pyftpd/behaviours/<name>.py, chosen per
// server. pyftpdlib itself starts a data connection's TLS only after the transfer command.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { generateCert } from "./certs.js";
import { freePort, freePortRange, SERVERS_DIR, TEST_PASSWORD, TEST_USER, type TlsMode } from "./real-servers.js";

const HERE = dirname(fileURLToPath(import.meta.url));
/** where Debian's package puts the module once unpacked (PYTHONPATH) */
export const PYFTPDLIB_PATH = join(SERVERS_DIR, "python3-pyftpdlib", "usr", "lib", "python3", "dist-packages");

/** Debian's own interpreter, where python3-openssl is installed (another python3 may come first on PATH) */
const PYTHON = existsSync("/usr/bin/python3") ? "/usr/bin/python3" : "python3";

export interface PyftpdOptions {
  tls?: TlsMode;
  /** names of modules in test/servers/pyftpd/behaviours/ ("dos-list" → dos_list.py) */
  behaviours?: string[];
  /** address advertised in PASV replies */
  masquerade?: string;
  cert?: "self-signed" | "ca-signed";
  /** added to the server's environment (e.g. TZ, for a server in local time) */
  env?: Record<string, string>;
  /** address the server listens on, default 127.0.0.1 ("::1": IPv6) */
  listenAddress?: string;
}

export interface PyftpdServer {
  kind: "pyftpdlib";
  host: "127.0.0.1";
  /** where the server listens (listenAddress), 127.0.0.1 by default */
  listenAddress: string;
  port: number;
  tls: TlsMode;
  user: string;
  password: string;
  /** absolute local path of what "/" is on the server */
  root: string;
  certPem: string;
  certPath: string;
  fingerprint: string;
  passivePorts: [number, number];
  pid: number;
  /** the server's own log (pyftpdlib logs every command and reply) */
  log(): Promise<string>;
  stop(): Promise<void>;
}

/** Why pyftpdlib cannot run here, or undefined when it can. */
export function pyftpdlibMissing(): string | undefined {
  if (!existsSync(join(PYFTPDLIB_PATH, "pyftpdlib", "handlers.py"))) return `pyftpdlib not unpacked in ${SERVERS_DIR} (run scripts/fetch-servers.sh)`;
  return undefined;
}

export async function startPyftpd(opts: PyftpdOptions = {}): Promise<PyftpdServer> {
  const missing = pyftpdlibMissing();
  if (missing) throw new Error(missing);
  const tls = opts.tls ?? "explicit";
  const dir = await mkdtemp(join(tmpdir(), "ftps-sync-pyftpd-"));
  const root = join(dir, "root");
  await mkdir(root);
  const cert = await generateCert(join(dir, "certs"), { mode: opts.cert ?? "self-signed" });
  const passwordFile = join(dir, "password");
  await writeFile(passwordFile, TEST_PASSWORD, { mode: 0o600 });
  const port = await freePort();
  const passive = await freePortRange(10);
  const logPath = join(dir, "server.log");
  const args = [
    join(HERE, "pyftpd", "server.py"),
    "--port", String(port), "--root", root, "--user", TEST_USER, "--password-file", passwordFile,
    "--cert", cert.certPath, "--key", cert.keyPath, "--tls", tls, "--passive", `${passive[0]}-${passive[1]}`,
  ];
  if (opts.masquerade) args.push("--masquerade", opts.masquerade);
  if (opts.listenAddress) args.push("--host", opts.listenAddress);
  for (const b of opts.behaviours ?? []) args.push("--behaviour", b);

  const child: ChildProcess = spawn(PYTHON, args, {
    cwd: dir,
    env: { ...process.env, ...opts.env, PYTHONPATH: PYFTPDLIB_PATH, PYTHONUNBUFFERED: "1", PYTHONDONTWRITEBYTECODE: "1" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const logChunks: Buffer[] = [];
  child.stderr!.on("data", (d: Buffer) => logChunks.push(d));
  const exited = new Promise<void>((res) => child.once("exit", () => res()));
  process.once("exit", () => child.kill("SIGKILL"));

  await new Promise<void>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`pyftpdlib not ready after 10 s:\n${Buffer.concat(logChunks).toString()}`)), 10_000);
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("READY")) {
        clearTimeout(timer);
        res();
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      rej(new Error(`pyftpdlib exited early (code ${code}):\n${Buffer.concat(logChunks).toString()}`));
    });
  }).catch(async (e) => {
    child.kill("SIGKILL");
    await rm(dir, { recursive: true, force: true });
    throw e;
  });

  let stopped: Promise<void> | undefined;
  return {
    kind: "pyftpdlib",
    host: "127.0.0.1",
    listenAddress: opts.listenAddress ?? "127.0.0.1",
    port,
    tls,
    user: TEST_USER,
    password: TEST_PASSWORD,
    root,
    certPem: cert.certPem,
    certPath: cert.certPath,
    fingerprint: cert.fingerprint,
    passivePorts: passive,
    pid: child.pid!,
    log: async () => Buffer.concat(logChunks).toString() + (existsSync(logPath) ? await readFile(logPath, "utf8") : ""),
    stop: () =>
      (stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill("SIGTERM");
          const t = setTimeout(() => child.kill("SIGKILL"), 3000);
          await exited;
          clearTimeout(t);
        }
        await rm(dir, { recursive: true, force: true });
      })()),
  };
}

/** Resolved path of a behaviour module, for tests that check one exists. */
export function behaviourPath(name: string): string {
  return resolve(HERE, "pyftpd", "behaviours", `${name.replace(/-/g, "_")}.py`);
}
