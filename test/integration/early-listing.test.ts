// The first listing of a run sent in the login's own write (src/protocol/early-listing.ts), against
// the scripted hostile server, which answers whatever it is sent (EPSV and MLSD after a refused
// login or PROT P included) and counts the data connections made to it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Logger } from "../../src/log.js";
import { FtpsFolder } from "../../src/protocol/ftps-folder.js";
import { Secret } from "../../src/secret.js";
import { generateCert, type GeneratedCert } from "../servers/certs.js";
import { startHostileServer, type HostileOptions, type HostileServer } from "../servers/hostile-ftps.js";
import { testTempDir } from "../helpers/temp-dir.js";

const T = "modify=20240101120000";
const JOB = `type=file;size=5;${T}; a.txt\r\ntype=dir;${T}; sub\r\n`;
const SUB = `type=file;size=3;${T}; b.txt\r\n`;

describe("the first listing sent with the login", () => {
  let cert: GeneratedCert;
  const servers: HostileServer[] = [];
  beforeAll(async () => {
    cert = await generateCert(testTempDir("early-listing-certs"), { name: "hostile" });
  });
  afterAll(async () => {
    for (const s of servers) await s.stop();
  });

  const start = async (opts: Omit<HostileOptions, "cert" | "key">) => {
    const s = await startHostileServer({ cert: cert.certPem, key: cert.keyPem, ...opts });
    servers.push(s);
    return s;
  };

  /** A folder as a run opens it: the root's listing asked for first; its log lines and what it remembers. */
  const folderOn = (s: HostileServer, known: Record<string, string> = {}, password = "pw-7Hq") => {
    const warnings: string[] = [];
    /** Each write on the control connections ("> USER alice | PASS ### | ..."). */
    const writes: string[] = [];
    const logger = {
      warn: (m: string) => void warnings.push(m),
      info: () => {},
      debug: (m: string) => void (/\] > /.test(m) && writes.push(m.slice(m.indexOf("] > ") + 4))),
      isDebugEnabled: () => true,
    } as unknown as Logger;
    const folder = new FtpsFolder(
      { name: "srv", host: "127.0.0.1", port: s.port, tls: "explicit", user: "alice", password: new Secret(password), fingerprint: cert.fingerprint, maxConnections: 1, timeoutMs: 5_000, maxTlsVersion: "1.3" },
      logger,
    );
    Object.assign(folder.techniques.known, known);
    const turnedOff: string[] = [];
    folder.techniques.onTurnedOff = (technique) => void turnedOff.push(technique);
    folder.listSoon("/job");
    const loginWrite = () => writes.find((w) => w.startsWith("USER "));
    const list = () => folder.listTree("/job", { accept: () => true, retry: { attempts: 2, initialDelayMs: 10, maxDelayMs: 10 }, logger });
    return { folder, warnings, writes, turnedOff, loginWrite, list };
  };

  it("goes out in the login's write, and the listing is the folder's, on one data connection per folder", async () => {
    const s = await start({ listings: { "/job": JOB, "/job/sub": SUB } });
    const { folder, loginWrite, writes, list } = folderOn(s);
    try {
      await folder.open();
      const listed = await list();
      expect([...listed.entries.keys()].sort()).toEqual(["a.txt", "sub", "sub/b.txt"]);
      expect(loginWrite()).toBe("USER alice | PASS ### | FEAT | TYPE I | OPTS UTF8 ON | OPTS MLST type;size;modify;unix.mode; | PBSZ 0 | PROT P | EPSV | MLSD /job");
      expect(writes.filter((w) => w.includes("MLSD /job") && !w.includes("/job/"))).toHaveLength(1);
      expect(s.dataConnections).toBe(2);
    } finally {
      await folder.close();
    }
  });

  // The server's replies to the login and the passive port come in one read: the data connection
  // would be opened at once, but for the login's replies checked first.
  it("a refused login opens no data connection, though the server offered a port and started the listing", async () => {
    const s = await start({ listings: { "/job": JOB }, password: "the-right-one", batchLoginReplies: true });
    const { folder } = folderOn(s);
    try {
      await expect(folder.open()).rejects.toThrow(/login refused for user "alice" \(530\)/);
      expect(s.commands).toContain("MLSD /job");
      expect(s.dataConnections).toBe(0);
    } finally {
      await folder.close();
    }
  });

  it("a refused PROT P opens no data connection: closed before any, though the server offered a clear one", async () => {
    const s = await start({ listings: { "/job": JOB }, failures: [{ verb: "PROT", code: 534, times: 5 }], batchLoginReplies: true });
    const { folder } = folderOn(s);
    try {
      await expect(folder.open()).rejects.toThrow(/refused to protect the data channel .*closed before any data connection was opened/);
      expect(s.commands).toContain("MLSD /job");
      expect(s.dataConnections).toBe(0);
    } finally {
      await folder.close();
    }
  });

  it("a server that refuses the listing sent with the login: listed again after it, remembered, said once; the next login sends none", async () => {
    const s = await start({ listings: { "/job": JOB, "/job/sub": SUB }, failures: [{ verb: "MLSD", code: 503, times: 1 }] });
    const first = folderOn(s);
    try {
      await first.folder.open();
      const listed = await first.list();
      expect([...listed.entries.keys()].sort()).toEqual(["a.txt", "sub", "sub/b.txt"]);
      expect(listed.failedDirs ?? []).toEqual([]);
      expect(first.turnedOff).toEqual(["listInLogin"]);
      expect(first.warnings.filter((w) => /listing sent with the login/.test(w))).toHaveLength(1);
    } finally {
      await first.folder.close();
    }
    const again = folderOn(s, { listInLogin: "remembered" });
    try {
      await again.folder.open();
      expect([...(await again.list()).entries.keys()].sort()).toEqual(["a.txt", "sub", "sub/b.txt"]);
      expect(again.loginWrite()).toBe("USER alice | PASS ### | FEAT | TYPE I | OPTS UTF8 ON | OPTS MLST type;size;modify;unix.mode; | PBSZ 0 | PROT P");
      expect(again.warnings).toEqual([]);
    } finally {
      await again.folder.close();
    }
  });

  it("what the listing sent with the login learns (EPSV refused, PASV naming another host) is remembered as any listing's would be", async () => {
    const s = await start({ listings: { "/job": JOB, "/job/sub": SUB }, pasvHost: "198.51.100.7" });
    const { folder, turnedOff, warnings, loginWrite, list } = folderOn(s);
    try {
      await folder.open();
      expect([...(await list()).entries.keys()].sort()).toEqual(["a.txt", "sub", "sub/b.txt"]);
      expect(loginWrite()).toMatch(/\| EPSV \| MLSD \/job$/);
      expect(turnedOff.sort()).toEqual(["epsv", "pasvAddress"]);
      expect(warnings.filter((w) => /PASV replies name 198\.51\.100\.7/.test(w))).toHaveLength(1);
    } finally {
      await folder.close();
    }
  });

  it("a LIST-only server (its FEAT has no MLST) that refuses MLSD at first contact: no data connection for it, LIST after, remembered; the next login lists with LIST", async () => {
    const features = ["UTF8", "SIZE", "MDTM", "EPSV", "PASV", "AUTH TLS", "PBSZ", "PROT"];
    const unix = "-rw-r--r--   1 u g        5 Jan  1  2024 a.txt\r\n";
    const s = await start({ listings: { "/job": unix }, features, failures: [{ verb: "MLSD", code: 500, times: 1 }] });
    const first = folderOn(s);
    try {
      await first.folder.open();
      expect([...(await first.list()).entries.keys()]).toEqual(["a.txt"]);
      expect(first.loginWrite()).toMatch(/\| EPSV \| MLSD \/job$/);
      expect(s.commands).toContain("LIST -a /job");
      // The refused MLSD's port was never connected to: one data connection, LIST's.
      expect(s.dataConnections).toBe(1);
      expect(first.turnedOff).toEqual(["mlsd"]);
      expect(first.warnings.filter((w) => /no MLSD/.test(w))).toHaveLength(1);
    } finally {
      await first.folder.close();
    }
    const again = folderOn(s, { mlsd: "remembered" });
    try {
      await again.folder.open();
      expect([...(await again.list()).entries.keys()]).toEqual(["a.txt"]);
      expect(again.loginWrite()).toMatch(/\| PROT P \| EPSV \| LIST -a \/job$/);
      expect(s.dataConnections).toBe(2);
    } finally {
      await again.folder.close();
    }
  });
});
