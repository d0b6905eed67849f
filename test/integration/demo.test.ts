// The embedded FTPS server (src/demo/ftps-server.ts) carries the project's own sync (upload,
// download, two-way) and refuses what an FTPS server must refuse; `ftps-sync demo` ends with
// equal trees, exit 0, no ANSI codes when not on a terminal, and no server left running.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RemoteConfig } from "../../src/config/types.js";
import { makeSelfSignedCertificate } from "../../src/demo/cert.js";
import { startDemoServer, type DemoServer } from "../../src/demo/ftps-server.js";
import { connectFtps, MAX_LISTING_BYTES, type FtpsConnection } from "../../src/protocol/connect.js";
import { FtpClient } from "../../src/protocol/engine/client.js";
import { ReplyError } from "../../src/protocol/engine/reply-error.js";
import { parseListing } from "../../src/protocol/listing-parse.js";
import { Secret } from "../../src/secret.js";
import { runCli } from "../helpers/cli.js";
import { openControl, sendLogin } from "../helpers/control.js";
import { edit, treeObject, writeTree } from "../helpers/trees.js";
import { makeWorkspace, type Workspace } from "../helpers/workspace.js";
import { lastJsonLine, type SyncJson } from "../helpers/sync-json.js";

const PASSWORD = "demo-test-Pw-3x";
const cert = makeSelfSignedCertificate();

async function sync(ws: Workspace, job: string): Promise<SyncJson> {
  const r = await ws.cli(["sync", job, "--json"]);
  const s = lastJsonLine(r.stdout, r.stderr);
  expect(r.code, r.stderr).toBe(s.status === "ok" ? 0 : 1);
  return s;
}

/** The demo server as a remote, its self-signed certificate pinned. */
function remoteOf(server: DemoServer, password = PASSWORD): RemoteConfig {
  return {
    name: "demo", host: server.host, port: server.port, tls: "explicit", user: "demo", password: new Secret(password),
    fingerprint: cert.fingerprint, maxConnections: 1, timeoutMs: 5000, maxTlsVersion: "1.3",
  };
}

/** A whole login through the product's engine (AUTH TLS, USER/PASS, PBSZ 0, PROT P). */
function login(server: DemoServer): Promise<FtpsConnection> {
  return connectFtps(remoteOf(server));
}

/** Certificate checks off: these tests are about what the server refuses once connected. */
const anyCertificate = { rejectUnauthorized: false };

