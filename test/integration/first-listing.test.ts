import { mkdirSync, chownSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Logger } from "../../src/log.js";
import { listTree } from "../../src/protocol/list-tree.js";
import { FtpsPool } from "../../src/protocol/pool.js";
import { RemoteRootMissing } from "../../src/remote/remote-folder.js";
import { Secret } from "../../src/secret.js";
import { ensureTestUser, requireServers, startServer, type RunningServer, type ServerKind } from "../servers/real-servers.js";
import { writeTree } from "../helpers/trees.js";

requireServers("vsftpd", "proftpd");

/**
 * The first listing of a run goes out with the login, in its write (early-listing.ts): no CWD of
 * the root first (a round trip before the first byte), except when the root's listing is empty or
 * refused, where CWD tells a missing root from an empty one. vsftpd lists a missing folder as
 * empty; ProFTPD refuses MLSD of it with 550.
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

  /** A pool whose connections record every write (the login's too: the debug log's "> ..." lines). */
  function setup() {
    const writes: string[][] = [];
    const logger = {
      warn: () => {},
      info: () => {},
      debug: (m: string) => void (/\] > /.test(m) && writes.push(m.slice(m.indexOf("] > ") + 4).split(" | "))),
      isDebugEnabled: () => true,
    } as unknown as Logger;
    const remote = {
      name: "srv", host: "localhost", port: server.port, tls: "explicit" as const, user: server.user,
      password: new Secret(server.password), ca: server.certPem, maxConnections: 2, timeoutMs: 15_000, maxTlsVersion: "1.3" as const,
    };
    const pool = new FtpsPool(remote, logger);
    // As a run does: the root's listing asked for before the first connection opens.
    const list = (root: string, statReplyEstimates?: Map<string, number>) => {
      pool.listSoon(root);
      return listTree(pool, root, { accept: () => true, retry: { attempts: 2, initialDelayMs: 10, maxDelayMs: 10 }, logger, statReplyEstimates });
    };
    return { pool, writes, list };
  }

  const dir = (rel: string) => {
    mkdirSync(join(server.root, rel), { recursive: true });
    chownSync(join(server.root, rel), owner.uid, owner.gid);
  };

  it("lists a root that holds something in the login's own write, with no CWD", async () => {
    await writeTree(server.root, { "full/a.txt": "a", "full/sub/b.txt": "b" }, owner);
    const { pool, writes, list } = setup();
    try {
      const listed = await list("/full");
      expect([...listed.entries.keys()].sort()).toEqual(["a.txt", "sub", "sub/b.txt"]);
      expect(writes.flat().filter((c) => c.startsWith("CWD"))).toEqual([]);
      const login = writes.find((w) => w[0].startsWith("USER "));
      expect(login?.slice(-2)).toEqual(["EPSV", kind === "vsftpd" ? "LIST -a /full" : "MLSD /full"]);
      expect(writes.flat().filter((c) => / \/full$/.test(c))).toHaveLength(1);
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
    // A missing root listed with the login (a new pool's first connection) is told the same way.
    const fresh = setup();
    try {
      await expect(fresh.list("/missing-too")).rejects.toBeInstanceOf(RemoteRootMissing);
      expect(fresh.writes.find((w) => w[0].startsWith("USER "))?.at(-1)).toMatch(/ \/missing-too$/);
      expect(fresh.writes.flat()).toContain("CWD /missing-too");
    } finally {
      fresh.pool.close();
    }
  });
});
