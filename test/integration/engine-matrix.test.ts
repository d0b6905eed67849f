// The FTPS engine against every real server, in every TLS mode it offers, over TLS 1.2 and 1.3:
// a whole job's life through the CLI (first upload, a re-run with nothing to do, an edit, a
// download into another folder, a deletion mirrored), the bytes checked on both sides.
import { readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lastJsonLine } from "../helpers/sync-json.js";
import { treeObject, writeTree } from "../helpers/trees.js";
import { makeWorkspace, type Workspace } from "../helpers/workspace.js";
import { ensureTestUser, requireServers, startServer, type RunningServer, type ServerKind } from "../servers/real-servers.js";

requireServers("vsftpd", "proftpd", "pureftpd");

const modes: { kind: ServerKind; tls: "explicit" | "implicit" }[] = [
  { kind: "vsftpd", tls: "explicit" },
  { kind: "vsftpd", tls: "implicit" },
  { kind: "proftpd", tls: "explicit" },
  { kind: "proftpd", tls: "implicit" },
  { kind: "pureftpd", tls: "explicit" },
];

describe.each(modes)("$kind, $tls TLS", ({ kind, tls }) => {
  let server: RunningServer;
  let owner: { uid: number; gid: number };
  beforeAll(async () => {
    owner = await ensureTestUser();
    server = await startServer(kind, { tls });
  });
  afterAll(async () => {
    await server?.stop();
  });

  describe.each(["1.2", "1.3"] as const)("over TLS %s", (version) => {
    let ws: Workspace;
    beforeAll(() => {
      ws = makeWorkspace(server, { fingerprint: server.fingerprint, tls, maxTlsVersion: version, maxConnections: 2 });
    });
    afterAll(() => ws?.cleanup());

    it("uploads, finds nothing to do, sends an edit, downloads elsewhere and mirrors a deletion", async () => {
      const name = `m-${tls}-${version.replace(".", "")}`;
      writeTree(server.root, { [`${name}/.keep`]: "" }, owner);
      unlinkSync(join(server.root, name, ".keep"));
      const remoteDir = join(server.root, name);
      const up = ws.folder(`${name}-up`);
      const down = ws.folder(`${name}-down`);
      ws.writeJob("up", { remote: "srv", remotePath: `/${name}`, local: up, direction: "upload", delete: "mirror" });
      ws.writeJob("down", { remote: "srv", remotePath: `/${name}`, local: down, direction: "download", delete: "mirror" });
      writeTree(up, { "a.txt": "alpha", "empty.txt": "", "sub/b.bin": Buffer.alloc(300_000, 7), "sub/deeper/c.txt": "gamma" });

      // The version asked for is the one spoken.
      const checked = await ws.cli(["check", "--json"]);
      expect(checked.code, checked.stdout + checked.stderr).toBe(0);
      expect(JSON.stringify(JSON.parse(checked.stdout))).toContain(`"protocol":"TLSv${version}"`);

      const first = await ws.cli(["sync", "up", "--json"]);
      expect(first.code, first.stdout + first.stderr).toBe(0);
      expect(lastJsonLine(first.stdout, first.stderr)).toMatchObject({ uploaded: 4, failed: 0 });
      expect(treeObject(remoteDir)).toEqual(treeObject(up));

      const again = await ws.cli(["sync", "up", "--json"]);
      expect(lastJsonLine(again.stdout, again.stderr)).toMatchObject({ status: "ok", uploaded: 0, failed: 0 });

      writeFileSync(join(up, "a.txt"), "alpha, edited");
      const edit = await ws.cli(["sync", "up", "--json"]);
      expect(lastJsonLine(edit.stdout, edit.stderr)).toMatchObject({ uploaded: 1, failed: 0 });
      expect(readFileSync(join(remoteDir, "a.txt"), "utf8")).toBe("alpha, edited");

      const fetched = await ws.cli(["sync", "down", "--json"]);
      expect(fetched.code, fetched.stdout + fetched.stderr).toBe(0);
      expect(lastJsonLine(fetched.stdout, fetched.stderr)).toMatchObject({ downloaded: 4, failed: 0 });
      expect(treeObject(down)).toEqual(treeObject(up));

      rmSync(join(up, "sub/deeper/c.txt"));
      const deleted = await ws.cli(["sync", "up", "--json"]);
      expect(lastJsonLine(deleted.stdout, deleted.stderr)).toMatchObject({ deletedRemote: 1, failed: 0 });
      expect(treeObject(remoteDir)).toEqual(treeObject(up));
    });
  });
});
