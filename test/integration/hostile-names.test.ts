// Renames and names against the scripted hostile server: a server that refuses to rename over an
// existing file (and fails chosen renames), and listings with names no file system should get.
// The server records every command, so the tests see what the agent did on the wire.
import { readdirSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
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
});
