// Round trips of a download from a LIST-only server (vsftpd: times to the minute): the file's exact
// time (MDTM), needed to prove that the bytes received are the version listed, is asked in the
// transfer's own write, ahead of EPSV, instead of a write of its own before it.
import { chownSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeWorkspace } from "../helpers/workspace.js";
import { requireServers, startServer, type RunningServer } from "../servers/real-servers.js";

requireServers("vsftpd");

describe("a download from vsftpd (LIST, times to the minute)", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer("vsftpd", { tls: "explicit" });
  });
  afterAll(() => server?.stop());

  it("asks each file's exact time in the same write as its transfer, and the files arrive whole", async () => {
    const owner = statSync(server.root);
    mkdirSync(join(server.root, "job"));
    chownSync(join(server.root, "job"), owner.uid, owner.gid);
    for (const n of [1, 2, 3]) {
      const p = join(server.root, "job", `f${n}.txt`);
      writeFileSync(p, `file ${n}\n`);
      chownSync(p, owner.uid, owner.gid);
    }
    const ws = makeWorkspace(server, { fingerprint: server.fingerprint, maxConnections: 1 });
    try {
      const local = ws.folder("local");
      ws.writeJob("job", { remote: "srv", remotePath: "/job", local, direction: "download" });
      const r = await ws.cli(["-v", "sync", "job"]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      for (const n of [1, 2, 3]) expect(readFileSync(join(local, `f${n}.txt`), "utf8")).toBe(`file ${n}\n`);
      const writes = [...(r.stdout + r.stderr).matchAll(/\[ftp srv\] > (.*?)(?: job=job)?$/gm)].map((m) => m[1]);
      for (const n of [1, 2, 3]) {
        const path = `/job/f${n}.txt`;
        const mine = writes.filter((w) => w.includes(path));
        expect(mine, writes.join("\n")).toEqual([`MDTM ${path} | EPSV | RETR ${path} | SIZE ${path} | MDTM ${path}`]);
      }
    } finally {
      ws.cleanup();
    }
  });
});
