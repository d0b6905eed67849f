// The agent against a server that offers no HASH but the older XSHA256/XMD5 commands (Serv-U, IIS
// extensions, ProFTPD's mod_digest): verify "hash" and the two-way content comparison use them.
// The scripted hostile server records every command and can change a file's bytes in transit.
// (server-hash-proftpd.test.ts: the replies of a real implementation, ProFTPD's mod_digest.)
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
    // local-wins: the local file is sent over the server's (besides the two-way job's clock probe).
    expect(s.commands.filter((c) => c.startsWith("STOR /job/") && !c.includes("clock-probe"))).toHaveLength(1);
    expect(s.commands).toContain("RNTO /job/f.txt");
  });
});
