// Versions ("backup") on the real servers, through the CLI as a user runs it: the server's old
// copies kept by RNFR/RNTO, `versions` and `restore`, retention, and a connection cut during a
// version move (the server behind the fault proxy) that loses nothing.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { requireServers, type ServerKind } from "../servers/real-servers.js";
import { startRig, type Rig } from "../faults/harness.js";
import { lastJsonLine } from "../helpers/sync-json.js";
import { writeTree } from "../helpers/trees.js";
import { CLI } from "../helpers/cli.js";

requireServers("vsftpd", "proftpd", "pureftpd");

/** The run folders on the server, oldest first. */
const runFolders = (remoteDir: string): string[] => {
  const root = join(remoteDir, ".versions");
  return existsSync(root) ? readdirSync(root).sort() : [];
};

/** Writes a local file with a time of its own (a minute apart per call), so every edit is seen. */
let minute = 0;
function write(local: string, rel: string, text: string): void {
  writeFileSync(join(local, rel), text);
  const t = new Date(Date.UTC(2026, 10, 1, 12, minute++));
  utimesSync(join(local, rel), t, t);
}

for (const kind of ["vsftpd", "proftpd", "pureftpd"] as ServerKind[]) {
  describe(`versions against ${kind}`, () => {
    let rig: Rig;
    beforeAll(async () => {
      rig = await startRig({ kind, timeoutSeconds: 3, maxConnections: 2 });
    });
    afterAll(async () => {
      await rig?.stop();
    });

    it("keeps what a sync overwrites or deletes on the server, lists it, restores it locally, and prunes old runs", async () => {
      const { name, local, remoteDir } = rig.job(`cli-${kind}`, { direction: "upload", delete: "mirror", maxDelete: 10, backup: { dir: ".versions", keep: 2 } });
      write(local, "a.txt", "a, version one");
      mkdirSync(join(local, "sub", "deeper"), { recursive: true });
      write(local, "sub/deeper/b.txt", "bravo");
      expect((await rig.sync(name)).code).toBe(0);
      write(local, "a.txt", "a, version two (longer)");
      rmSync(join(local, "sub"), { recursive: true });
      const second = await rig.sync(name);
      expect(second.code, second.stderr).toBe(0);
      expect(second.summary).toMatchObject({ uploaded: 1, deletedRemote: 3 });
      const [run2] = runFolders(remoteDir);
      expect(runFolders(remoteDir)).toHaveLength(1);
      expect(readFileSync(join(remoteDir, ".versions", run2, "a.txt"), "utf8")).toBe("a, version one");
      expect(readFileSync(join(remoteDir, ".versions", run2, "sub/deeper/b.txt"), "utf8")).toBe("bravo");
      expect(existsSync(join(remoteDir, "sub"))).toBe(false);

      const listed = await rig.ws.cli(["versions", name, "--json"]);
      expect(listed.code, listed.stderr).toBe(0);
      const json = lastJsonLine(listed.stdout, listed.stderr) as unknown as { ok: boolean; versions: Array<Record<string, unknown>> };
      expect(json.ok).toBe(true);
      expect(json.versions.map((v) => [v.path, v.side, v.run, v.size])).toEqual([
        ["a.txt", "remote", run2, 14],
        ["sub/deeper/b.txt", "remote", run2, 5],
      ]);

      const restored = await rig.ws.cli(["restore", name, "a.txt"]);
      expect(restored.code, restored.stderr).toBe(0);
      expect(restored.stdout).toMatch(/restored a\.txt from the version of .* \(remote \.versions\/.*\/a\.txt\); the file that was there is kept as \.versions\/.*\/a\.txt/);
      expect(readFileSync(join(local, "a.txt"), "utf8")).toBe("a, version one");
      const [localRun] = readdirSync(join(local, ".versions"));
      expect(readFileSync(join(local, ".versions", localRun, "a.txt"), "utf8")).toBe("a, version two (longer)");

      // The next sync sends the restored file (the server's copy kept in its turn); the local versions folder is not sent.
      const third = await rig.sync(name);
      expect(third.code, third.stderr).toBe(0);
      expect(third.summary).toMatchObject({ uploaded: 1, deletedRemote: 0 });
      expect(readFileSync(join(remoteDir, "a.txt"), "utf8")).toBe("a, version one");
      expect(runFolders(remoteDir)).toHaveLength(2);
      expect(readdirSync(join(remoteDir, ".versions")).every((r) => !existsSync(join(remoteDir, ".versions", r, ".versions")))).toBe(true);

      // A fourth run with a version: keep 2 removes the oldest run folder on the server, folders inside it included.
      write(local, "a.txt", "a, version three");
      expect((await rig.sync(name)).code).toBe(0);
      const runs = runFolders(remoteDir);
      expect(runs).toHaveLength(2);
      expect(runs).not.toContain(run2);
    });

    // The command's own errors do not depend on the server: checked once, on the first.
    if (kind === "vsftpd") it("versions and restore: usage errors exit 2 and a version not kept exits 1, each as one JSON object", async () => {
      const { name } = rig.job(`errors-${kind}`, { direction: "upload", backup: { dir: ".versions", keep: 3 } });
      const plain = rig.job(`plain-${kind}`, { direction: "upload" }).name;
      const cases: Array<[string[], number, RegExp]> = [
        [["restore", name, "a.txt", "--at", "last tuesday", "--json"], 2, /--at "last tuesday": not a time/],
        [["restore", name, "../../etc/passwd", "--json"], 2, /not a path inside the job's folder/],
        [["restore", name, ".versions/x/a.txt", "--json"], 2, /inside the versions folder/],
        [["versions", plain, "--json"], 2, /keeps no versions: it has no "backup" key/],
        [["restore", name, "a.txt", "--json"], 1, /no version of a\.txt is kept in \.versions/],
      ];
      for (const [args, exitCode, message] of cases) {
        const r = await rig.ws.cli(args);
        expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(exitCode);
        const lines = r.stdout.trim().split("\n");
        expect(lines).toHaveLength(1);
        const obj = JSON.parse(lines[0]) as { schema: string; ok: boolean; error: { exitCode: number; message: string } };
        expect(obj).toMatchObject({ schema: `ftps-sync/${args[0]}/v1`, ok: false, error: { exitCode } });
        expect(obj.error.message).toMatch(message);
      }
    });

    // The daemon runs the same phases as `sync`: checked once, on the first server.
    if (kind === "vsftpd") it("the daemon (`run`) keeps versions too: a scheduled run moves the server's old copy aside", async () => {
      const { name, local, remoteDir } = rig.job(`daemon-${kind}`, { direction: "upload", schedule: "* * * * * *", backup: { dir: ".versions", keep: 5 } });
      write(local, "a.txt", "first");
      const child = spawn(process.execPath, [CLI, "--config", rig.ws.configPath, "run"], { env: { ...process.env, FTPS_SYNC_CONFIG: "", ...rig.ws.env }, stdio: "ignore" });
      const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
      const until = async (what: string, ok: () => boolean) => {
        for (const end = Date.now() + 20_000; !ok(); await new Promise((r) => setTimeout(r, 100))) {
          if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
        }
      };
      try {
        // Between the move of the old copy and the rename of the new one, a.txt is briefly not there.
        const remoteText = () => {
          try {
            return readFileSync(join(remoteDir, "a.txt"), "utf8");
          } catch {
            return undefined;
          }
        };
        await until("a.txt on the server", () => remoteText() === "first");
        write(local, "a.txt", "second, longer");
        await until("the new a.txt on the server", () => remoteText() === "second, longer");
        const kept = runFolders(remoteDir).map((r) => join(remoteDir, ".versions", r, "a.txt")).filter((f) => existsSync(f));
        expect(kept.map((f) => readFileSync(f, "utf8"))).toEqual(["first"]);
      } finally {
        child.kill("SIGTERM");
        await exited;
      }
    }, 60_000);

    it("a run never keeps its versions in a run folder of an earlier run: one of the same second is passed over, never written into", async () => {
      const { name, local, remoteDir } = rig.job(`taken-${kind}`, { direction: "upload", backup: { dir: ".versions", keep: "30d" } });
      write(local, "a.txt", "current");
      expect((await rig.sync(name)).code).toBe(0);
      // Run folders for every second of the next minute, each holding a copy of a.txt (as two
      // runs within one second would leave): the run must pick a name after all of them.
      const now = Math.floor(Date.now() / 1000) * 1000;
      const taken = Array.from({ length: 60 }, (_, i) => new Date(now + i * 1000).toISOString().replace(/:/g, "").replace(/\.\d{3}Z$/, "Z"));
      for (const t of taken) writeTree(rig.server.root, { [`${name}/.versions/${t}/a.txt`]: `kept at ${t}` }, rig.owner);
      write(local, "a.txt", "replaced, longer");
      const r = await rig.sync(name);
      expect(r.code, r.stderr).toBe(0);
      for (const t of taken) expect(readFileSync(join(remoteDir, ".versions", t, "a.txt"), "utf8")).toBe(`kept at ${t}`);
      const mine = runFolders(remoteDir).filter((f) => !taken.includes(f));
      expect(mine).toHaveLength(1);
      expect(mine[0] > taken[taken.length - 1]).toBe(true);
      expect(readFileSync(join(remoteDir, ".versions", mine[0], "a.txt"), "utf8")).toBe("current");
    });

    it("a connection cut during the move of the old version loses nothing: the run or the next one ends with both copies", async () => {
      const { name, local, remoteDir } = rig.job(`cut-${kind}`, { direction: "upload", backup: { dir: ".versions", keep: "30d" } });
      write(local, "a.txt", "old contents");
      expect((await rig.sync(name)).code).toBe(0);
      write(local, "a.txt", "new contents, longer");
      // Control connections slowed so that the moment the server has moved the file can be caught,
      // and every connection is cut right then (before the new file is placed).
      let cut = false;
      rig.proxy.faultFor = (c) => (!cut && c.kind === "control" ? { kind: "slow", bytesPerSecond: 4000 } : undefined);
      let targetAtCut: string | undefined = "not cut";
      const moved = () => runFolders(remoteDir).some((r) => existsSync(join(remoteDir, ".versions", r, "a.txt")));
      const watcher = setInterval(() => {
        if (cut || !moved()) return;
        cut = true;
        try {
          targetAtCut = readFileSync(join(remoteDir, "a.txt"), "utf8");
        } catch {
          targetAtCut = undefined;
        }
        rig.proxy.resetAll();
      }, 2);
      let first;
      try {
        first = await rig.sync(name, { timeoutMs: 50_000 });
      } finally {
        clearInterval(watcher);
        rig.proxy.faultFor = undefined;
      }
      expect(cut, first.stderr).toBe(true);
      // The cut came between the move and the placing of the new file.
      expect(targetAtCut).toBeUndefined();
      const after = first.code === 0 ? first : await rig.sync(name);
      expect(after.code, after.stderr).toBe(0);
      expect(readFileSync(join(remoteDir, "a.txt"), "utf8")).toBe("new contents, longer");
      const kept = runFolders(remoteDir).filter((r) => existsSync(join(remoteDir, ".versions", r, "a.txt")));
      expect(kept.map((r) => readFileSync(join(remoteDir, ".versions", r, "a.txt"), "utf8"))).toContain("old contents");
      const settled = await rig.sync(name);
      expect(settled.summary).toMatchObject({ uploaded: 0, deletedRemote: 0 });
    });
  });
}