describe("embedded FTPS server with the project's sync", () => {
  let root: string;
  let server: DemoServer;
  let ws: Workspace;
  let n = 0;
  const fresh = (job: Record<string, unknown>) => {
    const name = `job${++n}`;
    mkdirSync(join(root, name));
    const local = ws.folder(`local${n}`);
    ws.writeJob(name, { remote: "srv", remotePath: `/${name}`, local, ...job });
    return { name, local, remoteDir: join(root, name) };
  };

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), "ftps-sync-demo-root-"));
    server = await startDemoServer({ root, user: "demo", password: PASSWORD, cert: cert.certPem, key: cert.keyPem });
    ws = makeWorkspace({ host: server.host, port: server.port, user: "demo", password: PASSWORD }, { fingerprint: cert.fingerprint, maxConnections: 3 });
  });
  afterAll(async () => {
    ws?.cleanup();
    await server?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  const SAMPLE = {
    "a.txt": "alpha",
    "name with spaces.txt": "spaces",
    "café/naïve résumé.txt": "unicode",
    ".hidden": "dot",
    "deep/a/b/c.txt": "nested",
    "empty.txt": "",
    "big.bin": Buffer.alloc(3 * 1024 * 1024 + 17, 7),
  };

  it("check passes with the pinned certificate", async () => {
    const r = await ws.cli(["check"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain("trusted by:   pinned fingerprint");
    expect(r.stdout).toMatch(/capabilities: MLSD MFMT MDTM SIZE UTF8 REST STREAM/);
  });

  it("upload, then nothing to do, then edits and tracked deletions", async () => {
    const { name, local, remoteDir } = fresh({ direction: "upload", delete: "tracked" });
    writeTree(local, SAMPLE);
    const first = await sync(ws, name);
    expect(first).toMatchObject({ status: "ok", uploaded: 7, failed: 0 });
    expect(treeObject(remoteDir)).toEqual(treeObject(local));
    expect(await sync(ws, name)).toMatchObject({ status: "ok", uploaded: 0, deletedRemote: 0 });

    edit(local, "a.txt", "alpha, edited");
    rmSync(join(local, "deep"), { recursive: true });
    const second = await sync(ws, name);
    expect(second).toMatchObject({ status: "ok", uploaded: 1, failed: 0 });
    expect(second.deletedRemote).toBeGreaterThanOrEqual(1);
    expect(treeObject(remoteDir)).toEqual(treeObject(local));
  });

  it("download into an empty folder", async () => {
    const { name, local, remoteDir } = fresh({ direction: "download" });
    writeTree(remoteDir, SAMPLE);
    expect(await sync(ws, name)).toMatchObject({ status: "ok", downloaded: 7, failed: 0 });
    expect(treeObject(local)).toEqual(treeObject(remoteDir));
    expect(await sync(ws, name)).toMatchObject({ status: "ok", downloaded: 0 });
  });

  it("two-way: changes on each side reach the other", async () => {
    const { name, local, remoteDir } = fresh({ direction: "two-way", delete: "tracked" });
    writeTree(local, { "from-local.txt": "L", "shared.txt": "v1" });
    writeTree(remoteDir, { "from-remote.txt": "R" });
    expect(await sync(ws, name)).toMatchObject({ status: "ok", uploaded: 2, downloaded: 1, failed: 0 });
    expect(treeObject(local)).toEqual(treeObject(remoteDir));

    edit(local, "shared.txt", "v2 from local");
    edit(remoteDir, "from-remote.txt", "R, edited on the server");
    const s = await sync(ws, name);
    expect(s).toMatchObject({ status: "ok", uploaded: 1, downloaded: 1, conflicts: 0, failed: 0 });
    expect(treeObject(local)).toEqual(treeObject(remoteDir));
    expect(readFileSync(join(remoteDir, "shared.txt"), "utf8")).toBe("v2 from local");
  });

  it("every data connection resumed the control connection's TLS session", () => {
    expect(server.stats.dataConnections).toBeGreaterThan(10);
    expect(server.stats.resumedDataSessions).toBe(server.stats.dataConnections);
  });
});

describe("embedded FTPS server refusals", () => {
  let root: string;
  let outside: string;
  let server: DemoServer;

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), "ftps-sync-demo-jail-"));
    outside = mkdtempSync(join(tmpdir(), "ftps-sync-demo-outside-"));
    writeFileSync(join(outside, "secret.txt"), "outside the root");
    writeFileSync(join(root, "inside.txt"), "inside");
    symlinkSync(outside, join(root, "escape"));
    server = await startDemoServer({ root, user: "demo", password: PASSWORD, cert: cert.certPem, key: cert.keyPem });
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(root, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  it("refuses USER before AUTH TLS", async () => {
    const { control } = await openControl(server.host, server.port, { timeoutMs: 5000 });
    try {
      const reply = await control.request("USER demo");
      expect(reply.code, reply.message).toBe(530);
    } finally {
      control.close();
    }
  });

  it("refuses a wrong password", async () => {
    await expect(connectFtps(remoteOf(server, "wrong"))).rejects.toMatchObject({ code: 530 });
  });

  it("refuses clear data connections (PROT C) and data before PROT P", async () => {
    const { control } = await openControl(server.host, server.port, { tls: anyCertificate, timeoutMs: 5000 });
    try {
      const { pass } = await sendLogin(control, "demo", PASSWORD);
      expect(pass.code, pass.message).toBe(230);
      const client = new FtpClient(control, { options: anyCertificate }, MAX_LISTING_BYTES);
      await expect(client.list("", "MLSD")).rejects.toMatchObject({ code: 521 });
      await client.send("PBSZ 0");
      const protC = await control.request("PROT C");
      expect(protC.code, protC.message).toBe(534);
    } finally {
      control.close();
    }
  });

  it("refuses a data connection that does not resume the TLS session (522)", async () => {
    const c = await login(server);
    try {
      // The same logged-in control connection, its data connections offering no session to resume.
      const fresh = new FtpClient(c.client.control, { options: anyCertificate, trim: () => undefined as never }, MAX_LISTING_BYTES);
      expect(fresh.resumeSession).toBeUndefined();
      expect(c.client.resumeSession).toBeDefined();
      await expect(fresh.list("", c.listCommand)).rejects.toMatchObject({ code: 522 });
    } finally {
      c.close();
    }
  });

  it("keeps every path inside its root, also through symlinks", async () => {
    const c = await login(server);
    try {
      await c.client.send("CWD ../../..");
      expect((await c.client.send("PWD")).message).toMatch(/^257 "\/"/);
      expect(await c.client.size("/../../inside.txt")).toBe(6);
      await expect(c.client.size("escape/secret.txt")).rejects.toBeInstanceOf(ReplyError);
      await expect(c.client.upload(Readable.from([Buffer.from("x")]), "escape/new.txt")).rejects.toMatchObject({ code: 550 });
      expect(parseListing(await c.client.list("/", c.listCommand)).map((f) => f.name)).toEqual(["inside.txt"]);
      const [rnfr, rnto] = await c.client.sendAll(["RNFR inside.txt", "RNTO escape/moved.txt"]);
      expect(rnfr.code, rnfr.message).toBe(350);
      expect(rnto.code, rnto.message).toBe(550);
      expect(statSync(join(root, "inside.txt")).isFile()).toBe(true);
    } finally {
      c.close();
    }
  });

  it("answers 421 beyond its connection limit", async () => {
    const small = await startDemoServer({ root, user: "demo", password: PASSWORD, cert: cert.certPem, key: cert.keyPem, maxConnections: 1 });
    let first: FtpsConnection | undefined;
    try {
      first = await login(small);
      const { control, greeting } = await openControl(small.host, small.port, { timeoutMs: 5000 });
      control.close();
      expect(greeting.code, greeting.message).toBe(421);
    } finally {
      first?.close();
      await small.stop();
    }
  });
});

