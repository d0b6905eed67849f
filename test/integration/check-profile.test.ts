// `check` shows an operator onboarding a partner what the agent will do with the server: what it
// detected (FEAT) and what it remembers and why (EPSV refused, a PASV address not used, resumes
// off, and whatever other technique the agent turned off), each with the time it was learnt.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkShape, epochMillisIn, theOneObject } from "../helpers/json-shapes.js";
import { makeWorkspace, type Workspace } from "../helpers/workspace.js";
import { startPyftpd, type PyftpdServer } from "../servers/pyftpd.js";
import { requireServers } from "../servers/real-servers.js";
import { openState } from "../../src/state/index.js";

requireServers("pyftpdlib");

describe("check on a server that refuses EPSV and names a private address in PASV replies", () => {
  let server: PyftpdServer;
  let ws: Workspace;
  beforeAll(async () => {
    server = await startPyftpd({ behaviours: ["epsv-refused"], masquerade: "10.9.8.7" });
    ws = makeWorkspace(server, { fingerprint: server.fingerprint });
  });
  afterAll(async () => {
    ws?.cleanup();
    await server?.stop();
  });

  it("learns both with its own listing, prints them with when they were learnt, and --json lists them; another run learns nothing new", async () => {
    const r = await ws.cli(["check"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/capabilities: MLSD MFMT MDTM SIZE UTF8 REST STREAM/);
    expect(r.stdout).toMatch(/remembered: {3}epsv: EPSV refused \(500 Command "EPSV" not understood\.\): passive mode by PASV \(learnt \d{4}-\d\d-\d\dT[\d:.]+Z\)/);
    expect(r.stdout).toMatch(/\n {16}pasvAddress: PASV replies name 10\.9\.8\.7, a private address \(a server behind NAT\): .* \(learnt \d{4}-/);
    // learnt once: logged once
    expect(r.stderr.match(/EPSV refused/g)).toHaveLength(1);

    const j = await ws.cli(["check", "--json"]);
    expect(j.code, j.stdout + j.stderr).toBe(0);
    const obj = theOneObject(j.stdout);
    checkShape(true).parse(obj);
    expect(epochMillisIn(obj)).toEqual([]);
    const remembered = (obj.remotes as { remembered: { technique: string; reason: string; learntAt: string }[] }[])[0].remembered;
    expect(remembered.map((e) => e.technique)).toEqual(["epsv", "pasvAddress"]);
    expect(remembered[0].reason).toBe('EPSV refused (500 Command "EPSV" not understood.): passive mode by PASV');
    expect(Date.now() - Date.parse(remembered[0].learntAt)).toBeLessThan(10 * 60_000);
    // the second check started with PASV: nothing new learnt, nothing logged
    expect(j.stderr).not.toMatch(/EPSV refused/);
  });
});

describe("check on a server with nothing remembered, then with entries other parts of the agent stored", () => {
  let server: PyftpdServer;
  let ws: Workspace;
  beforeAll(async () => {
    server = await startPyftpd();
    ws = makeWorkspace(server, { fingerprint: server.fingerprint });
  });
  afterAll(async () => {
    ws?.cleanup();
    await server?.stop();
  });

  it("says nothing is remembered, and then prints every stored entry by its name, its reason and its time", async () => {
    const clean = await ws.cli(["check"]);
    expect(clean.code, clean.stdout + clean.stderr).toBe(0);
    expect(clean.stdout).toContain("remembered:   nothing (every technique tried so far works with this server)");
    const cleanJson = theOneObject((await ws.cli(["check", "--json"])).stdout);
    expect((cleanJson.remotes as { remembered: unknown[] }[])[0].remembered).toEqual([]);

    // three days ago, on a whole minute (well within the month a profile entry is kept)
    const learnt = Math.floor((Date.now() - 3 * 86_400_000) / 60_000) * 60_000;
    const iso = (ms: number) => new Date(ms).toISOString();
    const stateDir = join(ws.dir, "state");
    mkdirSync(stateDir, { recursive: true });
    const state = openState(stateDir);
    try {
      // a technique name this command has never heard of: printed all the same
      state.capabilities.rememberTechniqueOff("srv", server.host, server.port, "someFutureTechnique", "the server did X: doing Y instead", learnt);
      state.capabilities.rememberTechniqueOff("srv", server.host, server.port, "pipelining", "no reply to a command sent together with another", learnt + 60_000);
      state.capabilities.rememberUploadResumeRefused("srv", learnt + 120_000);
    } finally {
      state.close();
    }
    const r = await ws.cli(["check"]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(
      [
        `  remembered:   someFutureTechnique: the server did X: doing Y instead (learnt ${iso(learnt)})`,
        `                pipelining: no reply to a command sent together with another (learnt ${iso(learnt + 60_000)})`,
        `                uploadResume: APPE refused: resumes off (an interrupted upload is sent whole again) (learnt ${iso(learnt + 120_000)})`,
      ].join("\n"),
    );
    const obj = theOneObject((await ws.cli(["check", "--json"])).stdout);
    checkShape(true).parse(obj);
    expect((obj.remotes as { remembered: unknown[] }[])[0].remembered).toEqual([
      { technique: "someFutureTechnique", reason: "the server did X: doing Y instead", learntAt: iso(learnt) },
      { technique: "pipelining", reason: "no reply to a command sent together with another", learntAt: iso(learnt + 60_000) },
      { technique: "uploadResume", reason: "APPE refused: resumes off (an interrupted upload is sent whole again)", learntAt: iso(learnt + 120_000) },
    ]);
  });
});
