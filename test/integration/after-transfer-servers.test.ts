// afterTransfer and the file filters on the real servers (vsftpd, ProFTPD, Pure-FTPd), each behind
// the fault proxy (test/faults/proxy.ts): a partner pickup (download, minAge, delete after
// download), a partner drop (upload, done marker, archive after upload), a download cut part-way on
// every attempt (never deleted from the server), and every connection reset while a file is being
// moved into the archive on the server: nothing is lost.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { silentLogger } from "../../src/log.js";
import { FtpsFolder } from "../../src/protocol/ftps-folder.js";
import type { RemoteFolder } from "../../src/remote/remote-folder.js";
import { openState } from "../../src/state/index.js";
import { runJob } from "../../src/sync/run-job.js";
import { prng, put, randomBytesFrom, startRig, type Rig } from "../faults/harness.js";
import { requireServers, type ServerKind } from "../servers/real-servers.js";

requireServers("vsftpd", "proftpd", "pureftpd");

/** Every file below `root` (folders left out): path -> text. */
function files(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(root)) return out;
  for (const rel of readdirSync(root, { recursive: true, encoding: "utf8" }).sort()) {
    const abs = join(root, rel);
    try {
      out[rel] = readFileSync(abs, "utf8");
    } catch {
      // a folder
    }
  }
  return out;
}

/** Runs the job once in this process over an FTPS folder; `wrap` may stand between the run and the server. */
async function runOnce(rig: Rig, job: string, wrap?: (f: FtpsFolder) => RemoteFolder) {
  const { config } = loadConfig(rig.ws.configPath, { env: rig.ws.env });
  const state = openState(config.stateDir);
  const folder = new FtpsFolder(config.remotes.srv, silentLogger());
  try {
    return await runJob(config, state, job, { logger: silentLogger(), remote: wrap ? wrap(folder) : folder });
  } finally {
    await folder.close();
    state.close();
  }
}

