// Node's own CPU cost of one data connection as the agent opens them for a small file: TCP connect
// on loopback, a TLS handshake resuming the last session (P-256 key share, as vsftpd asks; the
// session without the server's certificate, as the agent trims it for TLS 1.3), 4 KiB
// written, the connection closed. Measured in a process of its own against a node:tls server in
// another, so that neither the agent's work nor the server's is counted: the floor a Node client
// pays per small file before any FTP, state or file work.
//
//   node tls-floor.js serve <key.pem> <cert.pem> <maxVersion>   prints its port
//   node tls-floor.js client <cert.pem> <port> <maxVersion> <n>  prints CPU µs per connection
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { connect, createSecureContext, createServer, type SecureVersion } from "node:tls";
import { fileURLToPath } from "node:url";
import { withoutPeerCertificate } from "../src/protocol/session-trim.js";

const SELF = fileURLToPath(import.meta.url);
const FILE = Buffer.alloc(4096, 7);

function serve(keyPath: string, certPath: string, maxVersion: SecureVersion): void {
  const server = createServer({ key: readFileSync(keyPath), cert: readFileSync(certPath), ecdhCurve: "prime256v1", maxVersion }, (socket) => {
    socket.on("data", () => undefined);
    socket.on("end", () => socket.end());
    socket.on("error", () => undefined);
  });
  server.listen(0, "127.0.0.1", () => process.stdout.write(`${(server.address() as { port: number }).port}\n`));
}

async function client(certPath: string, port: number, maxVersion: SecureVersion, n: number): Promise<void> {
  const secureContext = createSecureContext({ ca: readFileSync(certPath), ecdhCurve: "P-256", maxVersion });
  let session: Buffer | undefined;
  let resumed = 0;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      const s = connect({ host: "127.0.0.1", port, servername: "localhost", secureContext, session });
      s.on("session", (x: Buffer<ArrayBuffer>) => (session = withoutPeerCertificate(x)));
      s.once("secureConnect", () => {
        if (s.isSessionReused()) resumed++;
        s.end(FILE);
      });
      s.on("data", () => undefined);
      s.on("close", () => resolve());
      s.on("error", reject);
    });
  for (let i = 0; i < 20; i++) await one(); // warm up: JIT, a session to resume
  resumed = 0;
  const before = process.cpuUsage();
  for (let i = 0; i < n; i++) await one();
  const used = process.cpuUsage(before);
  process.stdout.write(`${JSON.stringify({ cpuUsPerConnection: (used.user + used.system) / n, resumed, n })}\n`);
}

/** Runs `node SELF args`; resolves with its first stdout line (kept running when `keep`). */
function child(args: string[], keep: boolean): Promise<{ line: string; kill: () => void }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [SELF, ...args], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    p.stdout.on("data", (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf("\n");
      if (nl >= 0 && keep) resolve({ line: out.slice(0, nl), kill: () => p.kill() });
    });
    p.on("error", reject);
    p.on("close", (code) => (code === 0 || keep ? resolve({ line: out.trim(), kill: () => undefined }) : reject(new Error(`tls-floor ${args[0]} exited ${code}`))));
  });
}

export interface TlsFloor {
  /** CPU ms per connection, TLS 1.3 and TLS 1.2, each resumed */
  tls13Ms: number;
  tls12Ms: number;
}

/** The floor above with the key and certificate given, `n` connections each. */
export async function measureTlsFloor(keyPath: string, certPath: string, n = 1000): Promise<TlsFloor> {
  const ms: Record<string, number> = {};
  for (const v of ["TLSv1.3", "TLSv1.2"]) {
    const server = await child(["serve", keyPath, certPath, v], true);
    try {
      const r = JSON.parse((await child(["client", certPath, server.line, v, String(n)], false)).line) as { cpuUsPerConnection: number; resumed: number; n: number };
      if (r.resumed !== r.n) throw new Error(`tls-floor: ${r.n - r.resumed} of ${r.n} ${v} connections were not resumed`);
      ms[v] = r.cpuUsPerConnection / 1000;
    } finally {
      server.kill();
    }
  }
  return { tls13Ms: ms["TLSv1.3"], tls12Ms: ms["TLSv1.2"] };
}

if (process.argv[1] === SELF) {
  const [mode, ...rest] = process.argv.slice(2);
  if (mode === "serve") serve(rest[0], rest[1], rest[2] as SecureVersion);
  else if (mode === "client") await client(rest[0], Number(rest[1]), rest[2] as SecureVersion, Number(rest[3]));
}
