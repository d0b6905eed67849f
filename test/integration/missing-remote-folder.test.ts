// A job whose remote folder does not exist (issue 24, item 7) on ProFTPD and Pure-FTPd, through
// the CLI (vsftpd: deletion-guards.test.ts): each server says "missing" its own way, and the agent
// must tell a missing folder from an empty one on each.
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { requireServers, type RunningServer, type ServerKind } from "../servers/real-servers.js";
import { type Workspace } from "../helpers/workspace.js";
import { useServer } from "../helpers/server-fixture.js";
import { treeObject, writeTree } from "../helpers/trees.js";
import { syncJson } from "../helpers/sync-json.js";

requireServers("proftpd", "pureftpd");

for (const kind of ["proftpd", "pureftpd"] as ServerKind[]) {
  describe(`a missing remote folder on ${kind}`, () => {
    let server: RunningServer;
    let ws: Workspace;
    let owner: { uid: number; gid: number };
    useServer(kind, { maxConnections: 2 }, (f) => ({ server, owner, ws } = f));
    let n = 0;
    const fresh = (job: Record<string, unknown>) => {
      const name = `missing${++n}`;
      const local = ws.folder(`local${n}`);
      ws.writeJob(name, { remote: "srv", remotePath: `/${name}`, local, retries: { attempts: 2, initialDelay: "50ms", maxDelay: "100ms" }, ...job });
      return { name, local, remoteDir: join(server.root, name) };
    };
    const sync = (job: string) => syncJson(ws, job);

    it("a two-way job at its first run: plan says it will create the folder, and the sync does", async () => {
      const { name, local, remoteDir } = fresh({ direction: "two-way" });
      writeTree(local, { "a.txt": "a", "sub/b.txt": "b" });
      const plan = await ws.cli(["plan", name]);
      expect(plan.code, plan.stderr).toBe(0);
      expect(plan.stdout).toMatch(new RegExp(`mkdir remote .*remote folder /${name} does not exist yet`));
      expect(existsSync(remoteDir)).toBe(false);
      const r = await sync(name);
      expect(r.code, r.stderr).toBe(0);
      expect(r.summary).toMatchObject({ status: "ok", uploaded: 2 });
      expect(treeObject(remoteDir)).toEqual(treeObject(local));
      expect((await sync(name)).summary).toMatchObject({ uploaded: 0, downloaded: 0 });
    });

    it("a download job: fails naming the folder and deletes nothing, at its first run and after the folder vanished", async () => {
      const { name, local, remoteDir } = fresh({ direction: "download", delete: "mirror", maxDelete: 100 });
      writeTree(local, { "mine.txt": "local only" });
      const untouched = treeObject(local);
      const first = await sync(name);
      expect(first.code, first.stderr).toBe(1);
      expect(first.summary.errors?.join("\n")).toMatch(new RegExp(`remote folder /${name} does not exist on the server: check the job's remotePath`));
      expect(treeObject(local)).toEqual(untouched);
      expect(existsSync(remoteDir)).toBe(false);

      // The folder appears, is synced from, then vanishes: the guard stops the run, every local file stays.
      writeTree(server.root, { [`${name}/theirs.txt`]: "from the server" }, owner);
      const synced = await sync(name);
      expect(synced.code, synced.stderr).toBe(0);
      expect(synced.summary).toMatchObject({ downloaded: 1 });
      const before = treeObject(local);
      rmSync(remoteDir, { recursive: true });
      const gone = await sync(name);
      expect(gone.code, gone.stderr).toBe(3);
      expect(gone.stderr).toMatch(new RegExp(`the remote folder /${name} is gone, but 1 files were synced from it`));
      expect(treeObject(local)).toEqual(before);
    });
  });
}
