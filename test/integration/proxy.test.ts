// A remote reached only through a proxy ("proxy" on the remote): SOCKS5 and HTTP CONNECT, each
// with a user and a password (from an environment variable or a file), against vsftpd in explicit
// and implicit TLS. The server's name (ftps.partner.test) resolves only at the proxy: a connection
// that bypassed it could not even find the host, so a job that succeeds went through it whole, and
// the proxy's list of relayed connections shows the control and the data connections. The
// certificate is verified against that name (its only SAN), through the tunnel. Wrong credentials:
// exit 4 with a clear message; the proxy's password appears in no output, log or state file.
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { testTempDir } from "../helpers/temp-dir.js";
import { makeWorkspace, type Workspace } from "../helpers/workspace.js";
import { startHttpConnectProxy } from "../servers/http-connect-proxy.js";
import { requireServers, startServer, type RunningServer } from "../servers/real-servers.js";
import { startSocks5Proxy, type TestProxy } from "../servers/socks5-proxy.js";

requireServers("vsftpd", "proftpd");

const NAME = "ftps.partner.test";
const PROXY_USER = "relay-user";
const PROXY_PASSWORD = "Pr0xy-secret-7Hq";
const PROXY_PASSWORD_ENV = "FTPS_SYNC_TEST_PROXY_PASSWORD";

const START = { socks5: startSocks5Proxy, http: startHttpConnectProxy } as const;

/** 2 MiB that no reordering or lost chunk in the tunnel could leave unchanged. */
const BIG = randomBytes(2 * 1024 * 1024);

/** Every file under `dir`, as text (the state database included), for a search for a secret. */
function everyFileText(dir: string): string {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => readFileSync(join(e.parentPath, e.name)).toString("latin1"))
    .join("\n");
}

// ProFTPD ends a listing's data connection at once after its last record (close_notify and FIN
// together): through SOCKS5 the listing never ended while the tunnel closed itself at its end of
// stream (dial.ts TunnelSocket, half-open since).
const SERVERS = [
  ["vsftpd", "explicit"],
  ["vsftpd", "implicit"],
  ["proftpd", "explicit"],
  ["proftpd", "implicit"],
] as const;

