import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, symlinkSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { requireServers, type RunningServer } from "../servers/real-servers.js";
import { type Workspace } from "../helpers/workspace.js";
import { useServer } from "../helpers/server-fixture.js";
import { makeServerFolder, treeObject, writeTree } from "../helpers/trees.js";
import { lastJsonLine } from "../helpers/sync-json.js";
import type { CliResult } from "../helpers/cli.js";

requireServers("vsftpd");

/**
 * Issue 19: a file or folder swapped for a symlink while a run is under way must not send a
 * secret from outside the job folder, write there, or delete there. The swap is made at the right
 * moment by watching for the temporary file of a slow transfer (bandwidthLimit, one connection:
 * the files go one after the other, in path order) that comes before the target.
 */
describe("local symlinks swapped in during a run (vsftpd)", () => {
  let server: RunningServer;
  let owner: { uid: number; gid: number };
  let ws: Workspace;
  useServer("vsftpd", { maxConnections: 1 }, (f) => ({ server, owner, ws } = f));
  let n = 0;

  /** A fresh remote folder, local folder and "outside" folder per test. */
  const fresh = (job: Record<string, unknown>) => {
    n++;
    const name = `links${n}`;
    const remoteDir = makeServerFolder(server.root, name, owner);
    const local = ws.folder(`local${n}`);
    const outside = ws.folder(`outside${n}`);
    // About 3 s at 512 KiB/s: the window in which the swap is made.
    ws.writeJob(name, { remote: "srv", remotePath: `/${name}`, local, bandwidthLimit: 512 * 1024, retries: { attempts: 1 }, ...job });
    return { name, local, remoteDir, outside };
  };

  /**
   * Resolves once a temporary file named after `base` shows up in `dir` (the slow transfer is
   * under way); fails, with the run's output, if the run ends first or nothing shows up in 20 s.
   */
  async function transferUnderWay(run: Promise<CliResult>, dir: string, base: string): Promise<void> {
    let ended: CliResult | undefined;
    void run.then((r) => (ended = r));
    const deadline = Date.now() + 20_000;
    while (!(existsSync(dir) && readdirSync(dir).some((f) => f.startsWith(`.ftps-sync.${base}.`)))) {
      if (ended) throw new Error(`the run ended before ${base} was under way: ${ended.stderr}`);
      if (Date.now() > deadline) throw new Error(`no temporary file for ${base} in ${dir} within 20 s`);
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  it("does not upload a secret outside the job folder when a file, or its folder, is swapped for a symlink after the scan", async () => {
    const { name, local, remoteDir, outside } = fresh({ direction: "upload" });
    // Three slow files: a connection to vsftpd takes three calls at once (the pool shares it, the
    // next transfer written during the current one), so b.txt and sub/c.txt are opened only once
    // one of them is done, after the swap.
    writeTree(local, {
      "a-slow.bin": randomBytes(1536 * 1024),
      "a-slow2.bin": randomBytes(1536 * 1024),
      "a-slow3.bin": randomBytes(1536 * 1024),
      "b.txt": "public b",
      "sub/c.txt": "public c",
    });
    writeTree(outside, { "secret.key": "PRIVATE KEY of the host", "dir/c.txt": "PASSWORDS of the host" });

    const run = ws.cli(["sync", name, "--json"]);
    await transferUnderWay(run, remoteDir, "a-slow.bin");
    // The scan saw b.txt and sub/c.txt; now they lead to the host's secrets.
    renameSync(join(local, "b.txt"), join(outside, "b.was"));
    symlinkSync(join(outside, "secret.key"), join(local, "b.txt"));
    renameSync(join(local, "sub"), join(outside, "sub.was"));
    symlinkSync(join(outside, "dir"), join(local, "sub"));
    const r = await run;

    const remote = treeObject(remoteDir); // path -> sha256 of its bytes
    const secrets = treeObject(outside);
    expect(secrets["secret.key"] && secrets["dir/c.txt"]).toBeTruthy();
    expect(Object.values(remote)).not.toContain(secrets["secret.key"]);
    expect(Object.values(remote)).not.toContain(secrets["dir/c.txt"]);
    expect(remote["a-slow.bin"]).toBeDefined(); // the run itself went on
    expect(remote["a-slow2.bin"]).toBeDefined();
    expect(remote["a-slow3.bin"]).toBeDefined();
    expect(remote["b.txt"]).toBeUndefined();
    expect(remote["sub/c.txt"]).toBeUndefined();
    expect(lastJsonLine(r.stdout, r.stderr)).toMatchObject({ uploaded: 3, failed: 2 });
    expect(r.stderr).toMatch(/b\.txt is a symbolic link; not followed/);
    expect(r.stderr).toMatch(/sub is a symbolic link; not followed/);
  }, 60_000);

  it("does not publish a download into a folder that was moved out of the job folder mid-transfer, a symlink left in its place", async () => {
    const { name, local, remoteDir, outside } = fresh({ direction: "download" });
    writeTree(remoteDir, { "sub/slow.bin": randomBytes(1536 * 1024) }, owner);

    const run = ws.cli(["sync", name, "--json"]);
    await transferUnderWay(run, join(local, "sub"), "slow.bin");
    renameSync(join(local, "sub"), join(outside, "moved"));
    symlinkSync(join(outside, "moved"), join(local, "sub"));
    const r = await run;

    // Neither the file nor its temporary copy is left in the folder outside.
    expect(readdirSync(join(outside, "moved"))).toEqual([]);
    expect(lastJsonLine(r.stdout, r.stderr)).toMatchObject({ downloaded: 0, failed: 1 });
    expect(r.stderr).toMatch(/moved or replaced during the run/);
  }, 60_000);

  it("does not delete a file outside the job folder when a folder is swapped for a symlink before a mirror deletion", async () => {
    const { name, local, remoteDir, outside } = fresh({ direction: "download", delete: "mirror", maxDelete: 100 });
    writeTree(remoteDir, { "a-slow.bin": randomBytes(1536 * 1024) }, owner);
    writeTree(local, { "sub/old.txt": "only here: mirror deletes it" });
    writeTree(outside, { "victims/old.txt": "a file of the host" });

    const run = ws.cli(["sync", name, "--json"]);
    await transferUnderWay(run, local, "a-slow.bin");
    renameSync(join(local, "sub"), join(outside, "sub.was"));
    symlinkSync(join(outside, "victims"), join(local, "sub"));
    const r = await run;

    expect(readFileSync(join(outside, "victims", "old.txt"), "utf8")).toBe("a file of the host");
    expect(lastJsonLine(r.stdout, r.stderr)).toMatchObject({ downloaded: 1, deletedLocal: 0 });
    expect(r.stderr).toMatch(/sub is a symbolic link; not followed/);
    // The run's own file did arrive, inside the job folder.
    expect(existsSync(join(local, "a-slow.bin"))).toBe(true);
  }, 60_000);

  it("refuses a job whose local folder is a symlink, unless the job sets followRootSymlink", async () => {
    const { name, local, remoteDir } = fresh({ direction: "upload", bandwidthLimit: undefined });
    writeFileSync(join(local, "f.txt"), "through the root link");
    const link = local + "-link";
    symlinkSync(local, link);
    mkdirSync(join(remoteDir, "x"), { recursive: true });
    ws.writeJob(name, { remote: "srv", remotePath: `/${name}`, local: link, direction: "upload" });
    const refused = await ws.cli(["sync", name, "--json"]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/is a symbolic link; set "followRootSymlink": true/);
    expect(existsSync(join(remoteDir, "f.txt"))).toBe(false);

    ws.writeJob(name, { remote: "srv", remotePath: `/${name}`, local: link, direction: "upload", followRootSymlink: true });
    const followed = await ws.cli(["sync", name, "--json"]);
    expect(followed.code, followed.stderr).toBe(0);
    expect(readFileSync(join(remoteDir, "f.txt"), "utf8")).toBe("through the root link");
  }, 60_000);
});
