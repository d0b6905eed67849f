// A partner edits the server's folder directly, between runs and during a run, while the user
// edits the local side: a two-way job must never overwrite or delete the partner's version.
import { existsSync, readdirSync, readFileSync, rmSync, utimesSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { requireServers, type RunningServer, type ServerKind } from "../servers/real-servers.js";
import { type Workspace } from "../helpers/workspace.js";
import { freshJobs, useServer } from "../helpers/server-fixture.js";
import { treeObject, writeTree } from "../helpers/trees.js";
import { syncJson as sync } from "../helpers/sync-json.js";

requireServers("vsftpd", "proftpd");

const KINDS: ServerKind[] = ["vsftpd", "proftpd"];

describe.each(KINDS)("a partner editing the server's folder of a two-way job on %s", (kind) => {
  let server: RunningServer;
  let owner: { uid: number; gid: number };
  let ws: Workspace;
  useServer(kind, { maxConnections: 2 }, (f) => ({ server, owner, ws } = f));
  const fresh = freshJobs(() => ({ server, ws, owner }), "job", { direction: "two-way", delete: "tracked" });

  it("a same-size edit on the server after our upload is seen and fetched", async () => {
    const { name, local, remoteDir } = fresh({});
    writeTree(local, { "p.txt": "price=100\n" });
    expect((await sync(ws, name)).code).toBe(0);
    expect(readFileSync(join(remoteDir, "p.txt"), "utf8")).toBe("price=100\n");

    // The partner's edit, same size, stamped two minutes before our upload (a `cp -p`, or a clock
    // behind ours): on a server without MFMT the listing shows another minute.
    writeTree(remoteDir, { "p.txt": "price=250\n" }, owner);
    const earlier = new Date(Date.now() - 120_000);
    utimesSync(join(remoteDir, "p.txt"), earlier, earlier);
    const seen = await sync(ws, name);
    expect(seen.code, seen.stderr).toBe(0);
    expect(seen.summary).toMatchObject({ downloaded: 1, uploaded: 0 });
    expect(readFileSync(join(local, "p.txt"), "utf8")).toBe("price=250\n");
    expect(readFileSync(join(remoteDir, "p.txt"), "utf8")).toBe("price=250\n");
  });

  it("a file the partner writes while our upload of the same name runs is not overwritten, and one edited before our deletion is not deleted", async () => {
    const { name, local, remoteDir } = fresh({ bandwidthLimit: "256KiB", maxDelete: 10 });
    writeTree(local, { "victim.txt": "ours, to be deleted" });
    expect((await sync(ws, name)).code).toBe(0);
    expect(existsSync(join(remoteDir, "victim.txt"))).toBe(true);

    // The next run uploads a 1 MiB file (about 4 s at the limit), then deletes victim.txt.
    rmSync(join(local, "victim.txt"));
    const big = Buffer.alloc(1024 * 1024, 7);
    writeTree(local, { "big.bin": big });
    const running = sync(ws, name);
    // The partner writes once our upload is under way: its temporary file is on the server.
    const uploading = () => readdirSync(remoteDir).some((f) => f.startsWith(".ftps-sync."));
    for (const end = Date.now() + 20_000; !uploading() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 10));
    expect(uploading(), "the upload never started").toBe(true);
    writeTree(remoteDir, { "big.bin": "the partner's big.bin", "victim.txt": "the partner's edit, longer than ours" }, owner);
    const r = await running;

    expect(readFileSync(join(remoteDir, "big.bin"), "utf8")).toBe("the partner's big.bin");
    expect(readFileSync(join(remoteDir, "victim.txt"), "utf8")).toBe("the partner's edit, longer than ours");
    expect(r.summary).toMatchObject({ uploaded: 0, deletedRemote: 0 });
    expect(r.stderr).toMatch(/big\.bin changed on the server during the run; not overwritten/);
    expect(r.stderr).toMatch(/victim\.txt changed on the server since it was listed; not deleted/);
    expect(Object.keys(treeObject(remoteDir)).filter((f) => f.includes(".ftps-sync."))).toEqual([]);

    // The next run keeps every version: the local big.bin and the partner's, the partner's victim.txt.
    const after = await sync(ws, name);
    expect(after.code, after.stderr).toBe(0);
    expect(treeObject(local)).toEqual(treeObject(remoteDir));
    const copy = readdirSync(local).find((f) => /^big\.conflict-.*-remote\.bin$/.test(f));
    expect(copy, readdirSync(local).join(", ")).toBeDefined();
    expect(readFileSync(join(local, copy!), "utf8")).toBe("the partner's big.bin");
    expect(readFileSync(join(local, "big.bin")).equals(big)).toBe(true);
    expect(readFileSync(join(local, "victim.txt"), "utf8")).toBe("the partner's edit, longer than ours");
  });
});
