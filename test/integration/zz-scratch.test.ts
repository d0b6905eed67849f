import { join } from "node:path";
import { it } from "vitest";
import { ensureTestUser, requireServers, startServer } from "../servers/real-servers.js";
import { makeWorkspace } from "../helpers/workspace.js";
import { writeTree } from "../helpers/trees.js";

requireServers("vsftpd");
it("scratch: wire log", { timeout: 120_000 }, async () => {
  const owner = await ensureTestUser();
  const server = await startServer((process.env.KIND ?? "vsftpd") as "vsftpd", { tls: "explicit" });
  const ws = makeWorkspace(server, { fingerprint: server.fingerprint, maxConnections: 1 });
  writeTree(server.root, { "up/.keep": "", "down/a/1.txt": "1", "down/a/2.txt": "22", "down/b/3.txt": "333" }, owner);
  const local = ws.folder("l-up");
  writeTree(local, { "a/1.txt": "1", "a/2.txt": "22", "b/3.txt": "333" });
  ws.writeJob("up", { remote: "srv", remotePath: "/up", local, direction: "upload" });
  ws.writeJob("down", { remote: "srv", remotePath: "/down", local: ws.folder("l-down"), direction: "download" });
  for (const job of ["up", "up", "down"]) {
    const r = await ws.cli(["sync", job, "-v"]);
    console.log(`==== ${job} exit ${r.code}\n` + (r.stdout + r.stderr).split("\n").filter((l) => /\[ftp|error|warn/i.test(l)).map((l) => l.replace(/^.*\[ftp srv\] /, "")).join("\n"));
  }
  ws.cleanup();
  await server.stop();
});
