// The agent against a server that offers no HASH but the older XSHA256/XMD5 commands (Serv-U, IIS
// extensions, ProFTPD's mod_digest): verify "hash" and the two-way content comparison use them.
// The scripted hostile server records every command and can change a file's bytes in transit;
// ProFTPD with mod_digest shows the replies of a real implementation.
import { createHash } from "node:crypto";
import { chownSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectFtps } from "../../src/ftps/connect.js";
import { chooseHashMethod, serverHash, type HashMethod } from "../../src/remote/server-hash.js";
import { Secret } from "../../src/secret.js";
import { ensureTestUser, serversAvailable, startServer, type RunningServer } from "../servers/real-servers.js";
import { lastJsonLine } from "../helpers/sync-json.js";
import { makeWorkspace, type Workspace } from "../helpers/workspace.js";
import { generateCert, type GeneratedCert } from "../servers/certs.js";
import { startHostileServer, type HostileOptions, type HostileServer } from "../servers/hostile-ftps.js";
import { testTempDir } from "../helpers/temp-dir.js";

const CONTENT = "the file's real bytes, 40 of them......\n";
const MODIFY = "20240101120000";
/** A listing of /job holding f.txt with CONTENT's size. */
const LISTING = { "/job": `type=file;size=${Buffer.byteLength(CONTENT)};modify=${MODIFY}; f.txt\r\n` };
/** FEAT as a server with MLSD but without HASH gives it. */
const NO_HASH_FEAT = ["UTF8", "SIZE", "MDTM", "REST STREAM", "MLST type*;size*;modify*;", "EPSV", "PASV", "AUTH TLS", "PBSZ", "PROT"];

describe("server hashes beyond HASH (XSHA256, XMD5)", () => {
  let cert: GeneratedCert;
  const open: { s: HostileServer; ws: Workspace }[] = [];
  beforeAll(async () => {
    cert = await generateCert(testTempDir("xhash-certs"), { name: "xhash" });
  });
  afterAll(async () => {
    for (const { s, ws } of open) {
      ws.cleanup();
      await s.stop();
    }
  });

  const setup = async (opts: Omit<HostileOptions, "cert" | "key">, job: Record<string, unknown>) => {
    const s = await startHostileServer({ cert: cert.certPem, key: cert.keyPem, features: NO_HASH_FEAT, ...opts });
    const ws = makeWorkspace({ host: "127.0.0.1", port: s.port, user: "alice", password: "xhash-pw-7Qa" }, { fingerprint: cert.fingerprint, timeoutSeconds: 5, maxConnections: 2 });
    open.push({ s, ws });
    const local = ws.folder("local");
    ws.writeJob("job", { remote: "srv", remotePath: "/job", local, retries: { attempts: 2, initialDelay: "50ms", maxDelay: "100ms" }, ...job });
    return { s, ws, local };
  };

  const sync = async (ws: Workspace) => {
    const r = await ws.cli(["sync", "job", "--json"]);
    return { r, json: lastJsonLine(r.stdout, r.stderr) };
  };

  it('verify "hash" catches an upload the server stored with other bytes of the same size, through XSHA256, and the next run sends it whole', async () => {
    const { s, ws, local } = await setup(
      { listings: { "/job": "" }, hashCommands: { commands: ["XSHA256", "XMD5"] }, corrupt: { verb: "STOR", times: 1 } },
      { direction: "upload", verify: "hash" },
    );
    writeFileSync(join(local, "f.txt"), CONTENT);

    const first = await sync(ws);
    expect(first.r.code, first.r.stdout + first.r.stderr).toBe(1);
    expect(first.json.errors?.join("\n")).toMatch(/SHA-256 \(XSHA256\) differs after transfer/);
    expect(s.commands.some((c) => c.startsWith("XSHA256 /job/"))).toBe(true);
    expect(s.commands.some((c) => c.startsWith("XMD5"))).toBe(false); // the strongest offered, only
    // The bad copy was never put in place, and its temporary file was removed at the run's end.
    expect(s.remoteFile("/job/f.txt")).toBeUndefined();
    expect([...s.uploads.keys()]).toEqual([]);

    const second = await sync(ws);
    expect(second.r.code, second.r.stdout + second.r.stderr).toBe(0);
    expect(s.remoteFile("/job/f.txt")).toBe(CONTENT);
  });

  it('verify "hash" catches a download that arrived with other bytes of the same size, through XSHA256, and keeps nothing of it', async () => {
    const { s, ws, local } = await setup(
      { listings: LISTING, files: { "/job/f.txt": CONTENT }, hashCommands: { commands: ["XSHA256"], code: 213 }, corrupt: { verb: "RETR", times: 1 } },
      { direction: "download", verify: "hash" },
    );
    const first = await sync(ws);
    expect(first.r.code, first.r.stdout + first.r.stderr).toBe(1);
    expect(first.json.errors?.join("\n")).toMatch(/SHA-256 \(XSHA256\) differs after transfer/);
    expect(s.commands).toContain("XSHA256 /job/f.txt");
    let kept: string | undefined;
    try {
      kept = readFileSync(join(local, "f.txt"), "utf8");
    } catch {
      kept = undefined;
    }
    expect(kept).toBeUndefined();

    const second = await sync(ws);
    expect(second.r.code, second.r.stdout + second.r.stderr).toBe(0);
    expect(readFileSync(join(local, "f.txt"), "utf8")).toBe(CONTENT);
  });

  it("a two-way compare of same-size files asks XSHA256 instead of downloading the file", async () => {
    const { s, ws, local } = await setup({ listings: LISTING, files: { "/job/f.txt": CONTENT }, hashCommands: { commands: ["XSHA256", "XMD5"] } }, { direction: "two-way" });
    writeFileSync(join(local, "f.txt"), CONTENT);
    const { r, json } = await sync(ws);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(s.commands).toContain("XSHA256 /job/f.txt");
    expect(s.commands.filter((c) => c.startsWith("RETR"))).toEqual([]);
    expect(json).toMatchObject({ uploaded: 0, downloaded: 0, conflicts: 0 });
    expect(readFileSync(join(local, "f.txt"), "utf8")).toBe(CONTENT);
  });

  it("a two-way compare whose XSHA256 differs is a conflict resolved by onConflict (local-wins: sent), still without a RETR to compare", async () => {
    const { s, ws, local } = await setup(
      { listings: LISTING, files: { "/job/f.txt": CONTENT }, hashCommands: { commands: ["XSHA256"], lie: true } },
      { direction: "two-way", onConflict: "local-wins" },
    );
    writeFileSync(join(local, "f.txt"), CONTENT);
    const { r, json } = await sync(ws);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(s.commands).toContain("XSHA256 /job/f.txt");
    expect(s.commands.filter((c) => c.startsWith("RETR"))).toEqual([]);
    expect(json.conflicts).toBe(1);
    // local-wins: the local file is sent over the server's.
    expect(s.commands.filter((c) => c.startsWith("STOR /job/"))).toHaveLength(1);
    expect(s.commands).toContain("RNTO /job/f.txt");
  });
});

