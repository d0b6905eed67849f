// Downloads that must not lie, against real servers whose folders the test writes directly (it
// plays the partner): a file rewritten with the same size and a time the listing shows by day
// only, a file rewritten while it is being downloaded, a resumed download whose first part changed.
import { readFileSync, unlinkSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureTestUser, serversAvailable, startServer, type RunningServer } from "../servers/real-servers.js";
import { makeWorkspace, type Workspace } from "../helpers/workspace.js";
import { writeTree } from "../helpers/trees.js";
import { lastJsonLine, type SyncJson } from "../helpers/sync-json.js";

const available = serversAvailable();
if (!available.vsftpd && process.env.CI) throw new Error(`real FTPS servers missing in CI: run scripts/fetch-servers.sh`);

describe.skipIf(!available.vsftpd && !process.env.CI)("downloads on vsftpd (LIST only: minute and day times)", () => {
  let server: RunningServer;
  let owner: { uid: number; gid: number };
  let ws: Workspace;
  let n = 0;
  const fresh = (job: Record<string, unknown> = {}) => {
    n++;
    const name = `job${n}`;
    const remoteDir = join(server.root, name);
    writeTree(server.root, { [`${name}/.keep-dir`]: "" }, owner);
    unlinkSync(join(remoteDir, ".keep-dir"));
    const local = ws.folder(`local${n}`);
    ws.writeJob(name, { remote: "srv", remotePath: `/${name}`, local, direction: "download", ...job });
    return { name, local, remoteDir };
  };
  const sync = async (name: string, ...flags: string[]): Promise<{ code: number | null; summary: SyncJson; stderr: string }> => {
    const r = await ws.cli(["sync", name, "--json", ...flags]);
    return { code: r.code, summary: lastJsonLine(r.stdout, r.stderr), stderr: r.stderr };
  };

  beforeAll(async () => {
    owner = await ensureTestUser();
    server = await startServer("vsftpd", { tls: "explicit" });
    ws = makeWorkspace(server, { fingerprint: server.fingerprint, maxConnections: 2 });
  });
  afterAll(async () => {
    ws?.cleanup();
    await server?.stop();
  });

  it("a file rewritten with the same size and a future time (listed by day only) is downloaded again", async () => {
    const { name, local, remoteDir } = fresh();
    const hourAgo = new Date(Date.now() - 3_600_000);
    writeTree(remoteDir, { "f.dat": "version one" }, owner, hourAgo);
    const first = await sync(name);
    expect(first.code, first.stderr).toBe(0);
    expect(first.summary.downloaded).toBe(1);

    // The partner rewrites it: same size, a time two minutes ahead. vsftpd lists a future time
    // as "Dec 05 2026", by day only; the state holds the old time to the minute.
    writeTree(remoteDir, { "f.dat": "version two" }, owner);
    const ahead = new Date(Date.now() + 120_000);
    utimesSync(join(remoteDir, "f.dat"), ahead, ahead);
    const second = await sync(name);
    expect(second.code, second.stderr).toBe(0);
    expect(second.summary.downloaded).toBe(1);
    expect(readFileSync(join(local, "f.dat"), "utf8")).toBe("version two");

    // Unchanged since: the exact time (MDTM) says so, and nothing is fetched again.
    const third = await sync(name);
    expect(third.code, third.stderr).toBe(0);
    expect(third.summary.downloaded).toBe(0);
  });
});
