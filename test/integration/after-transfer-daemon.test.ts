// A partner drop through the daemon (`run`) against vsftpd: a watch-only upload job with minAge,
// a done marker and an archive. The watch event finds the file too young; the agent runs the job
// again once it is old enough (trigger "minAge"), uploads it and moves it into the archive.
import { existsSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startDaemon, stopDaemons } from "../helpers/daemon.js";
import { writeTree } from "../helpers/trees.js";
import { makeWorkspace, type Workspace } from "../helpers/workspace.js";
import { ensureTestUser, requireServers, startServer, type RunningServer } from "../servers/real-servers.js";

requireServers("vsftpd");

describe("afterTransfer and minAge through the daemon", () => {
  let server: RunningServer;
  let ws: Workspace | undefined;
  beforeAll(async () => {
    server = await startServer("vsftpd", { tls: "explicit" });
  });
  afterEach(stopDaemons);
  afterAll(async () => {
    ws?.cleanup();
    await server?.stop();
  });

  it("a partner drop (watch, minAge 3s, done marker, archive): the file too young at its watch event is uploaded and archived once old enough", async () => {
    const owner = await ensureTestUser();
    writeTree(server.root, { "drop/.keep": "" }, owner);
    unlinkSync(join(server.root, "drop", ".keep"));
    ws = makeWorkspace(server, { fingerprint: server.fingerprint, maxConnections: 2 });
    const local = ws.folder("outbox");
    ws.writeJob("drop", {
      remote: "srv", remotePath: "/drop", local, direction: "upload", watch: true, watchDebounce: "200ms",
      minAge: "3s", doneMarker: "_DONE", afterTransfer: { archive: "sent" },
    });
    const agent = startDaemon(ws);
    await agent.waitFor("the start-up run", () => /run ok/.test(agent.log()), 20_000);

    writeFileSync(join(local, "invoice.csv"), "42;EUR\n");
    const written = Date.now();
    await agent.waitFor("a run that held the file back", () => /1 file\(s\) held back/.test(agent.log()), 10_000);
    expect(existsSync(join(server.root, "drop", "invoice.csv"))).toBe(false);

    await agent.waitFor("invoice.csv on the server", () => existsSync(join(server.root, "drop", "invoice.csv")), 15_000);
    expect(Date.now() - written).toBeGreaterThanOrEqual(3000);
    await agent.waitFor("invoice.csv archived", () => existsSync(join(local, "sent", "invoice.csv")), 10_000);
    expect(readFileSync(join(server.root, "drop", "invoice.csv"), "utf8")).toBe("42;EUR\n");
    expect(existsSync(join(local, "invoice.csv"))).toBe(false);
    await agent.waitFor("the done marker", () => existsSync(join(server.root, "drop", "_DONE")), 10_000);
    expect(agent.log()).toMatch(/run started \(minAge\)/);
    expect(existsSync(join(server.root, "drop", "sent"))).toBe(false);
  }, 90_000);
});