const available = serversAvailable();
if (!available.proftpd && process.env.CI) throw new Error(`ProFTPD missing in CI (${available.reason ?? "unknown"}): run scripts/fetch-servers.sh`);

describe.skipIf(!available.proftpd)("ProFTPD's mod_digest answers as the agent reads it", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer("proftpd", { extraConfig: ["LoadModule mod_digest.c"] });
  });
  afterAll(async () => {
    await server?.stop();
  });

  // "x 0 3" is what an unquoted "XMD5 /x 0 3" would make mod_digest hash: bytes 0 to 3 of /x.
  const FILES = { "a.txt": "hello a.txt", "a b.txt": "hello a b.txt", "x 0 3": "hello x 0 3", x: "hello" };
  const METHODS: HashMethod[] = [
    { command: "XSHA256", algorithm: "SHA-256", nodeName: "sha256" },
    { command: "XSHA512", algorithm: "SHA-512", nodeName: "sha512" },
    { command: "XSHA1", algorithm: "SHA-1", nodeName: "sha1" },
    { command: "XSHA", algorithm: "SHA-1", nodeName: "sha1" },
    { command: "XMD5", algorithm: "MD5", nodeName: "md5" },
    { command: "HASH", algorithm: "SHA-256", nodeName: "sha256" },
    { command: "HASH", algorithm: "MD5", nodeName: "md5" },
  ];

  it("each X-command and HASH gives each file's own hash, names with spaces included", async () => {
    const { uid, gid } = await ensureTestUser();
    for (const [name, body] of Object.entries(FILES)) {
      writeFileSync(join(server.root, name), body);
      chownSync(join(server.root, name), uid, gid);
    }
    const c = await connectFtps({
      name: "srv", host: "localhost", port: server.port, tls: "explicit", user: server.user, password: new Secret(server.password),
      ca: server.certPem, maxConnections: 1, timeoutMs: 15_000, maxTlsVersion: "1.3",
    } as Parameters<typeof connectFtps>[0]);
    try {
      expect(c.capabilities.hashCommands).toEqual(["XSHA256", "XSHA512", "XSHA1", "XSHA", "XMD5"]);
      expect(chooseHashMethod(c.capabilities)).toMatchObject({ command: "HASH", algorithm: "SHA-256" });
      for (const m of METHODS) {
        for (const name of ["a.txt", "a b.txt", "x 0 3"] as const) {
          const expected = createHash(m.nodeName).update(FILES[name]).digest("hex");
          expect(await serverHash(c, `/${name}`, m), `${m.command} ${m.algorithm} /${name}`).toEqual({ algorithm: m.algorithm, hex: expected, command: m.command });
        }
      }
      // A file it will not hash (missing) is no answer, not an error.
      expect(await serverHash(c, "/missing.txt", METHODS[0])).toBeUndefined();
    } finally {
      c.close();
    }
  });
});
