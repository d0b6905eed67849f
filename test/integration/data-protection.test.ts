// PROT P enforced, in the fast tier: a server that refuses to protect the data channel is left
// before any data connection opens (connectFtps reads the replies to PBSZ 0 and PROT P and fails
// the login on a refusal of either; the listing sent with the login waits for them). The scripted server runs in this process on loopback; no
// root, no real server.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeWorkspace } from "../helpers/workspace.js";
import { generateCert, type GeneratedCert } from "../servers/certs.js";
import { startScriptedServer } from "../servers/scripted-ftps.js";
import { testTempDir } from "../helpers/temp-dir.js";

describe("a server that refuses PROT P", () => {
  let cert: GeneratedCert;
  beforeAll(async () => {
    cert = await generateCert(testTempDir("prot-certs"), { name: "prot" });
  });
  const cleanups: (() => Promise<void> | void)[] = [];
  afterAll(async () => {
    for (const c of cleanups) await c();
  });

  it("sync: exit 4 naming the refusal, and no data connection nor data command", async () => {
    const s = await startScriptedServer({ mode: "explicit", cert: cert.certPem, key: cert.keyPem, refuseProtP: true });
    const ws = makeWorkspace({ host: "127.0.0.1", port: s.port, user: "alice", password: "prot-pw-2Wd" }, { fingerprint: cert.fingerprint, timeoutSeconds: 5 });
    cleanups.push(() => ws.cleanup(), () => s.stop());
    ws.writeJob("job", { remote: "srv", remotePath: "/", local: ws.folder("local"), direction: "download" });
    const r = await ws.cli(["sync", "job"]);
    expect(r.code, r.stdout + r.stderr).toBe(4);
    expect(r.stdout + r.stderr).toContain("refused to protect the data channel (536 Requested PROT level not supported by mechanism in reply to PROT P)");
    expect(s.commands).toContain("PROT P");
    expect(s.dataConnections).toBe(0);
    // The run's first listing leaves in the login's write, behind PROT P (early-listing.ts): the
    // port the server offered for it is never connected to, and no data command follows.
    const protAt = s.commands.indexOf("PROT P");
    expect(s.commands.slice(protAt + 1).filter((c) => /^(LIST|MLSD|NLST|RETR|STOR|APPE|PASV|EPSV|PORT|EPRT)\b/.test(c))).toEqual(["EPSV", "MLSD /"]);
    expect(s.commands.slice(protAt + 1, protAt + 3)).toEqual(["EPSV", "MLSD /"]);
    expect(s.commands.slice(0, protAt).filter((c) => /^(LIST|MLSD|NLST|RETR|STOR|APPE|PASV|EPSV|PORT|EPRT)\b/.test(c))).toEqual([]);
  });
});
