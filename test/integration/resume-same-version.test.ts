// A transfer cut short is continued at the next run only while the part already sent or received
// is provably of the same version of the file: the partial-transfer row records the source's size
// and exact time when the transfer started. A source rewritten since with the same size but
// another time is sent or fetched whole again: continuing would splice two versions into one file.
// Against the scripted hostile server (no root, no real server), with the partial row and the
// part seeded as an interrupted run leaves them.
import { readFileSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempNameFor } from "../../src/local/temp-names.js";
import { openState } from "../../src/state/index.js";
import { makeWorkspace } from "../helpers/workspace.js";
import { generateCert, type GeneratedCert } from "../servers/certs.js";
import { startHostileServer, type HostileOptions } from "../servers/hostile-ftps.js";
import { testTempDir } from "../helpers/temp-dir.js";

/** The server's file: its listed time (MLSD, to the second) and two versions of the same size. */
const LISTED = "modify=20240101120000";
const LISTED_MS = Date.UTC(2024, 0, 1, 12, 0, 0);
const OLD = "old version, first half|old version, second half";
const NEW = "NEW VERSION, FIRST HALF|NEW VERSION, SECOND HALF";
const HALF = 24;

describe("an interrupted transfer is continued only from the same version of its source", () => {
  let cert: GeneratedCert;
  const cleanups: (() => Promise<void> | void)[] = [];
  beforeAll(async () => {
    expect(OLD.length).toBe(NEW.length);
    cert = await generateCert(testTempDir("resume-certs"), { name: "resume" });
  });
  afterAll(async () => {
    for (const c of cleanups) await c();
  });

  const setup = async (opts: Omit<HostileOptions, "cert" | "key">, direction: "upload" | "download") => {
    const s = await startHostileServer({ cert: cert.certPem, key: cert.keyPem, ...opts });
    const ws = makeWorkspace({ host: "127.0.0.1", port: s.port, user: "alice", password: "resume-pw-7Qx" }, { fingerprint: cert.fingerprint, timeoutSeconds: 5 });
    cleanups.push(() => ws.cleanup(), () => s.stop());
    const local = ws.folder("local");
    ws.writeJob("job", { remote: "srv", remotePath: "/job", local, direction, retries: { attempts: 2, initialDelay: "50ms", maxDelay: "100ms" } });
    return { s, ws, local };
  };

  /** Records a transfer of doc.txt as an interrupted run leaves it (the state database is created if new). */
  const seedPartial = (stateDir: string, direction: "upload" | "download", tempPath: string, sourceMtime: number) => {
    const state = openState(stateDir);
    try {
      state.partials.begin({ job: "job", path: "doc.txt", direction, tempPath, sourceSize: NEW.length, sourceMtime, startedAt: Date.now() });
    } finally {
      state.close();
    }
  };

  describe("download", () => {
    const run = async (partSourceMtime: number) => {
      const { s, ws, local } = await setup({ listings: { "/job": `type=file;size=${NEW.length};${LISTED}; doc.txt\r\n` }, files: { "/job/doc.txt": NEW } }, "download");
      const temp = join(local, tempNameFor("doc.txt"));
      // What the interrupted run received: the first half of the version it started on.
      writeFileSync(temp, (partSourceMtime === LISTED_MS ? NEW : OLD).slice(0, HALF));
      seedPartial(join(ws.dir, "state"), "download", temp, partSourceMtime);
      const r = await ws.cli(["sync", "job"]);
      return { r, s, content: readFileSync(join(local, "doc.txt"), "utf8") };
    };

    it("continues where the part ends when the server's file has the size and exact time the part was started from", async () => {
      const { r, s, content } = await run(LISTED_MS);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(s.commands).toContain(`REST ${HALF}`);
      expect(content).toBe(NEW);
    });

    it("fetches the file whole when the server's file has the same size but another time than the part was started from", async () => {
      const { r, s, content } = await run(LISTED_MS - 60_000);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(s.commands.filter((c) => c.startsWith("REST"))).toEqual([]);
      expect(content).toBe(NEW);
    });
  });

  describe("upload", () => {
    const LOCAL_MS = Date.UTC(2024, 5, 1, 8, 0, 0);
    const remoteTemp = `/job/${tempNameFor("doc.txt")}`;
    const run = async (partSourceMtime: number) => {
      const part = (partSourceMtime === LOCAL_MS ? NEW : OLD).slice(0, HALF);
      // What the interrupted run sent: the first half of the local version it started on.
      const { s, ws, local } = await setup({ listings: { "/job": "" }, files: { [remoteTemp]: part } }, "upload");
      writeFileSync(join(local, "doc.txt"), NEW);
      utimesSync(join(local, "doc.txt"), LOCAL_MS / 1000, LOCAL_MS / 1000);
      seedPartial(join(ws.dir, "state"), "upload", remoteTemp, partSourceMtime);
      const r = await ws.cli(["sync", "job"]);
      return { r, s, content: s.remoteFile("/job/doc.txt") };
    };

    it("appends to the part when the local file has the size and time the part was started from", async () => {
      const { r, s, content } = await run(LOCAL_MS);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(s.commands).toContain(`APPE ${remoteTemp}`);
      expect(content).toBe(NEW);
    });

    it("sends the file whole when the local file has the same size but another time than the part was started from", async () => {
      const { r, s, content } = await run(LOCAL_MS - 60_000);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(s.commands.filter((c) => c.startsWith("APPE"))).toEqual([]);
      expect(content).toBe(NEW);
    });
  });
});