/** The folder, with each rename into the archive followed `afterMs` later by a reset of every connection. */
function resetDuringArchiveMoves(rig: Rig, afterMs: number, moves: string[]): (f: FtpsFolder) => RemoteFolder {
  return (f) =>
    new Proxy(f, {
      get(target, prop) {
        if (prop === "rename") {
          return (from: string, to: string, size?: number) => {
            const moving = target.rename(from, to, size);
            if (to.includes("/archive/")) {
              moves.push(to);
              setTimeout(() => rig.proxy.resetAll(), afterMs);
            }
            return moving;
          };
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
}

describe.each(["vsftpd", "proftpd", "pureftpd"] as ServerKind[])("afterTransfer and filters on %s", (kind) => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({ kind, timeoutSeconds: 5 });
  });
  afterAll(async () => {
    await rig?.stop();
  });

  it("a partner pickup: download, minAge 2 minutes, delete after download; the next run (delete=mirror) keeps the local copies", async () => {
    const j = rig.job(`pickup-${kind}`, { direction: "download", minAge: "2m", afterTransfer: "delete", delete: "mirror" });
    put(j.remoteDir, "old.csv", "ready", rig.owner, Date.now() - 3_600_000);
    put(j.remoteDir, "in/old2.csv", "ready too", rig.owner, Date.now() - 3_600_000);
    put(j.remoteDir, "writing.csv", "half", rig.owner);
    const s = await runOnce(rig, j.name);
    expect(s, s.errors.join("\n")).toMatchObject({ status: "ok", downloaded: 2, failed: 0 });
    expect(files(j.local)).toEqual({ "old.csv": "ready", "in/old2.csv": "ready too" });
    expect(files(j.remoteDir)).toEqual({ "writing.csv": "half" });

    const again = await runOnce(rig, j.name);
    expect(again).toMatchObject({ status: "ok", downloaded: 0, deletedLocal: 0, failed: 0 });
    expect(files(j.local)).toEqual({ "old.csv": "ready", "in/old2.csv": "ready too" });
  }, 60_000);

  it("a partner drop: upload, a done marker, archive after upload; the archive is never uploaded", async () => {
    const j = rig.job(`drop-${kind}`, { direction: "upload", doneMarker: "_DONE", afterTransfer: { archive: "sent" }, delete: "mirror" });
    put(j.local, "a.txt", "alpha");
    put(j.local, "sub/b.txt", "bravo");
    const s = await runOnce(rig, j.name);
    expect(s, s.errors.join("\n")).toMatchObject({ status: "ok", uploaded: 2, failed: 0 });
    expect(files(j.local)).toEqual({ "sent/a.txt": "alpha", "sent/sub/b.txt": "bravo" });
    const remote = files(j.remoteDir);
    expect(remote).toMatchObject({ "a.txt": "alpha", "sub/b.txt": "bravo" });
    expect(Object.keys(remote).sort()).toEqual(["_DONE", "a.txt", "sub/b.txt"]);

    const again = await runOnce(rig, j.name);
    expect(again).toMatchObject({ status: "ok", uploaded: 0, deletedRemote: 0, failed: 0 });
    expect(Object.keys(files(j.remoteDir)).sort()).toEqual(["_DONE", "a.txt", "sub/b.txt"]);
  }, 60_000);

  it("a download whose every data connection is reset part-way is never deleted from the server; the next run fetches it whole and deletes it", async () => {
    const j = rig.job(`partial-${kind}`, { direction: "download", afterTransfer: "delete" });
    // Bigger than what the retries resume to (4 attempts of 100 000 bytes each, REST).
    const big = randomBytesFrom(prng(7), 2_000_000);
    put(j.remoteDir, "big.bin", big, rig.owner, Date.now() - 60_000);
    rig.proxy.faultFor = (c) => (c.kind === "data" ? { kind: "reset", afterBytes: 100_000 } : undefined);
    let cut;
    try {
      cut = await runOnce(rig, j.name);
    } finally {
      rig.proxy.disarm();
    }
    expect(cut).toMatchObject({ status: "failed", downloaded: 0 });
    expect(readFileSync(join(j.remoteDir, "big.bin")).equals(big)).toBe(true);
    expect(existsSync(join(j.local, "big.bin"))).toBe(false);

    expect(await runOnce(rig, j.name)).toMatchObject({ status: "ok", downloaded: 1, failed: 0 });
    expect(readFileSync(join(j.local, "big.bin")).equals(big)).toBe(true);
    expect(existsSync(join(j.remoteDir, "big.bin"))).toBe(false);
  }, 90_000);

  it.each([0, 15, 60])("every connection reset %i ms into each move to the archive on the server: nothing lost, each file archived once", async (afterMs) => {
    const j = rig.job(`cut-${kind}-${afterMs}`, { direction: "download", afterTransfer: { archive: "archive" } });
    const want: Record<string, string> = {};
    for (let i = 0; i < 4; i++) {
      want[`f${i}.txt`] = `file ${i} `.repeat(50);
      put(j.remoteDir, `f${i}.txt`, want[`f${i}.txt`], rig.owner, Date.now() - 60_000);
    }
    const moves: string[] = [];
    const cut = await runOnce(rig, j.name, resetDuringArchiveMoves(rig, afterMs, moves));
    expect(moves.length).toBeGreaterThanOrEqual(4);
    // Whatever the cut did, nothing is lost: each file is on the server where it was or in the
    // archive, and a file on local is whole. (A run whose every move is cut may give up before it
    // has fetched every file: the next run fetches the rest.)
    const during = files(j.remoteDir);
    const fetched = files(j.local);
    for (const [name, text] of Object.entries(want)) {
      expect([during[name], during[`archive/${name}`]]).toContain(text);
      if (fetched[name] !== undefined) expect(fetched[name]).toBe(text);
    }
    expect(Object.keys(fetched).every((name) => name in want)).toBe(true);

    const clean = await runOnce(rig, j.name);
    expect(clean.status, [...cut.errors, ...clean.errors].join("\n")).toBe("ok");
    expect(files(j.local)).toEqual(want);
    expect(files(j.remoteDir)).toEqual(Object.fromEntries(Object.entries(want).map(([n, t]) => [`archive/${n}`, t])));
  }, 90_000);
});
