// A partner drop through the daemon (`run`) against vsftpd: a watch-only upload job with minAge,
// a done marker and an archive. The watch event finds the file too young; the agent runs the job
// again once it is old enough (trigger "minAge"), uploads it and moves it into the archive.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "../helpers/cli.js";
import { writeTree } from "../helpers/trees.js";
import { makeWorkspace, type Workspace } from "../helpers/workspace.js";
import { ensureTestUser, requireServers, startServer, type RunningServer } from "../servers/real-servers.js";

requireServers("vsftpd");

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number, log: () => string): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\n${log()}`);
    await sleep(100);
  }
}

const daemons = new Set<ChildProcess>();

describe("afterTransfer and minAge through the daemon", () => {
  let server: RunningServer;
  let ws: Workspace | undefined;
  beforeAll(async () => {
    server = await startServer("vsftpd", { tls: "explicit" });
  });
  afterEach(async () => {
    // Every daemon this file started is stopped by its PID.
    for (const child of [...daemons]) {
      child.kill("SIGKILL");
      await new Promise((r) => child.once("exit", r));
    }
  });
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
    const child = spawn(process.execPath, [CLI, "--config", ws.configPath, "run"], { env: { ...process.env, FTPS_SYNC_CONFIG: "", ...ws.env }, stdio: ["ignore", "pipe", "pipe"] });
    daemons.add(child);
    child.on("exit", () => daemons.delete(child));
    let out = "";
    child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
    const log = () => out;
    await waitFor("the start-up run", () => /run ok/.test(out), 20_000, log);

    writeFileSync(join(local, "invoice.csv"), "42;EUR\n");
    const written = Date.now();
    await waitFor("a run that held the file back", () => /1 file\(s\) held back/.test(out), 10_000, log);
    expect(existsSync(join(server.root, "drop", "invoice.csv"))).toBe(false);

    await waitFor("invoice.csv on the server", () => existsSync(join(server.root, "drop", "invoice.csv")), 15_000, log);
    expect(Date.now() - written).toBeGreaterThanOrEqual(3000);
    await waitFor("invoice.csv archived", () => existsSync(join(local, "sent", "invoice.csv")), 10_000, log);
    expect(readFileSync(join(server.root, "drop", "invoice.csv"), "utf8")).toBe("42;EUR\n");
    expect(existsSync(join(local, "invoice.csv"))).toBe(false);
    await waitFor("the done marker", () => existsSync(join(server.root, "drop", "_DONE")), 10_000, log);
    expect(out).toMatch(/run started \(minAge\)/);
    expect(existsSync(join(server.root, "drop", "sent"))).toBe(false);
  }, 90_000);
});
