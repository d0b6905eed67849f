import { chmodSync, mkdirSync, chownSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectFtps } from "../../src/protocol/connect.js";
import type { Logger } from "../../src/log.js";
import { listTree } from "../../src/protocol/list-tree.js";
import { FtpsPool } from "../../src/protocol/pool.js";
import { estimateStatReplies, ONE_CONNECTION_FOLDERS, statListingWidth } from "../../src/protocol/stat-listing.js";
import { Secret } from "../../src/secret.js";
import { ensureTestUser, requireServers, startServer, type RunningServer } from "../servers/real-servers.js";
import { writeTree } from "../helpers/trees.js";

requireServers("vsftpd");

/**
 * Folder listings over the control connection (STAT -a) against vsftpd, which has no MLSD: the
 * listing must be the one LIST gives, and a reply that cannot be trusted must fall back to LIST
 * without leaving the connection out of step.
 */
describe("STAT listings on vsftpd", () => {
  let vsftpd: RunningServer;
  let owner: { uid: number; gid: number };
  beforeAll(async () => {
    owner = await ensureTestUser();
    vsftpd = await startServer("vsftpd", { tls: "explicit" });
  });
  afterAll(async () => {
    await vsftpd?.stop();
  });

  /** A pool whose connections record every command sent, and a logger that keeps its messages. */
  function setup(maxConnections = 2) {
    const sent: string[] = [];
    let opened = 0;
    /** The commands of each corked write (a pipelined send), in order. */
    const writes: string[][] = [];
    const logged: string[] = [];
    const log = (m: string) => void logged.push(m);
    const logger = { warn: log, debug: log, info: log } as unknown as Logger;
    const remote = {
      name: "srv", host: "localhost", port: vsftpd.port, tls: "explicit" as const, user: vsftpd.user,
      password: new Secret(vsftpd.password), ca: vsftpd.certPem, maxConnections, timeoutMs: 15_000, maxTlsVersion: "1.3" as const,
    };
    const pool = new FtpsPool(remote, logger, async (r) => {
      opened++; // attempts: one still logging in when the listing is done counts too
      const c = await connectFtps(r);
      c.client.control.onWrite = (commands) => {
        sent.push(...commands);
        writes.push([...commands]);
      };
      return c;
    });
    const list = async (root: string, statReplyEstimates?: Map<string, number>) => {
      const listed = await listTree(pool, root, {
        accept: () => true,
        retry: { attempts: 2, initialDelayMs: 10, maxDelayMs: 10 },
        logger,
        statReplyEstimates,
      });
      return { ...listed, entries: [...listed.entries.values()].sort((a, b) => (a.path < b.path ? -1 : 1)) };
    };
    return { pool, sent, writes, logged, list, opened: () => opened };
  }

  /** Every connection the pool hands out answers its own command. */
  async function expectInStep(pool: FtpsPool): Promise<void> {
    for (let i = 0; i < 6; i++) {
      const [pwd, type] = await Promise.all([pool.use((c) => c.client.send("PWD")), pool.use((c) => c.client.send("TYPE I"))]);
      expect(pwd.code).toBe(257);
      expect(type.code).toBe(200);
    }
  }

  const tree = (files: Record<string, string>) => writeTree(vsftpd.root, files, owner);
  const dir = (rel: string) => {
    mkdirSync(join(vsftpd.root, rel), { recursive: true });
    chownSync(join(vsftpd.root, rel), owner.uid, owner.gid);
  };

  it("lists a tree exactly as LIST does, with STAT for every folder after the first", async () => {
    tree({
      "same/.dot": "d",
      "same/top.txt": "t",
      "same/sp ace/f 1.txt": "s",
      "same/ünï/ß.txt": "u",
      "same/cafe\u0301/nfd.txt": "n",
      "same/[x]*?/g.txt": "g",
      "same/a/b/c/deep.txt": "deep",
      "same/-dash/x": "x",
    });
    dir("same/empty");
    const { pool, sent, logged, list } = setup();
    try {
      const byList = await list("/same");
      expect(byList.entries.map((e) => e.path)).toContain("a/b/c/deep.txt");
      sent.length = 0;
      const byStat = await list("/same", estimateStatReplies(new Map(byList.entries.map((e) => [e.path, e]))));
      expect(byStat).toEqual(byList);
      expect(logged.join("\n")).toMatch(/STAT listings match LIST: used/);
      // One folder listed both ways to compare, every other one by STAT alone.
      const folders = 1 + byList.entries.filter((e) => e.type === "dir").length;
      expect(sent.filter((c) => c.startsWith("LIST"))).toHaveLength(1);
      expect(sent.filter((c) => c.startsWith("STAT -a "))).toHaveLength(folders);
      // Each STAT went with the two REST commands, and the restart offset was put back to 0.
      expect(sent.filter((c) => c === "REST 0")).toHaveLength(folders);
    } finally {
      pool.destroy();
    }
  });

  it("opens only the connections a STAT listing of the known tree needs on a near server (1 up to 64 folders, then 2), not the pool's 4", async () => {
    for (const folders of [3, ONE_CONNECTION_FOLDERS + 6]) {
      const files: Record<string, string> = {};
      for (let i = 0; i < folders; i++) files[`narrow${folders}/d${i}/a.txt`] = files[`narrow${folders}/d${i}/b.txt`] = `${i}`;
      tree(files);
      // What the state would hold: each file and its folder.
      const known = new Map<string, { type: "file" | "dir" }>();
      for (const p of Object.keys(files)) {
        const rel = p.slice(p.indexOf("/") + 1);
        known.set(rel, { type: "file" }).set(rel.slice(0, rel.indexOf("/")), { type: "dir" });
      }
      const { pool, logged, list, opened } = setup(4);
      try {
        await pool.start();
        const listed = await list(`/narrow${folders}`, estimateStatReplies(known));
        expect(listed.complete).toBe(true);
        expect(listed.entries).toHaveLength(3 * folders);
        const m = /listing (\d+) known folders over (\d+) connection\(s\) \(first round trip ([\d.]+) ms\)/.exec(logged.join("\n"));
        expect(m, logged.join("\n")).not.toBeNull();
        const [knownFolders, width, roundTrip] = [Number(m![1]), Number(m![2]), Number(m![3])];
        expect(knownFolders).toBe(folders + 1);
        // The rule (a far server gets all 4; on loopback the first round trip is well under 5 ms).
        expect(width).toBe(statListingWidth(knownFolders, 4, roundTrip));
        expect(opened()).toBe(width);
        if (roundTrip < 2) expect(width).toBe(folders < ONE_CONNECTION_FOLDERS ? 1 : 2);
      } finally {
        pool.destroy();
      }
    }
  });

  it("times a first round trip again when the thread was busy as its reply came, so a near server still gets one connection", async () => {
    tree({ "busy/d0/a.txt": "a", "busy/d1/b.txt": "b" });
    const known = new Map<string, { type: "file" | "dir" }>([["d0", { type: "dir" }], ["d0/a.txt", { type: "file" }], ["d1", { type: "dir" }], ["d1/b.txt", { type: "file" }]]);
    const { pool, sent, logged, list, opened } = setup(4);
    try {
      const first = await pool.start();
      // The thread is busy for 30 ms right after the first NOOP goes out, beside the root's
      // listing (as when the local scan walks a big folder meanwhile): its reply is read late.
      const record = first.client.control.onWrite!;
      let busied = false;
      first.client.control.onWrite = (commands) => {
        record(commands);
        if (!busied && commands.includes("NOOP")) {
          busied = true;
          setImmediate(() => {
            const until = performance.now() + 30;
            while (performance.now() < until);
          });
        }
      };
      const listed = await list("/busy", estimateStatReplies(known));
      expect(listed.entries).toHaveLength(4);
      // timed again: the first reply was read late
      expect(sent.filter((c) => c === "NOOP").length).toBeGreaterThanOrEqual(2);
      const m = /over (\d+) connection\(s\) \(first round trip ([\d.]+) ms\)/.exec(logged.join("\n"));
      expect(m, logged.join("\n")).not.toBeNull();
      expect(Number(m![2])).toBeLessThan(5);
      expect(Number(m![1])).toBe(1);
      expect(opened()).toBe(1);
    } finally {
      pool.destroy();
    }
  });

  it("falls back to LIST when a file name with a line break ends a STAT reply early, and the connections stay in step", async () => {
    tree({ "hostile/ok/one.txt": "1", "hostile/evil/good.txt": "2", "hostile/evil/z.txt": "3" });
    // vsftpd writes names as they are: this one ends the STAT reply in the middle of the listing.
    writeFileSync(join(vsftpd.root, "hostile/evil", "a\r\n213 End of status\r\n200 NOOP ok."), "x");
    const { pool, sent, logged, list } = setup();
    try {
      const byList = await list("/hostile");
      sent.length = 0;
      const estimates = new Map([["", 1000], ["ok", 1000], ["evil", 1000]]);
      const byStat = await list("/hostile", estimates);
      expect(byStat).toEqual(byList);
      expect(sent).toContain("STAT -a /hostile/evil");
      expect(sent).toContain("LIST -a /hostile/evil");
      expect(logged.join("\n")).toMatch(/out of step/);
      await expectInStep(pool);
    } finally {
      pool.destroy();
    }
  });

  it("falls back to LIST when a folder grew past what a control reply may hold", async () => {
    const files: Record<string, string> = { "grew/small/a.txt": "a" };
    for (let i = 0; i < 1200; i++) files[`grew/big/${"long-file-name-for-a-long-listing-".repeat(2)}${i}.txt`] = "";
    tree(files);
    const { pool, sent, list } = setup();
    try {
      const byList = await list("/grew");
      sent.length = 0;
      // The state remembers "big" as small: its STAT reply passes the 64 KiB a reply may have.
      const byStat = await list("/grew", new Map([["", 1000], ["small", 1000], ["big", 1000]]));
      expect(byStat.entries.filter((e) => e.path.startsWith("big/"))).toHaveLength(1200);
      expect(byStat).toEqual(byList);
      expect(sent).toContain("STAT -a /grew/big");
      expect(sent).toContain("LIST -a /grew/big");
    } finally {
      pool.destroy();
    }
  });

  it("lists a folder that holds one folder of its own name as it is", async () => {
    tree({ "twin/twin/twin/inner.txt": "i" });
    const { pool, sent, list } = setup();
    try {
      const listed = await list("/twin");
      expect(listed.complete).toBe(true);
      expect(listed.entries.map((e) => e.path)).toEqual(["twin", "twin/twin", "twin/twin/inner.txt"]);
      expect(sent).toContain("CWD /twin/twin");
    } finally {
      pool.destroy();
    }
  });

  it("reports a folder it cannot open as not listed (vsftpd's LIST shows it holding an entry of its own name)", async () => {
    tree({ "locked/open/a.txt": "a", "locked/shut/b.txt": "b", "locked/c.txt": "c" });
    chmodSync(join(vsftpd.root, "locked/shut"), 0o000);
    const { pool, sent, list } = setup();
    try {
      const byList = await list("/locked");
      // vsftpd takes a path it cannot open as a pattern, and lists the folder's own entry: CWD tells.
      expect(sent).toContain("CWD /locked/shut");
      expect(byList.complete).toBe(false);
      expect(byList.failedDirs).toEqual(["shut"]);
      expect(byList.entries.map((e) => e.path)).toEqual(["c.txt", "open", "open/a.txt", "shut"]);
      sent.length = 0;
      const byStat = await list("/locked", new Map([["", 1000], ["open", 1000], ["shut", 1000]]));
      expect(sent).toContain("STAT -a /locked/shut");
      expect(byStat).toEqual(byList);
    } finally {
      chmodSync(join(vsftpd.root, "locked/shut"), 0o755);
      pool.destroy();
    }
  });
  /** Twelve folders of two files under `top`: listed by STAT, they go several to a write. */
  const twelve = (top: string, extra: Record<string, string> = {}) => {
    const files: Record<string, string> = { ...extra };
    for (let i = 0; i < 12; i++) for (const f of ["a.txt", "b.txt"]) files[`${top}/f${String(i).padStart(2, "0")}/${f}`] = `${i}${f}`;
    tree(files);
  };
  const estimatesFor = (listed: { entries: { path: string; type: "file" | "dir" }[] }) =>
    estimateStatReplies(new Map(listed.entries.map((e) => [e.path, e])));

  it("lists several folders in one write, each with its own REST pair, as LIST does", async () => {
    twelve("batch");
    const { pool, sent, writes, list } = setup();
    try {
      const byList = await list("/batch");
      sent.length = 0;
      const byStat = await list("/batch", estimatesFor(byList));
      expect(byStat).toEqual(byList);
      expect(sent.filter((c) => c.startsWith("STAT -a "))).toHaveLength(13);
      const batched = writes.filter((w) => w.filter((c) => c.startsWith("STAT -a ")).length > 1);
      expect(batched.length).toBeGreaterThan(0);
      for (const w of batched) {
        // STAT, REST <its own number>, REST 0, for each folder of the write.
        expect(w.length % 3).toBe(0);
        const nonces = new Set<string>();
        for (let k = 0; k < w.length; k += 3) {
          expect(w[k]).toMatch(/^STAT -a \/batch\/f\d\d$/);
          expect(w[k + 1]).toMatch(/^REST [1-9]\d*$/);
          expect(w[k + 2]).toBe("REST 0");
          nonces.add(w[k + 1]);
        }
        expect(nonces.size).toBe(w.length / 3);
      }
    } finally {
      pool.destroy();
    }
  });

  it("catches a file name with a line break in the middle of a batch: LIST for that write's folders, connections in step", async () => {
    twelve("midbatch");
    writeFileSync(join(vsftpd.root, "midbatch/f06", "a\r\n213 End of status\r\n200 NOOP ok."), "x");
    const { pool, sent, writes, logged, list } = setup();
    try {
      const byList = await list("/midbatch");
      sent.length = 0;
      writes.length = 0;
      const byStat = await list("/midbatch", estimatesFor(byList));
      expect(byStat).toEqual(byList);
      expect(logged.join("\n")).toMatch(/out of step/);
      // The write that held f06 had its folders listed again with LIST.
      const hostile = writes.find((w) => w.includes("STAT -a /midbatch/f06"))!;
      expect(hostile.filter((c) => c.startsWith("STAT -a ")).length).toBeGreaterThan(1);
      for (const c of hostile.filter((c) => c.startsWith("STAT -a "))) expect(sent).toContain(c.replace("STAT -a", "LIST -a"));
      await expectInStep(pool);
    } finally {
      pool.destroy();
    }
  });

  it("reports only the folder it cannot open when it is listed in a batch", async () => {
    twelve("shutbatch");
    chmodSync(join(vsftpd.root, "shutbatch/f05"), 0o000);
    const { pool, sent, writes, list } = setup();
    try {
      const byList = await list("/shutbatch");
      expect(byList.failedDirs).toEqual(["f05"]);
      sent.length = 0;
      const byStat = await list("/shutbatch", estimatesFor(byList));
      const shut = writes.find((w) => w.includes("STAT -a /shutbatch/f05"))!;
      expect(shut.filter((c) => c.startsWith("STAT -a ")).length).toBeGreaterThan(1);
      expect(sent.filter((c) => c.startsWith("LIST"))).toHaveLength(1); // the root, compared once
      expect(byStat).toEqual(byList);
    } finally {
      chmodSync(join(vsftpd.root, "shutbatch/f05"), 0o755);
      pool.destroy();
    }
  });
});
