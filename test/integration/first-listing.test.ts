import { mkdirSync, chownSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectFtps } from "../../src/protocol/connect.js";
import type { Logger } from "../../src/log.js";
import { listTree } from "../../src/protocol/list-tree.js";
import { FtpsPool } from "../../src/protocol/pool.js";
import { RemoteRootMissing } from "../../src/remote/remote-folder.js";
import { Secret } from "../../src/secret.js";
import { ensureTestUser, requireServers, startServer, type RunningServer, type ServerKind } from "../servers/real-servers.js";
import { writeTree } from "../helpers/trees.js";

requireServers("vsftpd", "proftpd");

/**
 * The first listing of a run goes out in the first write after the login: no CWD of the root
 * first (a round trip before the first byte), except when the root's listing is empty or refused,
 * where CWD tells a missing root from an empty one. vsftpd lists a missing folder as empty;
 * ProFTPD refuses MLSD of it with 550.
 */
describe.each(["vsftpd", "proftpd"] as ServerKind[])("the first listing of a run on %s", (kind) => {
  let server: RunningServer;
  let owner: { uid: number; gid: number };
  beforeAll(async () => {
    owner = await ensureTestUser();
    server = await startServer(kind, { tls: "explicit" });
  });
  afterAll(async () => {
    await server?.stop();
  });

  /** A pool whose connections record every write after their login. */
  function setup() {
    const writes: string[][] = [];
    const logger = { warn: () => {}, debug: () => {}, info: () => {} } as unknown as Logger;
    const remote = {
      name: "srv", host: "localhost", port: server.port, tls: "explicit" as const, user: server.user,
      password: new Secret(server.password), ca: server.certPem, maxConnections: 2, timeoutMs: 15_000, maxTlsVersion: "1.3" as const,
    };
    const pool = new FtpsPool(remote, logger, async (r) => {
      const c = await connectFtps(r);
      c.client.control.onWrite = (commands) => void writes.push([...commands]);
      return c;
    });
    const list = (root: string, statReplyEstimates?: Map<string, number>) =>
      listTree(pool, root, { accept: () => true, retry: { attempts: 2, initialDelayMs: 10, maxDelayMs: 10 }, logger, statReplyEstimates });
    return { pool, writes, list };
  }

  const dir = (rel: string) => {
    mkdirSync(join(server.root, rel), { recursive: true });
    chownSync(join(server.root, rel), owner.uid, owner.gid);
  };

  it("lists a root that holds something in the first write after the login, with no CWD", async () => {
    await writeTree(server.root, { "full/a.txt": "a", "full/sub/b.txt": "b" }, owner);
    const { pool, writes, list } = setup();
    try {
      const listed = await list("/full");
      expect([...listed.entries.keys()].sort()).toEqual(["a.txt", "sub", "sub/b.txt"]);
      expect(writes.flat().filter((c) => c.startsWith("CWD"))).toEqual([]);
      expect(writes[0].some((c) => /^(MLSD|LIST)\b/.test(c) && c.includes("/full"))).toBe(true);
    } finally {
      pool.close();
    }
  });

  it("tells an empty root (an empty listing) from a missing one (RemoteRootMissing), asking CWD only then", async () => {
    dir("empty");
    const { pool, writes, list } = setup();
    try {
      const listed = await list("/empty");
      expect(listed.entries.size).toBe(0);
      expect(listed.failedDirs ?? []).toEqual([]);
      expect(writes.flat()).toContain("CWD /empty");

      await expect(list("/no-such-folder")).rejects.toBeInstanceOf(RemoteRootMissing);
      expect(writes.flat()).toContain("CWD /no-such-folder");
    } finally {
      pool.close();
    }
  });
});
