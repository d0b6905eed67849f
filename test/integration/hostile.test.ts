// The agent against a hostile FTPS server: names that try to leave the job folder or smuggle
// commands, an endless listing, a PASV reply that points at another host, injected error codes.
// Every test proves what reached the wire (the server records each command line as received).
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "../helpers/cli.js";
import { makeWorkspace, type Workspace } from "../helpers/workspace.js";
import { generateCert, type GeneratedCert } from "../servers/certs.js";
import { startHostileServer, type HostileOptions, type HostileServer } from "../servers/hostile-ftps.js";
import { startScriptedServer } from "../servers/scripted-ftps.js";
import { execFileSync } from "node:child_process";
import { testTempDir } from "../helpers/temp-dir.js";

const T = "modify=20240101120000";
const HOSTILE_NAMES = ["../../etc/passwd", "a/../../b", "/abs", "evil\rDELE /job/good.txt", "nul\0name", "back\\slash", "crlf\r"];

/** Commands the agent may send, nothing else; a CR, LF or NUL inside a command is never allowed. */
const ALLOWED = /^(AUTH TLS|USER \S+|PASS .+|FEAT|TYPE I|OPTS .+|PBSZ 0|PROT P|PWD|CWD \/\S*|EPSV|PASV|MLSD \/\S*|MLST \/.+|STAT -a \/.+|LIST( -a)?( \/\S*)?|RETR \/.+|SIZE \/.+|MDTM \/.+|STOR \/.+|APPE \/.+|RNFR \/.+|RNTO \/.+|DELE \/.+|MKD \/.+|RMD \/.+|MFMT \d+ \/.+|REST \d+|NOOP|QUIT)$/;

function sha(p: string): string {
  return createHash("sha256").update(readFileSync(p)).digest("hex");
}

/** rel path -> size of every file and folder under dir (to prove nothing appeared elsewhere). */
function snapshot(dir: string, skip: (rel: string) => boolean): string[] {
  const out: string[] = [];
  const walk = (d: string, rel: string) => {
    for (const n of readdirSync(d)) {
      const r = rel ? `${rel}/${n}` : n;
      if (skip(r)) continue;
      out.push(r);
      if (statSync(join(d, n)).isDirectory()) walk(join(d, n), r);
    }
  };
  walk(dir, "");
  return out.sort();
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
  peakRssKb: number;
}

/** Runs the CLI and samples its resident memory from /proc every 50 ms. */
function runMeasured(ws: Workspace, args: string[], timeoutMs = 90_000): Promise<Run> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, "--config", ws.configPath, ...args], {
      env: { ...process.env, FTPS_SYNC_CONFIG: "", ...ws.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let peakRssKb = 0;
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const sample = setInterval(() => {
      try {
        const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
        if (m) peakRssKb = Math.max(peakRssKb, Number(m[1]));
      } catch {
        /* exited */
      }
    }, 50);
    const hard = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearInterval(sample);
      clearTimeout(hard);
      resolve({ code, stdout, stderr, ms: Date.now() - started, peakRssKb });
    });
  });
}

