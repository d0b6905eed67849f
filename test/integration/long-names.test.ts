// Names against the real servers. Names of 231 to 255 bytes: the temporary name a transfer uses
// must fit in 255 bytes too, or such a file never syncs (upload: the server refuses the STOR;
// download: the local file system refuses the temporary file). Names with control characters or a
// line break: skipped with a warning, never cut short, and they block nothing else.
import { readdirSync, readFileSync, rmSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { requireServers, type RunningServer, type ServerKind } from "../servers/real-servers.js";
import { type Workspace } from "../helpers/workspace.js";
import { useServer } from "../helpers/server-fixture.js";
import { writeTree } from "../helpers/trees.js";
import { lastJsonLine } from "../helpers/sync-json.js";

requireServers("vsftpd", "proftpd", "pureftpd");

/** 250 bytes each: one ASCII, one in two-byte characters. */
const LONG = ["n".repeat(246) + ".txt", "é".repeat(123) + ".txt"];

describe.each(["vsftpd", "proftpd", "pureftpd"] as ServerKind[])("250-byte names against %s", (kind) => {
  let server: RunningServer;
  let owner: { uid: number; gid: number };
  let ws: Workspace;
  useServer(kind, { maxConnections: 2 }, (f) => ({ server, owner, ws } = f));

  const job = (name: string, direction: string, more: Record<string, unknown> = {}) => {
    writeTree(server.root, { [`${name}/.keep`]: "" }, owner);
    unlinkSync(join(server.root, name, ".keep"));
    const local = ws.folder(`local-${name}`);
    ws.writeJob(name, { remote: "srv", remotePath: `/${name}`, local, direction, ...more });
    return { local, remoteDir: join(server.root, name) };
  };

  it("uploads them, and a second run has nothing to do", async () => {
    const { local, remoteDir } = job("up", "upload");
    writeTree(local, { [LONG[0]]: "ascii", [LONG[1]]: "two-byte" });
    const r = await ws.cli(["sync", "up", "--json"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(lastJsonLine(r.stdout, r.stderr)).toMatchObject({ uploaded: 2, failed: 0 });
    expect(readdirSync(remoteDir).sort()).toEqual([...LONG].sort());
    expect(readFileSync(join(remoteDir, LONG[1]), "utf8")).toBe("two-byte");
    const again = await ws.cli(["sync", "up", "--json"]);
    expect(lastJsonLine(again.stdout, again.stderr)).toMatchObject({ uploaded: 0, failed: 0 });
  });

  it("downloads them into the local folder", async () => {
    const { local, remoteDir } = job("down", "download");
    writeTree(remoteDir, { [LONG[0]]: "ascii", [LONG[1]]: "two-byte" }, owner);
    const r = await ws.cli(["sync", "down", "--json"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(lastJsonLine(r.stdout, r.stderr)).toMatchObject({ downloaded: 2, failed: 0 });
    expect(readdirSync(local).sort()).toEqual([...LONG].sort());
    expect(readFileSync(join(local, LONG[0]), "utf8")).toBe("ascii");
  });

  it("skips names with control characters or a line break with a warning, at every run, and still deletes what went", async () => {
    const { local, remoteDir } = job("odd", "download", { delete: "mirror", maxDelete: 10 });
    const odd = ["esc\x1b[31m.txt", "bidi\u202etxt.exe", "line\nbreak.txt", "c1\x9b.txt"];
    writeTree(remoteDir, { "good.txt": "good", "gone.txt": "gone", ...Object.fromEntries(odd.map((n) => [n, "odd"])) }, owner);
    for (let run = 0; run < 3; run++) {
      if (run === 2) rmSync(join(remoteDir, "gone.txt"));
      const r = await ws.cli(["sync", "odd", "--json"]);
      const summary = lastJsonLine(r.stdout, r.stderr);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(readdirSync(local).sort()).toEqual(run < 2 ? ["gone.txt", "good.txt"] : ["good.txt"]);
      const warnings = (summary.warnings ?? []).join("\n");
      // Pure-FTPd leaves names with ASCII control characters (ESC, LF) out of its listings.
      const listed = kind === "pureftpd" ? ["bidi\\u202etxt.exe", "c1\\x9b.txt"] : ["esc\\x1b[31m.txt", "bidi\\u202etxt.exe", "line\\x0abreak.txt", "c1\\x9b.txt"];
      expect(summary.warnings).toHaveLength(listed.length);
      for (const escaped of listed) expect(warnings).toContain(`"${escaped}"`);
      expect(/[\x1b\x9b\u202e]/.test(r.stdout + r.stderr)).toBe(false);
    }
  });
});
