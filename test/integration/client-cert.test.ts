// Mutual TLS: a partner's ProFTPD that requires a client certificate (TLSVerifyClient on) signed by
// a CA it trusts (TLSCACertificateFile). The remote's clientCert and clientKey files, the key's
// passphrase from an environment variable or a file (like a password), on the control and the data
// connections; clear errors for a missing certificate, a stranger's, and a bad configuration (exit
// 2, before connecting); the passphrase never printed, logged or stored.
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateClientCerts, type ClientCerts } from "../helpers/client-certs.js";
import { testTempDir } from "../helpers/temp-dir.js";
import { makeWorkspace, type Workspace } from "../helpers/workspace.js";
import { requireServers, startServer, type RunningServer } from "../servers/real-servers.js";

requireServers("proftpd");

const PASSPHRASE_ENV = "FTPS_SYNC_TEST_KEY_PASSPHRASE";

/** Every file under `dir`, as text (the state database included), for a search for a secret. */
function everyFileText(dir: string): string {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => readFileSync(join(e.parentPath, e.name)).toString("latin1"))
    .join("\n");
}

describe.each(["explicit", "implicit"] as const)("ProFTPD requiring client certificates, %s TLS", (tls) => {
  let certs: ClientCerts;
  let server: RunningServer;
  const workspaces: Workspace[] = [];
  /** A workspace whose remote "srv" has `remote` added (the CA pinned through "ca"). */
  const workspace = (remote: Record<string, unknown>) => {
    const ws = makeWorkspace(server, { tls, ca: server.certPath, host: "localhost", ...remote });
    ws.env[PASSPHRASE_ENV] = certs.passphrase;
    workspaces.push(ws);
    return ws;
  };
  beforeAll(async () => {
    certs = await generateClientCerts(testTempDir("client-certs"));
    server = await startServer("proftpd", {
      tls,
      extraConfig: ["TLSVerifyClient on", `TLSCACertificateFile ${certs.caPath}`],
      // the harness's own greeting probe (implicit: a TLS handshake) must show a certificate too
      probeClientCert: { certPath: certs.certPath, keyPath: certs.plainKeyPath },
    });
  });
  afterAll(async () => {
    for (const ws of workspaces) ws.cleanup();
    await server?.stop();
  });

  it("syncs a job with the certificate and its encrypted key, the passphrase from an environment variable, and never shows the passphrase", async () => {
    const ws = workspace({ clientCert: certs.certPath, clientKey: certs.keyPath, clientKeyPassphrase: { env: PASSPHRASE_ENV } });
    const local = ws.folder("local");
    writeFileSync(join(local, "report.csv"), "a,b\n1,2\n");
    ws.writeJob("up", { remote: "srv", remotePath: "/mtls", local, direction: "upload" });
    const r = await ws.cli(["sync", "up", "-v"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(readFileSync(join(server.root, "mtls", "report.csv"), "utf8")).toBe("a,b\n1,2\n");

    // and back: listings and a download over data connections, under the same certificate
    const back = ws.folder("back");
    ws.writeJob("down", { remote: "srv", remotePath: "/mtls", local: back, direction: "download" });
    const d = await ws.cli(["sync", "down"]);
    expect(d.code, d.stdout + d.stderr).toBe(0);
    expect(readFileSync(join(back, "report.csv"), "utf8")).toBe("a,b\n1,2\n");

    const c = await ws.cli(["check"]);
    expect(c.code, c.stdout + c.stderr).toBe(0);
    for (const text of [r.stdout, r.stderr, d.stdout, d.stderr, c.stdout, c.stderr, everyFileText(ws.dir)]) {
      expect(text).not.toContain(certs.passphrase);
    }
  });

  it("reads the passphrase from a file too", async () => {
    const dir = testTempDir("passphrase");
    const file = join(dir, "key.pass");
    writeFileSync(file, certs.passphrase + "\n", { mode: 0o600 });
    const ws = workspace({ clientCert: certs.certPath, clientKey: certs.keyPath, clientKeyPassphrase: { file } });
    const r = await ws.cli(["check"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain("result:       ok");
  });

  it("without a client certificate: exit 4, saying the server requires one and which keys to set", async () => {
    const ws = workspace({});
    const started = Date.now();
    const r = await ws.cli(["check"]);
    expect(r.code, r.stdout + r.stderr).toBe(4);
    expect(r.stdout + r.stderr).toContain('the server requires a client certificate (mutual TLS): set "clientCert" and "clientKey" for this remote');
    // not a timeout: the refusal is read from the TLS alert
    expect(r.stdout + r.stderr).not.toMatch(/timeout/);
    expect(Date.now() - started).toBeLessThan(20_000);
  });

  it("with a certificate from a CA the server does not trust: exit 4, saying the server refused it", async () => {
    const ws = workspace({ clientCert: certs.strangerCertPath, clientKey: certs.strangerKeyPath });
    const r = await ws.cli(["check"]);
    expect(r.code, r.stdout + r.stderr).toBe(4);
    expect(r.stdout + r.stderr).toMatch(/the server (refused the client certificate|asked for a client certificate and did not take the one given)/);
  });
  it("never uploads the certificate, key or passphrase files when they lie inside the job's folder", async () => {
    const local = testTempDir("own-keys");
    copyFileSync(certs.certPath, join(local, "client.crt"));
    copyFileSync(certs.keyPath, join(local, "client.key"));
    writeFileSync(join(local, "key.pass"), certs.passphrase, { mode: 0o600 });
    writeFileSync(join(local, "data.txt"), "data");
    const ws = workspace({ clientCert: join(local, "client.crt"), clientKey: join(local, "client.key"), clientKeyPassphrase: { file: join(local, "key.pass") } });
    ws.writeJob("own", { remote: "srv", remotePath: "/own", local, direction: "upload" });
    const r = await ws.cli(["sync", "own"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(readdirSync(join(server.root, "own"))).toEqual(["data.txt"]);
  });
});

describe("client certificate settings that cannot work: exit 2 before anything connects", () => {
  let certs: ClientCerts;
  const workspaces: Workspace[] = [];
  // Nothing listens on this port: a check that got past the configuration would fail with exit 4.
  const nowhere = { host: "127.0.0.1", port: 9, user: "u", password: "p" };
  const check = async (remote: Record<string, unknown>, env: Record<string, string> = {}) => {
    const ws = makeWorkspace(nowhere, { fingerprint: "sha256:" + "AB:".repeat(31) + "AB", ...remote });
    Object.assign(ws.env, env);
    workspaces.push(ws);
    return ws.cli(["check"]);
  };
  beforeAll(async () => {
    certs = await generateClientCerts(testTempDir("client-certs"));
  });
  afterAll(() => {
    for (const ws of workspaces) ws.cleanup();
  });

  it.each([
    ["a missing certificate file", () => ({ clientCert: "/nonexistent/client.crt", clientKey: certs.plainKeyPath }), /field "remotes\.srv\.clientCert": cannot read client certificate file \/nonexistent\/client\.crt: no such file/],
    ["a folder for the key", () => ({ clientCert: certs.certPath, clientKey: testTempDir("not-a-key") }), /field "remotes\.srv\.clientKey": client key file .* is not a regular file/],
    ["a key that is no key", () => ({ clientCert: certs.certPath, clientKey: certs.certPath }), /field "remotes\.srv\.clientKey": client key file .* does not contain a PEM private key/],
    ["a certificate file that is no certificate", () => ({ clientCert: certs.plainKeyPath, clientKey: certs.plainKeyPath }), /field "remotes\.srv\.clientCert": client certificate file .* does not contain a PEM certificate/],
    ["a certificate without its key", () => ({ clientCert: certs.certPath }), /field "remotes\.srv\.clientKey": is required with "clientCert"/],
    ["a key without its certificate", () => ({ clientKey: certs.plainKeyPath }), /field "remotes\.srv\.clientCert": is required with "clientKey"/],
    ["an encrypted key without a passphrase", () => ({ clientCert: certs.certPath, clientKey: certs.keyPath }), /field "remotes\.srv\.clientKeyPassphrase": is required: the client key in .* is encrypted/],
    ["a wrong passphrase", () => ({ clientCert: certs.certPath, clientKey: certs.keyPath, clientKeyPassphrase: { env: "WRONG_PASSPHRASE" } }), /field "remotes\.srv\.clientKeyPassphrase": cannot decrypt the client key in .*: wrong passphrase/],
    ["a passphrase variable that is not set", () => ({ clientCert: certs.certPath, clientKey: certs.keyPath, clientKeyPassphrase: { env: "UNSET_PASSPHRASE_VAR" } }), /field "remotes\.srv\.clientKeyPassphrase": environment variable UNSET_PASSPHRASE_VAR is not set/],
    ["a passphrase written in the config", () => ({ clientCert: certs.certPath, clientKey: certs.keyPath, clientKeyPassphrase: "hunter2-literal" }), /field "remotes\.srv\.clientKeyPassphrase": a passphrase must not be written in the config/],
    ["a key that belongs to another certificate", () => ({ clientCert: certs.certPath, clientKey: certs.strangerKeyPath }), /field "remotes\.srv\.clientKey": the private key in .* does not belong to the client certificate in /],
  ])("%s", async (_what, remote, message) => {
    const r = await check(remote(), { WRONG_PASSPHRASE: "not the passphrase" });
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stdout + r.stderr).not.toContain("hunter2-literal");
    expect(r.stdout + r.stderr).not.toContain("not the passphrase");
  });
});
