// Renames and names against the scripted hostile server: a server that refuses to rename over an
// existing file (and fails chosen renames), and listings with names no file system should get.
// The server records every command, so the tests see what the agent did on the wire.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeWorkspace, type Workspace } from "../helpers/workspace.js";
import { lastJsonLine, type SyncJson } from "../helpers/sync-json.js";
import { generateCert, type GeneratedCert } from "../servers/certs.js";
import { startHostileServer, type HostileOptions, type HostileServer } from "../servers/hostile-ftps.js";
import { testTempDir } from "../helpers/temp-dir.js";

const T = "modify=20240101120000";

describe("renames and names against a hostile FTPS server", () => {
  let cert: GeneratedCert;
  const open: { s: HostileServer; ws: Workspace }[] = [];
  beforeAll(async () => {
    cert = await generateCert(testTempDir("hostile-names-certs"), { name: "hostile" });
  });
  afterAll(async () => {
    for (const { s, ws } of open) {
      ws.cleanup();
      await s.stop();
    }
  });

  const setup = async (opts: Omit<HostileOptions, "cert" | "key">, job: Record<string, unknown>) => {
    const s = await startHostileServer({ cert: cert.certPem, key: cert.keyPem, ...opts });
    const ws = makeWorkspace({ host: "127.0.0.1", port: s.port, user: "alice", password: "hostile-pw-4Kd" }, { fingerprint: cert.fingerprint, timeoutSeconds: 5, maxConnections: 2 });
    open.push({ s, ws });
    const local = ws.folder("local");
    ws.writeJob("job", { remote: "srv", remotePath: "/job", local, retries: { attempts: 2, initialDelay: "50ms", maxDelay: "100ms" }, ...job });
    return { s, ws, local };
  };

  const sync = async (ws: Workspace): Promise<{ code: number | null; summary: SyncJson; out: string }> => {
    const r = await ws.cli(["sync", "job", "--json"]);
    return { code: r.code, summary: lastJsonLine(r.stdout, r.stderr), out: r.stdout + r.stderr };
  };

  /** A server holding /job/a.txt ("old"), and a newer local a.txt to upload over it. */
  const replacing = async (opts: Partial<HostileOptions>) => {
    const env = await setup(
      { listings: { "/job": `type=file;size=3;${T}; a.txt\r\n` }, files: { "/job/a.txt": "old" }, refuseOverwrite: true, ...opts },
      { direction: "upload" },
    );
    writeFileSync(join(env.local, "a.txt"), "new version");
    return env;
  };
  const tempsLeft = (s: HostileServer) => [...s.uploads.keys()].filter((p) => p.includes(".ftps-sync."));

  describe("a server that refuses to rename over an existing file", () => {
    it("gets the new version in place and the old one removed after, never by deleting the target first", async () => {
      const { s, ws } = await replacing({});
      const r = await sync(ws);
      expect(r.code, r.out).toBe(0);
      expect(s.remoteFile("/job/a.txt")).toBe("new version");
      expect(tempsLeft(s)).toEqual([]);
      expect(s.commands).not.toContain("DELE /job/a.txt");
    });

    it("an old version moved aside that cannot be deleted is reported, and the new one is in place", async () => {
      const { s, ws } = await replacing({ failures: [{ verb: "DELE", code: 550, times: 1 }] });
      const r = await ws.cli(["sync", "job", "--json"]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(s.remoteFile("/job/a.txt")).toBe("new version");
      const aside = tempsLeft(s);
      expect(aside).toHaveLength(1);
      expect(s.remoteFile(aside[0])).toBe("old");
      expect(r.stderr).toContain(`/job/a.txt is in place, but the old version moved aside as ${aside[0]} could not be deleted`);
    });

    it("a refused rename into place (after the old file went aside) puts the old one back: old kept, temporary file gone, reported", async () => {
      // RNTO 1: temp -> a.txt, refused (exists); RNTO 2: a.txt -> aside, allowed; RNTO 3: temp -> a.txt, fails.
      const { s, ws } = await replacing({ failures: [{ verb: "RNTO", code: 553, after: 2, times: 1 }] });
      const r = await sync(ws);
      expect(r.code, r.out).toBe(1);
      expect(s.remoteFile("/job/a.txt")).toBe("old");
      expect(tempsLeft(s)).toEqual([]);
      expect(r.summary.errors?.join("\n")).toMatch(/a\.txt.*refused to put the new version in place.*the old version is kept/);
    });

    it("a second refused rename after the first: the old file stays and the temporary one goes (both copies were lost before)", async () => {
      const { s, ws } = await replacing({ failures: [{ verb: "RNTO", code: 553, after: 1, times: 1 }] });
      const r = await sync(ws);
      expect(r.code, r.out).toBe(1);
      expect(s.remoteFile("/job/a.txt")).toBe("old");
      expect(tempsLeft(s)).toEqual([]);
      expect(r.summary.errors?.join("\n")).toMatch(/refused to put the new version in place/);
      // the next run tries again, and with the server willing this time, the new version lands
      const again = await sync(ws);
      expect(again.code, again.out).toBe(0);
      expect(s.remoteFile("/job/a.txt")).toBe("new version");
      expect(tempsLeft(s)).toEqual([]);
    });
  });

  describe("names no file system or terminal should get", () => {
    const UNSAFE = ["esc\x1b[31mred.txt", "bell\x07.txt", "del\x7f.txt", "c1\x9b.txt", "nel\x85.txt", "invoice\u202etxt.exe", "iso\u2066late.txt"];
    /** Raw control or bidi characters in the output: a name reached the terminal unescaped. */
    const RAW = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/;

    it("are skipped with a warning that names them escaped, and a name with a line break is never cut short", async () => {
      const line = (n: string, size = 5) => `type=file;size=${size};${T}; ${n}`;
      const listings = { "/job": [line("good.txt"), line("gone.txt"), ...UNSAFE.map((n) => line(n)), line("bad\nname.txt"), line("z.txt")].join("\r\n") + "\r\n" };
      const { s, ws, local } = await setup(
        { listings, files: { "/job/good.txt": "hello", "/job/gone.txt": "bye!!", "/job/z.txt": "zzzzz", "/job/bad": "trunc" } },
        { direction: "download", delete: "mirror", maxDelete: 100 },
      );
      const r = await sync(ws);
      expect(r.code, r.out).toBe(0);
      expect(readdirSync(local).sort()).toEqual(["gone.txt", "good.txt", "z.txt"]);
      expect(s.commands.filter((c) => c.startsWith("RETR")).sort()).toEqual(["RETR /job/gone.txt", "RETR /job/good.txt", "RETR /job/z.txt"]);
      const warnings = (r.summary.warnings ?? []).join("\n");
      for (const escaped of ["esc\\x1b[31mred.txt", "bell\\x07.txt", "del\\x7f.txt", "c1\\x9b.txt", "nel\\x85.txt", "invoice\\u202etxt.exe", "iso\\u2066late.txt", "bad\\x0aname.txt"]) {
        expect(warnings).toContain(`"${escaped}"`);
      }
      expect(RAW.test(r.out), JSON.stringify(r.out.match(RAW))).toBe(false);

      // The skipped names block nothing: a file gone from the server is still deleted here.
      listings["/job"] = listings["/job"].replace(line("gone.txt") + "\r\n", "");
      const again = await sync(ws);
      expect(again.code, again.out).toBe(0);
      expect(again.summary).toMatchObject({ deletedLocal: 1, failed: 0 });
      expect(readdirSync(local).sort()).toEqual(["good.txt", "z.txt"]);
      expect(again.summary.warnings?.length).toBe(UNSAFE.length + 1);
    });

    it("a local name with a control character is skipped with an escaped warning, and not uploaded", async () => {
      const { s, ws, local } = await setup({ listings: { "/job": "" } }, { direction: "upload" });
      writeFileSync(join(local, "ok.txt"), "fine");
      writeFileSync(join(local, "esc\x1b]0;title\x07.txt"), "no");
      writeFileSync(join(local, "rtl\u202egpj.exe"), "no");
      const r = await sync(ws);
      expect(r.code, r.out).toBe(0);
      expect(s.commands.filter((c) => c.startsWith("STOR")).map((c) => c.replace(/\.ftps-sync\.(.*)\.[0-9a-f]{8}\.part$/, "$1"))).toEqual(["STOR /job/ok.txt"]);
      expect(r.summary.warnings?.join("\n")).toContain('"esc\\x1b]0;title\\x07.txt"');
      expect(r.summary.warnings?.join("\n")).toContain('"rtl\\u202egpj.exe"');
      expect(RAW.test(r.out)).toBe(false);
    });
  });

  describe("names that differ only in Unicode normalisation", () => {
    const NFC = "caf\u00e9.txt";
    const NFD = "cafe\u0301.txt";

    it("on the server: a conflict naming both at every run; neither is synced or deleted, the rest of the job goes on", async () => {
      const line = (n: string, size: number) => `type=file;size=${size};${T}; ${n}`;
      const listings = { "/job": [line(NFC, 3), line("other.txt", 5)].join("\r\n") + "\r\n" };
      const { s, ws, local } = await setup(
        { listings, files: { [`/job/${NFC}`]: "nfc", [`/job/${NFD}`]: "the nfd one", "/job/other.txt": "other" } },
        { direction: "download", delete: "mirror", maxDelete: 100 },
      );
      expect((await sync(ws)).code).toBe(0);
      expect(readFileSync(join(local, NFC), "utf8")).toBe("nfc");

      // A twin appears beside it; other.txt goes.
      listings["/job"] = [line(NFC, 3), line(NFD, 11)].join("\r\n") + "\r\n";
      const retrs = s.commands.filter((c) => c.startsWith("RETR")).length;
      for (let run = 0; run < 2; run++) {
        const r = await sync(ws);
        expect(r.code, r.out).toBe(0);
        expect(r.summary.status).toBe("ok");
        expect(r.summary.warnings?.join("\n")).toMatch(/two remote names in \/job differ only in Unicode normalisation: .*\(cafe\\u0301\.txt\) and .*\(caf\\u00e9\.txt\); neither is synced or deleted/);
        expect(readdirSync(local).sort()).toEqual([NFC]);
        expect(readFileSync(join(local, NFC), "utf8")).toBe("nfc");
        expect(s.commands.filter((c) => c.startsWith("RETR")).length).toBe(retrs);
      }
    });

    it("on disk: neither twin is uploaded, nothing is deleted on the server, the rest is uploaded", async () => {
      const { s, ws, local } = await setup(
        { listings: { "/job": `type=file;size=3;${T}; ${NFC}\r\n` }, files: { [`/job/${NFC}`]: "old" } },
        { direction: "upload", delete: "mirror", maxDelete: 100 },
      );
      writeFileSync(join(local, NFC), "local nfc");
      writeFileSync(join(local, NFD), "local nfd");
      writeFileSync(join(local, "plain.txt"), "plain");
      const r = await sync(ws);
      expect(r.code, r.out).toBe(0);
      expect(r.summary.warnings?.join("\n")).toMatch(/two local names in .* differ only in Unicode normalisation/);
      expect(s.commands.filter((c) => /^(STOR|DELE|RNTO)/.test(c) && !c.includes("plain.txt"))).toEqual([]);
      expect(s.remoteFile(`/job/${NFC}`)).toBe("old");
      expect(s.remoteFile("/job/plain.txt")).toBe("plain");
    });
  });
});
