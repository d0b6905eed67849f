import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensureTestUser, requireServers, startServer, type RunningServer } from "../servers/real-servers.js";
import { makeWorkspace, type Workspace } from "../helpers/workspace.js";
import { treeObject, writeTree } from "../helpers/trees.js";
import { lastJsonLine } from "../helpers/sync-json.js";

requireServers("proftpd");

describe("job options against ProFTPD (with mod_digest for HASH)", () => {
  let server: RunningServer;
  let ws: Workspace;
  let owner: { uid: number; gid: number };
  let n = 0;
  const job = (opts: Record<string, unknown>) => {
    n++;
    const local = ws.folder(`opt${n}`);
    ws.writeJob(`opt${n}`, { remote: "srv", remotePath: `/opt${n}`, local, direction: "upload", ...opts });
    return { name: `opt${n}`, local, remoteDir: join(server.root, `opt${n}`) };
  };
  const sync = async (name: string) => {
    const r = await ws.cli(["sync", name, "--json", "-v"]);
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    return { summary: lastJsonLine(r.stdout, r.stderr), stderr: r.stderr };
  };

  beforeAll(async () => {
    owner = await ensureTestUser();
    server = await startServer("proftpd", {
      tls: "explicit",
      extraConfig: ["<IfModule mod_dso.c>", "  LoadModule mod_digest.c", "</IfModule>", "DigestEngine on", "DigestAlgorithms all"],
    });
    ws = makeWorkspace(server, { fingerprint: server.fingerprint });
  });
  afterAll(async () => {
    ws?.cleanup();
    await server?.stop();
  });

  it("verifies uploads with the server's HASH when verify is \"hash\"", async () => {
    const { name, local, remoteDir } = job({ verify: "hash" });
    writeTree(local, { "a.txt": "hash me", "b/c.bin": Buffer.alloc(100_000, 7) });
    const { stderr } = await sync(name);
    expect(stderr).toMatch(/HASH \/opt\d+\/\.ftps-sync\.a\.txt\./);
    expect(treeObject(remoteDir)).toEqual(treeObject(local));
  });

  it("uploads only what include and exclude select", async () => {
    const { name, local, remoteDir } = job({ include: ["**/*.csv", "docs/**"], exclude: ["**/*.tmp", "docs/private/**"] });
    writeTree(local, { "a.csv": "1", "b.txt": "no", "x/y.csv": "2", "docs/readme.md": "r", "docs/z.tmp": "t", "docs/private/k.md": "p" });
    await sync(name);
    expect(Object.keys(treeObject(remoteDir)).sort()).toEqual(["a.csv", "docs/readme.md", "x/y.csv"]);
  });

  it("uploads the done marker last, only after a run that changed something", async () => {
    const { name, local, remoteDir } = job({ doneMarker: "_DONE" });
    writeTree(local, { "batch/1.csv": "1", "batch/2.csv": "2" });
    await sync(name);
    const marker = JSON.parse(readFileSync(join(remoteDir, "_DONE"), "utf8")) as { job: string; uploaded: number };
    expect(marker).toMatchObject({ job: name, uploaded: 2 });
    writeFileSync(join(remoteDir, "_DONE"), "old marker");
    await sync(name);
    expect(readFileSync(join(remoteDir, "_DONE"), "utf8")).toBe("old marker");
  });

  it("keeps to bandwidthLimit", async () => {
    const { name, local } = job({ bandwidthLimit: 1024 * 1024 });
    writeTree(local, { "two-mib.bin": Buffer.alloc(2 * 1024 * 1024, 1) });
    const { summary } = await sync(name);
    expect(summary.bytes).toBe(2 * 1024 * 1024);
    // 2 MiB at 1 MiB/s, minus the allowed quarter-second burst.
    expect(summary.durationMs).toBeGreaterThanOrEqual(1500);
  });

  it("keeps to bandwidthLimit on downloads too, and the file arrives whole", async () => {
    const { name, local, remoteDir } = job({ direction: "download", bandwidthLimit: 1024 * 1024 });
    const content = Buffer.alloc(2 * 1024 * 1024 + 12345);
    for (let i = 0; i < content.length; i++) content[i] = (i * 31) % 251;
    writeTree(server.root, { [`${name}/two-mib.bin`]: content }, owner);
    const { summary } = await sync(name);
    expect(summary.downloaded).toBe(1);
    expect(summary.durationMs).toBeGreaterThanOrEqual(1500);
    expect(treeObject(local)).toEqual(treeObject(remoteDir));
  });

  it("downloads a big file in ranges over its 4 connections (REST at each quarter) and it arrives whole", async () => {
    const { name, local, remoteDir } = job({ direction: "download" });
    const size = 72 * 1024 * 1024 + 7; // above the segmenting threshold, not a multiple of 4
    const content = Buffer.alloc(size);
    for (let i = 0; i < size; i += 4096) content.writeUInt32LE((i * 2654435761) >>> 0, i);
    writeTree(server.root, { [`${name}/big.bin`]: content }, owner);
    const commands = () => readFileSync(join(server.dir, "commands.log"), "utf8").split("\n");
    const seen = commands().length;
    const { summary } = await sync(name);
    expect(summary.downloaded).toBe(1);
    expect(readFileSync(join(local, "big.bin")).equals(content)).toBe(true);
    const quarter = Math.ceil(size / 4);
    const rests = commands().slice(seen).filter((l) => l.startsWith("REST ")).map((l) => Number(l.split(" ")[1]));
    expect(rests.sort((a, b) => a - b)).toEqual([quarter, 2 * quarter, 3 * quarter]);
    expect(treeObject(local)).toEqual(treeObject(remoteDir));
  });

  it("trustRemote: an unchanged tree never connects; changes, deletions and new folders still reach the server", async () => {
    const { name, local, remoteDir } = job({ trustRemote: true, delete: "mirror" });
    writeTree(local, { "a.txt": "one", "b/c.txt": "two", "d/e/f.txt": "three" });
    const commands = () => readFileSync(join(server.dir, "commands.log"), "utf8").split("\n");
    const logins = (from: number) => commands().slice(from).filter((l) => l.startsWith("USER ")).length;
    // Where the server's command log ends once it has settled: a session of the previous run that
    // the CLI left mid-login at its exit may still be logging its USER a moment later.
    const settled = async (): Promise<number> => {
      let length = commands().length;
      for (let still = 0; still < 3; ) {
        await new Promise((r) => setTimeout(r, 100));
        const now = commands().length;
        still = now === length ? still + 1 : 0;
        length = now;
      }
      return length;
    };

    let seen = await settled();
    expect((await sync(name)).summary.uploaded).toBe(3); // no state yet: a full listing
    expect(logins(seen)).toBeGreaterThan(0);

    seen = await settled();
    const again = await sync(name);
    expect(again.summary).toMatchObject({ status: "ok", uploaded: 0, deletedRemote: 0 });
    expect(logins(seen), commands().slice(seen).join("\n")).toBe(0);

    writeFileSync(join(local, "a.txt"), "one, changed");
    rmSync(join(local, "b"), { recursive: true });
    mkdirSync(join(local, "g"));
    seen = await settled();
    const changed = await sync(name);
    expect(changed.summary).toMatchObject({ status: "ok", uploaded: 1, deletedRemote: 2 }); // b/c.txt and b
    expect(logins(seen)).toBeGreaterThan(0);
    expect(treeObject(remoteDir)).toEqual(treeObject(local));
    expect(existsSync(join(remoteDir, "g"))).toBe(true);
    expect(existsSync(join(remoteDir, "b"))).toBe(false);

    seen = await settled();
    const matched = await sync(name);
    expect(matched.summary).toMatchObject({ status: "ok", uploaded: 0, deletedRemote: 0 });
    expect(matched.stderr).toMatch(/loaded \d+ state rows/); // compared row by row, and remembered
    expect(logins(seen), commands().slice(seen).join("\n")).toBe(0);

    // The same tree again, state unwritten since: not even the state is read.
    const remembered = await sync(name);
    expect(remembered.summary).toMatchObject({ status: "ok", uploaded: 0 });
    expect(remembered.stderr).toMatch(/as at the last run, state unchanged since/);
    expect(remembered.stderr).not.toMatch(/loaded \d+ state rows/);

    // An mtime alone moves: seen, sent.
    const later = new Date(Date.now() + 3_600_000);
    utimesSync(join(local, "d/e/f.txt"), later, later);
    seen = await settled();
    const touched = await sync(name);
    expect(touched.summary).toMatchObject({ status: "ok", uploaded: 1 });
    expect(touched.stderr).not.toMatch(/as at the last run/);
    expect(logins(seen)).toBeGreaterThan(0);
    expect((await sync(name)).stderr).toMatch(/loaded \d+ state rows/);
    expect((await sync(name)).stderr).toMatch(/as at the last run, state unchanged since/);
  });

  it("does not follow symlinks unless told, and never out of the job folder", async () => {
    const outside = ws.folder("outside");
    writeFileSync(join(outside, "secret.txt"), "not for the partner");
    const { name, local, remoteDir } = job({});
    writeTree(local, { "real/file.txt": "f" });
    symlinkSync(join(outside, "secret.txt"), join(local, "link-out.txt"));
    symlinkSync(join(local, "real"), join(local, "link-in"));
    await sync(name);
    expect(Object.keys(treeObject(remoteDir)).sort()).toEqual(["real/file.txt"]);

    const follow = job({ followSymlinks: true });
    writeTree(follow.local, { "real/file.txt": "f" });
    symlinkSync(join(outside, "secret.txt"), join(follow.local, "link-out.txt"));
    symlinkSync(join(follow.local, "real"), join(follow.local, "link-in"));
    await sync(follow.name);
    expect(Object.keys(treeObject(follow.remoteDir)).sort()).toEqual(["link-in/file.txt", "real/file.txt"]);
    expect(existsSync(join(follow.remoteDir, "link-out.txt"))).toBe(false);
  });

  it("refuses a job whose local folder is missing, with exit 2 naming the file and field", async () => {
    ws.writeJob("broken", { remote: "srv", remotePath: "/x", local: "/nonexistent/folder", direction: "upload" });
    const r = await ws.cli(["sync", "broken"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/broken\.json.*local/);
    mkdirSync(ws.folder("fixed"), { recursive: true });
    ws.writeJob("broken", { remote: "srv", remotePath: "/x", local: ws.folder("fixed"), direction: "upload" });
  });
});
