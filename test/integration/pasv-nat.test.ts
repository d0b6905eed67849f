// A server behind NAT (or misconfigured, or hostile) names in its PASV reply an address the agent
// must not connect to: its private address (10.x, 192.168.x), or a foreign host. With EPSV refused
// (old servers, appliances), PASV is the only passive mode: the agent takes the port, connects to
// the control connection's host, says so once, and remembers both the EPSV refusal and the
// ignored address in the server's capability profile, so the next run starts with PASV.
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO, runCli } from "../helpers/cli.js";
import { testTempDir } from "../helpers/temp-dir.js";
import { makeWorkspace, type Workspace } from "../helpers/workspace.js";
import { startPyftpd, type PyftpdServer } from "../servers/pyftpd.js";
import { requireServers } from "../servers/real-servers.js";
import { openState } from "../../src/state/index.js";

requireServers("pyftpdlib");

const RECORDER = resolve(REPO, "test/helpers/connect-recorder.cjs");

/** `sync job` through the CLI, every outgoing TCP connection it made recorded as "host:port". */
async function syncRecorded(ws: Workspace, job: string): Promise<{ code: number | null; stderr: string; connections: string[] }> {
  const log = join(testTempDir("connects"), "connects.log");
  writeFileSync(log, "");
  const r = await runCli(["--config", ws.configPath, "sync", job], {
    env: { ...ws.env, NODE_OPTIONS: `--require ${RECORDER}`, FTPS_SYNC_TEST_CONNECT_LOG: log },
    timeoutMs: 50_000,
  });
  return { code: r.code, stderr: r.stderr, connections: readFileSync(log, "utf8").split("\n").filter(Boolean) };
}

const count = (text: string, re: RegExp) => (text.match(new RegExp(re.source, "g")) ?? []).length;

describe.each([
  ["10.1.2.3", "a private address"],
  ["192.168.7.9", "a private address"],
  ["203.0.113.50", "another host than the one connected to"],
])("a server that refuses EPSV and names %s in its PASV replies", (masquerade, kind) => {
  let server: PyftpdServer;
  let ws: Workspace;
  beforeAll(async () => {
    server = await startPyftpd({ behaviours: ["epsv-refused"], masquerade });
    ws = makeWorkspace(server, { fingerprint: server.fingerprint, maxConnections: 2 });
  });
  afterAll(async () => {
    ws?.cleanup();
    await server?.stop();
  });

  it("gets a whole job done over data connections to the control host only, says so once, and the next run starts with PASV", async () => {
    // A download job: listings (MLSD) and transfers (RETR), each over its own data connection.
    const local = ws.folder("local");
    mkdirSync(join(server.root, "job", "sub"), { recursive: true });
    for (let i = 0; i < 5; i++) writeFileSync(join(server.root, "job", `f${i}.txt`), `file ${i}`);
    writeFileSync(join(server.root, "job", "sub", "deep.txt"), "deep");
    ws.writeJob("job", { remote: "srv", remotePath: "/job", local, direction: "download" });

    const first = await syncRecorded(ws, "job");
    expect(first.code, first.stderr.slice(-3000)).toBe(0);
    expect(readFileSync(join(local, "f3.txt"), "utf8")).toBe("file 3");
    expect(readFileSync(join(local, "sub", "deep.txt"), "utf8")).toBe("deep");
    // every connection (control and data) went to the server's own address
    expect(first.connections.length).toBeGreaterThan(3);
    expect(first.connections.filter((c) => !c.startsWith("127.0.0.1:"))).toEqual([]);
    expect(first.connections.some((c) => c.startsWith(`${masquerade}:`))).toBe(false);
    // one log line each, not one per file or per connection
    expect(count(first.stderr, /EPSV refused \(500 [^)]*\): passive mode by PASV/)).toBe(1);
    expect(count(first.stderr, new RegExp(`PASV replies name ${masquerade.replace(/\./g, "\\.")}, ${kind}`))).toBe(1);
    expect(first.stderr).toMatch(/go to the control connection's host \(127\.0\.0\.1\) instead, never to another host/);

    const state = openState(join(ws.dir, "state"));
    try {
      const off = state.capabilities.techniquesOff("srv", server.host, server.port);
      expect(off.epsv).toMatch(/^EPSV refused \(500 .*\): passive mode by PASV$/);
      expect(off.pasvAddress).toContain(`PASV replies name ${masquerade}, ${kind}`);
    } finally {
      state.close();
    }

    // The next run: PASV from the start (the server is asked EPSV no more), and nothing logged again.
    const epsvBefore = count(await server.log(), /EPSV refused/);
    expect(epsvBefore).toBeGreaterThan(0);
    writeFileSync(join(server.root, "job", "later.txt"), "later");
    const second = await syncRecorded(ws, "job");
    expect(second.code, second.stderr.slice(-3000)).toBe(0);
    expect(readFileSync(join(local, "later.txt"), "utf8")).toBe("later");
    expect(count(await server.log(), /EPSV refused/)).toBe(epsvBefore);
    expect(second.stderr).not.toMatch(/EPSV refused|PASV replies name/);
    expect(second.connections.filter((c) => !c.startsWith("127.0.0.1:"))).toEqual([]);
  });
});