describe("against a hostile FTPS server", () => {
  let cert: GeneratedCert;
  const open: { s: HostileServer; ws: Workspace }[] = [];
  beforeAll(async () => {
    cert = await generateCert(testTempDir("hostile-certs"), { name: "hostile" });
  });
  afterAll(async () => {
    for (const { s, ws } of open) {
      ws.cleanup();
      await s.stop();
    }
  });

  /** A hostile server and a workspace whose job folder is `localName` inside it. */
  const setup = async (
    opts: Omit<HostileOptions, "cert" | "key">, job: Record<string, unknown>, remote: Record<string, unknown> = {}, password = "hostile-pw-4Kd", localName = "local",
  ) => {
    const s = await startHostileServer({ cert: cert.certPem, key: cert.keyPem, ...opts });
    const ws = makeWorkspace({ host: "127.0.0.1", port: s.port, user: "alice", password }, { fingerprint: cert.fingerprint, timeoutSeconds: 5, maxConnections: 2, ...remote });
    open.push({ s, ws });
    const local = ws.folder(localName);
    ws.writeJob("job", { remote: "srv", remotePath: "/job", local, retries: { attempts: 3, initialDelay: "50ms", maxDelay: "200ms" }, ...job });
    return { s, ws, local };
  };

  const expectCleanWire = (s: HostileServer) => {
    for (const c of s.commands) {
      expect(c, JSON.stringify(c)).toMatch(ALLOWED);
      expect(/[\r\n\0]/.test(c), JSON.stringify(c)).toBe(false);
    }
  };

  it.each(["download", "two-way"] as const)("%s: refuses names that leave the folder or smuggle commands, writes only inside the job folder", async (direction) => {
    const body = (names: string[], good: string[], dirs: string[] = []) =>
      [...good.map((n) => `type=file;size=5;${T}; ${n}`), ...names.map((n) => `type=file;size=5;${T}; ${n}`), ...dirs.map((d) => `type=dir;${T}; ${d}`)].join("\r\n") + "\r\n";
    // The job folder is two levels down in the workspace, so every escaping name lands in the
    // workspace (where the snapshot sees it): "../../etc/passwd" names <workspace>/etc/passwd, a
    // decoy this test makes. The decoy stands for /etc/passwd, which the test must not compare:
    // other test files add system users to it (vsftpd logs in real users) while this one runs.
    const { s, ws, local } = await setup(
      {
        listings: {
          "/job": body(HOSTILE_NAMES, ["good.txt"], ["..", ".", "sub", "../up"]),
          "/job/sub": body(["../../../escape.txt", "../../job2/x"], ["ok.txt"]),
        },
        files: { "/job/good.txt": "hello", "/job/sub/ok.txt": "ok!!!" },
        defaultContent: "PWNED",
      },
      { direction, delete: "mirror", maxDelete: 100 },
      {},
      undefined,
      "jobs-root/local",
    );
    const decoy = join(ws.folder("etc"), "passwd");
    writeFileSync(decoy, "root:x:0:0:root:/root:/bin/bash\n");
    expect(join(local, "../../etc/passwd")).toBe(decoy);
    if (direction === "two-way") writeFileSync(join(local, "mine.txt"), "local");
    const decoyBefore = sha(decoy);
    const outside = dirname(ws.dir);
    const outsideBefore = readdirSync(outside).filter((n) => !n.startsWith("ftps-sync-") && !n.startsWith("vitest"));
    const ownFiles = (r: string) => r.startsWith("jobs-root/local") || r.startsWith("state") || r.startsWith("logs");
    const wsBefore = snapshot(ws.dir, ownFiles);

    const r = await runMeasured(ws, ["sync", "job", "--json", "-v"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // exactly the good files, nothing else, inside the job folder
    const expected = direction === "two-way" ? ["good.txt", "mine.txt", "sub", "sub/ok.txt"] : ["good.txt", "sub", "sub/ok.txt"];
    expect(snapshot(local, () => false)).toEqual(expected);
    expect(readFileSync(join(local, "good.txt"), "utf8")).toBe("hello");
    expect(snapshot(ws.dir, ownFiles)).toEqual(wsBefore);
    expect(wsBefore).toEqual(expect.arrayContaining(["etc", "etc/passwd", "jobs-root"]));
    expect(sha(decoy)).toBe(decoyBefore);
    expect(lstatSync(decoy).isFile()).toBe(true);
    expect(existsSync("/abs")).toBe(false);
    const outsideAfter = readdirSync(outside).filter((n) => !n.startsWith("ftps-sync-") && !n.startsWith("vitest"));
    expect(outsideAfter.filter((n) => !outsideBefore.includes(n) && /^(b|escape\.txt|x|job2|up|passwd)$/.test(n))).toEqual([]);
    // the refusals are logged
    expect(r.stderr).toMatch(/refused a remote name/);
    // on the wire: only well-formed commands, never a hostile name, never a DELE
    expectCleanWire(s);
    const retrs = s.commands.filter((c) => c.startsWith("RETR")).sort();
    expect(retrs).toEqual(["RETR /job/good.txt", "RETR /job/sub/ok.txt"]);
    expect(s.commands.filter((c) => /^(DELE|RMD|RNFR|RNTO)/.test(c) && !/\.ftps-sync\.|mine\.txt/.test(c))).toEqual([]);
  });

  it("an endless listing fails that folder in bounded time and memory, and deletes nothing", async () => {
    const { s, ws, local } = await setup({ listings: { "/job": "endless" } }, { direction: "download", delete: "mirror", maxDelete: 100 });
    writeFileSync(join(local, "keep.txt"), "mine");
    const r = await runMeasured(ws, ["sync", "job", "--json"], 120_000);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/cannot list remote folder/);
    expect(r.ms).toBeLessThan(60_000);
    // FtpClient.list stops reading past its maxListingBytes (MAX_LISTING_BYTES in src/protocol/connect.ts)
    expect(r.peakRssKb, `peak RSS ${r.peakRssKb} kB, ${s.endlessBytes} bytes sent`).toBeLessThan(400 * 1024);
    expect(s.endlessBytes).toBeLessThan(400 * 1024 * 1024);
    expect(readFileSync(join(local, "keep.txt"), "utf8")).toBe("mine");
    expectCleanWire(s);
  });

  it.each([
    ["", {}],
    [" (through the bandwidth limit)", { bandwidthLimit: "20MB" }],
  ])("a RETR that streams without end%s: reading stops at the listed size, the file fails, no temporary file is left", async (_, limits) => {
    const { s, ws, local } = await setup(
      {
        listings: { "/job": `type=file;size=5;${T}; endless.bin\r\ntype=file;size=5;${T}; good.txt\r\n` },
        files: { "/job/good.txt": "hello", "/job/endless.bin": "hello" },
        endlessFiles: ["/job/endless.bin"],
        endlessLimitBytes: 256 * 1024 * 1024,
      },
      { direction: "download", ...limits },
    );
    const r = await runMeasured(ws, ["sync", "job", "--json"], 120_000);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/endless\.bin: the server sent more than the 5 bytes its listing announced/);
    // The agent stopped reading: the server could only fill the socket buffers, never its whole 256 MiB.
    expect(s.endlessBytes, `${s.endlessBytes} bytes sent`).toBeLessThan(32 * 1024 * 1024);
    // Not retried (it would stream without end again), nothing published, no temporary file kept.
    expect(s.commands.filter((c) => c === "RETR /job/endless.bin")).toHaveLength(1);
    expect(readdirSync(local).sort()).toEqual(["good.txt"]);
    expect(readFileSync(join(local, "good.txt"), "utf8")).toBe("hello");
  });

  it("a PASV reply naming another loopback host: the data connection goes to the control host only", async () => {
    const { s, ws, local } = await setup(
      { listings: { "/job": `type=file;size=5;${T}; good.txt\r\n` }, files: { "/job/good.txt": "hello" }, pasvHost: "127.0.0.3" },
      { direction: "download" },
    );
    const r = await runMeasured(ws, ["sync", "job", "--json"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(s.commands).toContain("PASV");
    expect(s.decoyConnections).toBe(0);
    expect(s.dataConnections).toBeGreaterThan(0);
    expect(readFileSync(join(local, "good.txt"), "utf8")).toBe("hello");
  });

  it("a PASV reply naming a foreign host: its address is never used, the data connection goes to the control host, and the log says so", async () => {
    const { s, ws, local } = await setup(
      { listings: { "/job": `type=file;size=5;${T}; good.txt\r\n` }, files: { "/job/good.txt": "hello" }, pasvHost: "198.51.100.7" },
      { direction: "download" },
    );
    const r = await runMeasured(ws, ["sync", "job", "--json"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toMatch(/PASV replies name 198\.51\.100\.7, another host than the one connected to: data connections go to the control connection's host \(127\.0\.0\.1\) instead, never to another host/);
    // the scripted server's data listener is on 127.0.0.1 only: the data went there
    expect(s.dataConnections).toBeGreaterThan(0);
    expect(readFileSync(join(local, "good.txt"), "utf8")).toBe("hello");
  });

  it("a remote folder that does not exist yet: made on the connection that found it missing, with one login", async () => {
    const { s, ws, local } = await setup({ listings: {} }, { direction: "upload" }, { maxConnections: 1 });
    writeFileSync(join(local, "a.txt"), "hello");
    const r = await runMeasured(ws, ["sync", "job", "--json"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(s.commands).toContain("MKD /job");
    expect(s.commands.filter((c) => c.startsWith("USER"))).toHaveLength(1);
  });

  it("a server that drops commands sent together: learnt, and from then on sent one at a time; the run succeeds and the next one starts that way", async () => {
    const { s, ws, local } = await setup(
      { listings: { "/job": "" }, dropPipelined: true },
      { direction: "upload" },
      { timeoutSeconds: 1, maxConnections: 1 },
    );
    writeFileSync(join(local, "a.txt"), "hello");
    const first = await runMeasured(ws, ["sync", "job", "--json"]);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.stdout + first.stderr).toMatch(/one command at a time/);
    expect(s.remoteFile("/job/a.txt")).toBe("hello");
    const logins = s.commands.filter((c) => c.startsWith("USER")).length;
    writeFileSync(join(local, "b.txt"), "world");
    const second = await runMeasured(ws, ["sync", "job", "--json"]);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(second.stdout + second.stderr).not.toMatch(/timeout/);
    expect(s.remoteFile("/job/b.txt")).toBe("world");
    // Remembered: the second run logged in once, one command at a time from the start.
    expect(s.commands.filter((c) => c.startsWith("USER")).length).toBe(logins + 1);
  });

  it("a wrong password: one USER, one PASS, exit 4, a clear message", async () => {
    const { s, ws } = await setup({ listings: { "/job": "" }, password: "the-right-one" }, { direction: "download" });
    const r = await runMeasured(ws, ["sync", "job", "--json"]);
    expect(r.code).toBe(4);
    expect(r.stdout + r.stderr).toMatch(/login refused for user "alice" \(530\)/);
    expect(s.commands.filter((c) => c.startsWith("USER"))).toHaveLength(1);
    expect(s.commands.filter((c) => c.startsWith("PASS"))).toHaveLength(1);
  });

  it("451 twice on RETR: retried, then the file arrives whole", async () => {
    const { s, ws, local } = await setup(
      { listings: { "/job": `type=file;size=5;${T}; good.txt\r\n` }, files: { "/job/good.txt": "hello" }, failures: [{ verb: "RETR", code: 451, times: 2 }] },
      { direction: "download" },
    );
    const r = await runMeasured(ws, ["sync", "job", "--json"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(s.commands.filter((c) => c.startsWith("RETR"))).toHaveLength(3);
    expect(readFileSync(join(local, "good.txt"), "utf8")).toBe("hello");
  });

  it("a 451 on MLSD is retried as MLSD, never by falling back to a plain LIST that hides dotfiles", async () => {
    const { s, ws, local } = await setup(
      { listings: { "/job": `type=file;size=5;${T}; .env\r\ntype=file;size=5;${T}; good.txt\r\n` }, files: { "/job/.env": "dots!", "/job/good.txt": "hello" }, failures: [{ verb: "MLSD", code: 451, times: 1 }] },
      { direction: "download" },
    );
    const r = await runMeasured(ws, ["sync", "job", "--json"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(s.commands.filter((c) => c.startsWith("LIST"))).toEqual([]);
    expect(s.commands.filter((c) => c.startsWith("MLSD"))).toHaveLength(2);
    expect(readdirSync(local).sort()).toEqual([".env", "good.txt"]);
  });

  it("450 on every RETR: bounded retries (no storm), failure reported, no file under the final name", async () => {
    const { s, ws, local } = await setup(
      { listings: { "/job": `type=file;size=5;${T}; good.txt\r\n` }, files: { "/job/good.txt": "hello" }, failures: [{ verb: "RETR", code: 450, times: 1000 }] },
      { direction: "download" },
    );
    const r = await runMeasured(ws, ["sync", "job", "--json"]);
    expect(r.code).toBe(1);
    expect(s.commands.filter((c) => c.startsWith("RETR"))).toHaveLength(3); // retries.attempts
    expect(readdirSync(local)).toEqual([]);
  });

  it("552 (out of space) on STOR stops the job at the first file", async () => {
    const { s, ws, local } = await setup(
      { listings: { "/job": "" }, failures: [{ verb: "STOR", code: 552, times: 1000 }] },
      { direction: "upload" },
      { maxConnections: 1 },
    );
    for (let i = 0; i < 5; i++) writeFileSync(join(local, `f${i}.txt`), `file ${i}`);
    const r = await runMeasured(ws, ["sync", "job", "--json"]);
    expect(r.code).toBe(1);
    // Stopped at the first 552: no file is started after it. The one connection carries two
    // calls at once (the pool's sharing), so a second STOR may already have been on its way.
    expect(s.commands.filter((c) => c.startsWith("STOR")).length).toBeLessThanOrEqual(2);
    expect(s.commands.some((c) => c.startsWith("RNTO"))).toBe(false);
  });

  it("425/426 on data commands are retried", async () => {
    const { s, ws, local } = await setup(
      {
        listings: { "/job": `type=file;size=5;${T}; good.txt\r\n` },
        files: { "/job/good.txt": "hello" },
        failures: [
          { verb: "MLSD", code: 425, times: 1 },
          { verb: "RETR", code: 426, times: 1 },
        ],
      },
      { direction: "download" },
    );
    const r = await runMeasured(ws, ["sync", "job", "--json"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // the failed MLSD is retried (list-tree.ts's withRetry) as MLSD again: the engine never falls
    // back to LIST, which hides dotfiles on most servers (see connectFtps's listCommand)
    expect(s.commands.filter((c) => /^(MLSD|LIST)/.test(c))).toEqual(["MLSD /job", "MLSD /job"]);
    expect(s.commands.filter((c) => c.startsWith("RETR"))).toHaveLength(2);
    expect(readFileSync(join(local, "good.txt"), "utf8")).toBe("hello");
  });
});

/** A certificate signed by a fresh CA, valid only in January 2020 (openssl ca -startdate/-enddate). */
function expiredCert(dir: string): { certPem: string; keyPem: string; caPath: string } {
  const o = (args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "pipe" });
  o(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=ftps-sync expired-test CA",
    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-keyout", "ca.key", "-out", "ca.crt"]);
  o(["req", "-new", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", "s.key", "-out", "s.csr"]);
  writeFileSync(join(dir, "index.txt"), "");
  writeFileSync(join(dir, "serial"), "01\n");
  writeFileSync(join(dir, "ca.cnf"), [
    "[ca]", "default_ca = d", "[d]", "database = index.txt", "new_certs_dir = .", "serial = serial", "default_md = sha256",
    "policy = p", "x509_extensions = ext", "[p]", "commonName = supplied", "[ext]", "basicConstraints = CA:FALSE",
    "subjectAltName = DNS:localhost,IP:127.0.0.1", "extendedKeyUsage = serverAuth", "",
  ].join("\n"));
  o(["ca", "-batch", "-config", "ca.cnf", "-cert", "ca.crt", "-keyfile", "ca.key", "-in", "s.csr", "-out", "s.crt",
    "-startdate", "20200101000000Z", "-enddate", "20200102000000Z", "-notext"]);
  return { certPem: readFileSync(join(dir, "s.crt"), "utf8"), keyPem: readFileSync(join(dir, "s.key"), "utf8"), caPath: join(dir, "ca.crt") };
}

// The refusals check.test.ts does not already prove on the wire.
describe("TLS refusals: the password is never sent", () => {
  const wire = async (opts: Parameters<typeof startScriptedServer>[0], remote: Record<string, unknown>) => {
    const s = await startScriptedServer(opts);
    const ws = makeWorkspace({ host: "127.0.0.1", port: s.port, user: "alice", password: "wire-secret-Zq81" }, remote);
    try {
      return { r: await ws.cli(["check"]), s };
    } finally {
      ws.cleanup();
      await s.stop();
    }
  };

  it("an expired certificate, even from a trusted CA", async () => {
    const c = expiredCert(testTempDir("expired"));
    const { r, s } = await wire({ mode: "explicit", cert: c.certPem, key: c.keyPem }, { ca: c.caPath, host: "localhost" });
    expect(r.code).toBe(4);
    expect(r.stdout + r.stderr).toMatch(/CERT_HAS_EXPIRED|expired/i);
    expect(s.passwordSeen()).toBe(false);
    expect(s.commands.some((x) => x.startsWith("USER"))).toBe(false);
  });

  it("an untrusted self-signed certificate without a pin", async () => {
    const c = await generateCert(testTempDir("selfsigned"), { name: "selfsigned" });
    const { r, s } = await wire({ mode: "explicit", cert: c.certPem, key: c.keyPem }, {});
    expect(r.code).toBe(4);
    expect(r.stdout).toMatch(/certificate not trusted/);
    expect(s.passwordSeen()).toBe(false);
  });

  it("AUTH TLS refused (534): closed before USER", async () => {
    const c = await generateCert(testTempDir("refuse"), { name: "refuse" });
    const { r, s } = await wire({ mode: "explicit", cert: c.certPem, key: c.keyPem, refuseAuthTls: true }, { fingerprint: c.fingerprint });
    expect(r.code).toBe(4);
    expect(r.stdout).toMatch(/refused AUTH TLS/);
    // the reply code once, not "534 534 ..."
    expect(r.stdout).toContain("the server refused AUTH TLS (534 Request denied for policy reasons)");
    // nothing but AUTH TLS (and possibly a plaintext QUIT) crossed the unencrypted connection
    expect(s.commands.filter((x) => x !== "AUTH TLS" && x !== "QUIT")).toEqual([]);
  });
});