describe.each(SERVERS)("%s, %s TLS, reached only through a proxy", (kind, tls) => {
  let server: RunningServer;
  const workspaces: Workspace[] = [];
  const proxies: TestProxy[] = [];
  beforeAll(async () => {
    server = await startServer(kind, { tls, certHosts: [NAME] });
  });
  afterEach(async () => {
    for (const p of proxies.splice(0)) await p.close();
  });
  afterAll(async () => {
    for (const ws of workspaces) ws.cleanup();
    await server?.stop();
  });

  const startProxy = async (type: "socks5" | "http", credentials = { user: PROXY_USER, password: PROXY_PASSWORD }) => {
    const proxy = await START[type]({ credentials, hosts: { [NAME]: "127.0.0.1" } });
    proxies.push(proxy);
    return proxy;
  };
  const workspace = (proxy: Record<string, unknown>) => {
    const ws = makeWorkspace({ ...server, host: NAME }, { tls, ca: server.certPath, proxy });
    ws.env[PROXY_PASSWORD_ENV] = PROXY_PASSWORD;
    workspaces.push(ws);
    return ws;
  };

  it.each(["socks5", "http"] as const)("%s: syncs both ways with every connection, control and data, through the proxy", async (type) => {
    const proxy = await startProxy(type);
    const ws = workspace({ type, host: "127.0.0.1", port: proxy.port, user: PROXY_USER, password: { env: PROXY_PASSWORD_ENV } });
    const local = ws.folder("local");
    writeFileSync(join(local, "a.txt"), "through the proxy\n");
    writeFileSync(join(local, "b.bin"), BIG);
    const folder = `/proxied-${type}`;
    ws.writeJob("up", { remote: "srv", remotePath: folder, local, direction: "upload" });
    const up = await ws.cli(["sync", "up", "-v"]);
    expect(up.code, up.stdout + up.stderr).toBe(0);
    expect(readFileSync(join(server.root, folder, "a.txt"), "utf8")).toBe("through the proxy\n");

    const back = ws.folder("back");
    ws.writeJob("down", { remote: "srv", remotePath: folder, local: back, direction: "download" });
    const down = await ws.cli(["sync", "down", "-v"]);
    expect(down.code, down.stdout + down.stderr).toBe(0);
    expect(readFileSync(join(back, "a.txt"), "utf8")).toBe("through the proxy\n");
    expect(readFileSync(join(server.root, folder, "b.bin")).equals(BIG)).toBe(true);
    expect(readFileSync(join(back, "b.bin")).equals(BIG)).toBe(true);

    // Every relayed connection went to the server's name; control ones to its port, the rest
    // to passive ports: at least two uploads, the download job's listing and two downloads.
    expect(proxy.relayed.every((r) => r.startsWith(`${NAME}:`)), proxy.relayed.join(", ")).toBe(true);
    const control = proxy.relayed.filter((r) => r === `${NAME}:${server.port}`);
    const data = proxy.relayed.filter((r) => r !== `${NAME}:${server.port}`);
    expect(control.length).toBeGreaterThanOrEqual(2);
    expect(data.length).toBeGreaterThanOrEqual(5);
    for (const r of data) {
      const port = Number(r.split(":").pop());
      expect(port).toBeGreaterThanOrEqual(server.passivePorts[0]);
      expect(port).toBeLessThanOrEqual(server.passivePorts[1]);
    }
    expect(proxy.refusedAuth).toBe(0);
    for (const text of [up.stdout, up.stderr, down.stdout, down.stderr, everyFileText(ws.dir)]) expect(text).not.toContain(PROXY_PASSWORD);
  });

  it.each(["socks5", "http"] as const)("%s: a wrong proxy password fails with exit 4, saying the proxy refused the user, and is never shown", async (type) => {
    const proxy = await startProxy(type, { user: PROXY_USER, password: "the-right-one" });
    const ws = workspace({ type, host: "127.0.0.1", port: proxy.port, user: PROXY_USER, password: { env: PROXY_PASSWORD_ENV } });
    const local = ws.folder("local");
    writeFileSync(join(local, "a.txt"), "x");
    ws.writeJob("up", { remote: "srv", remotePath: "/never", local, direction: "upload" });
    const r = await ws.cli(["sync", "up"]);
    expect(r.code, r.stdout + r.stderr).toBe(4);
    expect(r.stdout + r.stderr).toContain(`proxy refused the user "${PROXY_USER}" and its password`);
    expect(proxy.refusedAuth).toBeGreaterThanOrEqual(1);
    expect(proxy.relayed).toEqual([]);
    for (const text of [r.stdout, r.stderr, everyFileText(ws.dir)]) expect(text).not.toContain(PROXY_PASSWORD);
  });

  it.each(["socks5", "http"] as const)("%s: a proxy that wants credentials, given none, fails with exit 4 saying so", async (type) => {
    const proxy = await startProxy(type);
    const ws = workspace({ type, host: "127.0.0.1", port: proxy.port });
    const r = await ws.cli(["check"]);
    expect(r.code, r.stdout + r.stderr).toBe(4);
    expect(r.stdout + r.stderr).toContain("proxy wants authentication");
    expect(proxy.relayed).toEqual([]);
  });

  it("names the TLS mode the port speaks when the config has the other one, probing through the proxy too", async () => {
    const proxy = await startProxy("socks5");
    const other = tls === "explicit" ? "implicit" : "explicit";
    const ws = makeWorkspace({ ...server, host: NAME }, { tls: other, port: server.port, ca: server.certPath, proxy: { type: "socks5", host: "127.0.0.1", port: proxy.port, user: PROXY_USER, password: { env: PROXY_PASSWORD_ENV } } });
    ws.env[PROXY_PASSWORD_ENV] = PROXY_PASSWORD;
    workspaces.push(ws);
    const r = await ws.cli(["check"]);
    expect(r.code, r.stdout + r.stderr).toBe(4);
    expect(r.stdout + r.stderr).toContain(tls === "explicit" ? "this port speaks plain FTP first" : "this port speaks TLS from the first byte");
    expect(proxy.relayed.length).toBeGreaterThanOrEqual(2);
  });

  it.each(["socks5", "http"] as const)("%s: `fingerprint --remote srv` reads the server's certificate through the proxy, where the bare name cannot even be found", async (type) => {
    const proxy = await startProxy(type);
    const ws = workspace({ type, host: "127.0.0.1", port: proxy.port, user: PROXY_USER, password: { env: PROXY_PASSWORD_ENV } });
    const r = await ws.cli(["fingerprint", "--remote", "srv"]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe(server.fingerprint);
    expect(r.stderr).toContain(`# ${NAME}:${server.port} (${tls} TLS`);
    expect(r.stderr).toContain(`through the ${type} proxy 127.0.0.1:${proxy.port}`);
    expect(proxy.relayed).toEqual([`${NAME}:${server.port}`]);
    expect(r.stdout + r.stderr).not.toContain(PROXY_PASSWORD);
    // the same target named directly, without the proxy: not found (so the above went through it)
    const direct = await ws.cli(["fingerprint", `${NAME}:${server.port}`, ...(tls === "implicit" ? ["--implicit"] : []), "--timeout", "5"]);
    expect(direct.code).toBe(4);
  });

  it("reads the proxy password from a file too", async () => {
    const dir = testTempDir("proxy-pass");
    const file = join(dir, "proxy.pass");
    writeFileSync(file, PROXY_PASSWORD + "\n", { mode: 0o600 });
    const proxy = await startProxy("socks5");
    const ws = workspace({ type: "socks5", host: "127.0.0.1", port: proxy.port, user: PROXY_USER, password: { file } });
    const r = await ws.cli(["check"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    // check says which proxy it went through
    expect(r.stdout).toContain(`srv: ${NAME}:${server.port} (${tls} TLS, through the SOCKS5 proxy 127.0.0.1:${proxy.port})`);
    expect(proxy.relayed.length).toBeGreaterThanOrEqual(1);
    expect(r.stdout + r.stderr).not.toContain(PROXY_PASSWORD);
  });
});

describe("a proxy that refuses the connection it is asked for", () => {
  const workspaces: Workspace[] = [];
  const proxies: TestProxy[] = [];
  afterAll(async () => {
    for (const p of proxies) await p.close();
    for (const ws of workspaces) ws.cleanup();
  });
  // Nothing is reached: the proxy refuses every CONNECT.
  const nowhere = { host: "ftps.partner.test", port: 2121, user: "u", password: "p" };

  it("SOCKS5 reply 5: exit 4, naming the proxy, the target and the reply", async () => {
    const proxy = await startSocks5Proxy({ refuseWith: 5 });
    proxies.push(proxy);
    const ws = makeWorkspace(nowhere, { proxy: { type: "socks5", host: "127.0.0.1", port: proxy.port }, timeoutSeconds: 5 });
    workspaces.push(ws);
    const r = await ws.cli(["check"]);
    expect(r.code, r.stdout + r.stderr).toBe(4);
    expect(r.stdout + r.stderr).toContain("proxy refused the connection to ftps.partner.test:2121 (SOCKS5 reply 5: connection refused)");
  });

  it("HTTP 403: exit 4, naming the proxy, the target and the status", async () => {
    const proxy = await startHttpConnectProxy({ refuseWith: 403 });
    proxies.push(proxy);
    const ws = makeWorkspace(nowhere, { proxy: { type: "http", host: "127.0.0.1", port: proxy.port }, timeoutSeconds: 5 });
    workspaces.push(ws);
    const r = await ws.cli(["check"]);
    expect(r.code, r.stdout + r.stderr).toBe(4);
    expect(r.stdout + r.stderr).toContain(`HTTP proxy 127.0.0.1:${proxy.port}: proxy refused the connection to ftps.partner.test:2121 (HTTP 403 Refused)`);
  });

  it("a proxy that is not listening: exit 4, saying the proxy cannot be reached", async () => {
    const ws = makeWorkspace(nowhere, { proxy: { type: "socks5", host: "127.0.0.1", port: 9 }, timeoutSeconds: 5 });
    workspaces.push(ws);
    const r = await ws.cli(["check"]);
    expect(r.code, r.stdout + r.stderr).toBe(4);
    expect(r.stdout + r.stderr).toContain("cannot reach the SOCKS5 proxy 127.0.0.1:9: ECONNREFUSED");
  });
});
