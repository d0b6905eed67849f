// A server that names itself vsFTPd in its greeting but reads its control connection during a
// transfer: the next transfer written while one runs (the technique "writeDuringTransfer", which
// the greeting turns on) is answered or refused out of turn. The connection must be closed before
// any reply is misread, no file lost or left half, the run's retries must finish the job, and the
// server's profile must turn the technique off (one log line), for this run and the next.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openState } from "../../src/state/index.js";
import { runSync } from "../faults/harness.js";
import { makeWorkspace, type Workspace } from "../helpers/workspace.js";
import { testTempDir } from "../helpers/temp-dir.js";
import { generateCert, type GeneratedCert } from "../servers/certs.js";
import { startHostileServer, type HostileServer } from "../servers/hostile-ftps.js";

const FILES = 10;
const body = (i: number) => `file ${i} `.repeat(200 + i);
const TURNED_OFF = /nothing is written while a transfer runs on this server from now on/g;

describe.each([
  { what: "answers a command written during a transfer at once", reply: "229 Entering Extended Passive Mode (|||2|)" },
  { what: "refuses a command written during a transfer", reply: "503 Transfer in progress, command refused" },
])("a server that claims vsFTPd and $what", ({ reply }) => {
  let cert: GeneratedCert;
  let s: HostileServer;
  let ws: Workspace;
  beforeAll(async () => {
    cert = await generateCert(testTempDir("claims-vsftpd-certs"), { name: "hostile" });
    s = await startHostileServer({ cert: cert.certPem, key: cert.keyPem, listings: { "/job": "", "/job2": "" }, greeting: "(vsFTPd 3.0.3)", answerDuringTransfer: reply });
    ws = makeWorkspace({ host: "127.0.0.1", port: s.port, user: "alice", password: "pw-claims-3Tq" }, { fingerprint: cert.fingerprint, timeoutSeconds: 5, maxConnections: 2 }, { log: { level: "debug", file: "./logs/agent.log" } });
  });
  afterAll(async () => {
    ws?.cleanup();
    await s?.stop();
  });

  it("loses no file, finishes the run by its retries, and learns the technique off for this server once", async () => {
    const local = ws.folder("local");
    for (let i = 0; i < FILES; i++) writeFileSync(join(local, `f${i}.txt`), body(i));
    ws.writeJob("job", { remote: "srv", remotePath: "/job", local, direction: "upload", retries: { attempts: 4, initialDelay: "50ms", maxDelay: "200ms" } });

    const r = await runSync(ws, "job", { timeoutMs: 50_000 });
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect(r.summary).toMatchObject({ status: "ok", uploaded: FILES, failed: 0 });
    // The technique was tried (the greeting turned it on) and met the server's out-of-turn replies.
    expect(s.answeredDuringTransfer).toBeGreaterThan(0);
    expect(r.stderr).toMatch(/\[ftp srv\] > [^\n]*STOR/);
    // The calls on the connection closed failed as ones to try again, and were.
    expect(r.stderr).toMatch(/not answered in turn|answered during a transfer/);
    expect(r.stderr).toMatch(/\(attempt 1 of 4; retrying in/);
    for (let i = 0; i < FILES; i++) expect(s.remoteFile(`/job/f${i}.txt`), `f${i}.txt`).toBe(body(i));
    // Learnt once, with a log line, and remembered in the server's profile.
    expect(r.stderr.match(TURNED_OFF)?.length, r.stderr.slice(-3000)).toBe(1);
    const state = openState(join(ws.dir, "state"));
    try {
      expect(state.capabilities.techniquesOff("srv", "127.0.0.1", s.port).writeDuringTransfer).toMatch(/not answered in turn/);
    } finally {
      state.close();
    }

    // The next run knows: nothing is written during a transfer, nothing answered out of turn.
    const seen = s.answeredDuringTransfer;
    const local2 = ws.folder("local2");
    for (let i = 0; i < FILES; i++) writeFileSync(join(local2, `f${i}.txt`), body(i));
    ws.writeJob("job2", { remote: "srv", remotePath: "/job2", local: local2, direction: "upload", retries: { attempts: 1 } });
    const again = await runSync(ws, "job2", { timeoutMs: 50_000 });
    expect(again.code, again.stderr.slice(-3000)).toBe(0);
    expect(again.summary).toMatchObject({ status: "ok", uploaded: FILES, failed: 0 });
    expect(s.answeredDuringTransfer).toBe(seen);
    expect(again.stderr.match(TURNED_OFF)).toBeNull();
    for (let i = 0; i < FILES; i++) expect(s.remoteFile(`/job2/f${i}.txt`), `f${i}.txt`).toBe(body(i));
  });
});
