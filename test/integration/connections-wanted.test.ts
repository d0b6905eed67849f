// An upload job opens no more connections ahead of need than its local files and folders can use
// (src/sync/gather.ts, Sources.connectionsWanted): one file goes over one connection, and the
// server logs in no one else (each login costs it a password hash, CPU the transfer then shares
// the cores with). A job with more files than connections still opens them all. Against the
// scripted hostile server, which counts the control connections made to it, on an MLSD server
// and on a LIST-only one (the two places a run opens connections before the plan).
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeWorkspace } from "../helpers/workspace.js";
import { generateCert, type GeneratedCert } from "../servers/certs.js";
import { startHostileServer, type HostileOptions } from "../servers/hostile-ftps.js";
import { testTempDir } from "../helpers/temp-dir.js";

const LIST_ONLY = ["SIZE", "MDTM", "UTF8", "EPSV", "PASV"];

describe("connections opened ahead of need by an upload job", () => {
  let cert: GeneratedCert;
  const cleanups: (() => Promise<void> | void)[] = [];
  beforeAll(async () => {
    cert = await generateCert(testTempDir("connections-wanted-certs"), { name: "connections" });
  });
  afterAll(async () => {
    for (const c of cleanups) await c();
  });

  /** A run of an upload job of `files` files into an empty remote folder, with 4 connections allowed. */
  const run = async (files: number, opts: Omit<HostileOptions, "cert" | "key" | "listings"> = {}) => {
    const s = await startHostileServer({ cert: cert.certPem, key: cert.keyPem, listings: { "/job": "" }, ...opts });
    const ws = makeWorkspace({ host: "127.0.0.1", port: s.port, user: "alice", password: "conn-pw-4Rt" }, { fingerprint: cert.fingerprint, timeoutSeconds: 10, maxConnections: 4 });
    cleanups.push(() => ws.cleanup(), () => s.stop());
    const local = ws.folder("local");
    for (let i = 0; i < files; i++) writeFileSync(join(local, `f${i}.bin`), `file ${i}\n`.repeat(1000));
    ws.writeJob("job", { remote: "srv", remotePath: "/job", local, direction: "upload" });
    const r = await ws.cli(["sync", "job"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    for (let i = 0; i < files; i++) expect(s.remoteFile(`/job/f${i}.bin`)).toBe(`file ${i}\n`.repeat(1000));
    return s;
  };

  it("one file on an MLSD server: one connection, one login", async () => {
    const s = await run(1);
    expect(s.connections).toBe(1);
    expect(s.commands.filter((c) => c.startsWith("USER ")).length).toBe(1);
  });

  it("one file on a LIST-only server: one connection, one login", async () => {
    const s = await run(1, { features: LIST_ONLY });
    expect(s.commands.filter((c) => c.startsWith("LIST"))).not.toEqual([]);
    expect(s.connections).toBe(1);
    expect(s.commands.filter((c) => c.startsWith("USER ")).length).toBe(1);
  });

  it("more files than connections: all four are opened", async () => {
    const s = await run(12);
    expect(s.connections).toBe(4);
  });
});
