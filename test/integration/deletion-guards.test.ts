// Deletion safety end to end, on a real server: the guards, per-path failures and a missing
// remote folder, as a user meets them through the CLI.
import { readdirSync, rmSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureTestUser, serversAvailable, startServer, type RunningServer } from "../servers/real-servers.js";
import { makeWorkspace, type Workspace } from "../helpers/workspace.js";
import { treeObject, writeTree } from "../helpers/trees.js";
import { lastJsonLine, type SyncJson } from "../helpers/sync-json.js";

const available = serversAvailable();
if (!available.vsftpd && process.env.CI) throw new Error(`vsftpd missing in CI (${available.reason ?? "unknown"}): run scripts/fetch-servers.sh`);

async function sync(ws: Workspace, job: string, ...flags: string[]): Promise<{ code: number | null; summary: SyncJson; stderr: string }> {
  const r = await ws.cli(["sync", job, "--json", ...flags]);
  return { code: r.code, summary: lastJsonLine(r.stdout, r.stderr), stderr: r.stderr };
}

describe.skipIf(!available.vsftpd)("deletion safety against vsftpd", () => {
  let server: RunningServer;
  let owner: { uid: number; gid: number };
  let ws: Workspace;
  let n = 0;
  /** A fresh remote and local folder per test (the remote one created unless `remoteMissing`). */
  const fresh = (job: Record<string, unknown>, opts: { remoteMissing?: boolean } = {}) => {
    n++;
    const name = `job${n}`;
    const remoteDir = join(server.root, name);
    if (!opts.remoteMissing) {
      writeTree(server.root, { [`${name}/.keep-dir`]: "" }, owner);
      unlinkSync(join(remoteDir, ".keep-dir"));
    }
    const local = ws.folder(`local${n}`);
    ws.writeJob(name, { remote: "srv", remotePath: `/${name}`, local, ...job });
    return { name, local, remoteDir };
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

  it("a local folder emptied of its files but keeping its folders stops an upload job with exit 3, maxDelete being a count, and the server keeps every file", async () => {
    const { name, local, remoteDir } = fresh({ direction: "upload", delete: "mirror", maxDelete: 100 });
    writeTree(local, { "a/one.txt": "1", "a/b/two.txt": "2", "c/three.txt": "3", "top.txt": "t" });
    expect((await sync(ws, name)).code).toBe(0);
    const before = treeObject(remoteDir);
    expect(Object.keys(before)).toHaveLength(4);
    for (const f of ["a/one.txt", "a/b/two.txt", "c/three.txt", "top.txt"]) rmSync(join(local, f));
    expect(readdirSync(local).sort()).toEqual(["a", "c"]);
    const r = await sync(ws, name);
    expect(r.code, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/local folder is empty.*--force/s);
    expect(r.summary).toMatchObject({ status: "aborted", deletedRemote: 0 });
    expect(treeObject(remoteDir)).toEqual(before);
  });
});