describe("ftps-sync demo", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "ftps-sync-demo-cli-"));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("syncs for real, ends with equal trees and exit 0, plain text when not on a terminal, nothing left running", async () => {
    const ws = join(dir, "ws");
    const started = Date.now();
    const r = await runCli(["demo", "--workspace", ws], { timeoutMs: 60_000 });
    const took = Date.now() - started;
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(took).toBeLessThan(45_000);
    expect(r.stdout).toContain("result: identical");
    expect(r.stdout + r.stderr).not.toMatch(/\x1b/);
    expect(r.stdout).toContain(`--config ${join(ws, "agent.config.json")} status`);

    // The trees agree, by content.
    const docs = treeObject(join(ws, "docs"));
    expect(Object.keys(docs).length).toBeGreaterThanOrEqual(8);
    expect(treeObject(join(ws, "docs-copy"))).toEqual(docs);
    expect(treeObject(join(ws, "server", "root", "docs"))).toEqual(docs);
    expect(docs["old/draft-to-delete.txt"]).toBeUndefined();

    // The password went into a 0600 file and the config names only the variable.
    const password = readFileSync(join(ws, "demo-password"), "utf8").trim();
    expect(statSync(join(ws, "demo-password")).mode & 0o077).toBe(0);
    const config = readFileSync(join(ws, "agent.config.json"), "utf8");
    expect(config).not.toContain(password);
    expect(JSON.parse(config).remotes.demo.password).toEqual({ env: "FTPS_SYNC_DEMO_PASSWORD" });
    expect(r.stdout + r.stderr).not.toContain(password);

    // The demo server is gone: its port refuses connections.
    const port = JSON.parse(config).remotes.demo.port as number;
    await expect(
      new Promise((resolve, reject) => {
        const s = net.connect(port, "127.0.0.1", () => {
          s.destroy();
          resolve("connected");
        });
        s.on("error", reject);
      }),
    ).rejects.toMatchObject({ code: "ECONNREFUSED" });

    // The printed commands work on the workspace left behind.
    const history = await runCli(["--config", join(ws, "agent.config.json"), "history"], { env: { FTPS_SYNC_DEMO_PASSWORD: password } });
    expect(history.code, history.stderr).toBe(0);
    expect(history.stdout).toContain("upload-docs");
  });

  it("refuses a workspace that is not empty", async () => {
    const ws = join(dir, "busy");
    mkdirSync(ws);
    writeFileSync(join(ws, "keep.txt"), "mine");
    const r = await runCli(["demo", "--workspace", ws]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain("is not empty");
    expect(readFileSync(join(ws, "keep.txt"), "utf8")).toBe("mine");
  });
});
