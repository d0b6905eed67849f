// A password is the one line of its file (LF or CRLF at its end), or the value of its variable
// (one final line break dropped, with a warning). Anything else is refused as a config error
// (exit 2) before anything connects: sent as part of the password, a second line ended in a login
// the server refused (exit 4), after connecting.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { testTempDir } from "../helpers/temp-dir.js";
import { makeWorkspace, PASSWORD_ENV, type Workspace } from "../helpers/workspace.js";
import { generateCert, type GeneratedCert } from "../servers/certs.js";
import { startHostileServer, type HostileServer } from "../servers/hostile-ftps.js";

const PASSWORD = "one-Line-Pw-51";

describe("where the password comes from, and what a line break there means", () => {
  let cert: GeneratedCert;
  const open: { s: HostileServer; ws: Workspace }[] = [];
  beforeAll(async () => {
    cert = await generateCert(testTempDir("pwlines-certs"), { name: "pwlines" });
  });
  afterAll(async () => {
    for (const { s, ws } of open) {
      ws.cleanup();
      await s.stop();
    }
  });

  /** A hostile server that accepts only PASSWORD, and a workspace reading it from `source`. */
  const setup = async (source: { file: string } | { env: string }) => {
    const s = await startHostileServer({ cert: cert.certPem, key: cert.keyPem, listings: { "/job": "" }, password: PASSWORD });
    const ws = makeWorkspace({ host: "127.0.0.1", port: s.port, user: "alice", password: PASSWORD }, { fingerprint: cert.fingerprint, timeoutSeconds: 5 });
    open.push({ s, ws });
    ws.writeJob("job", { remote: "srv", remotePath: "/job", local: ws.folder("local"), direction: "download" });
    let env: Record<string, string> = { [PASSWORD_ENV]: "" };
    if ("file" in source) {
      const file = join(ws.dir, "ftp.pass");
      writeFileSync(file, source.file, { mode: 0o600 });
      const config = JSON.parse(readFileSync(ws.configPath, "utf8"));
      config.remotes.srv.password = { file };
      writeFileSync(ws.configPath, JSON.stringify(config));
    } else {
      env = { [PASSWORD_ENV]: source.env };
    }
    const r = await runCli(["--config", ws.configPath, "sync", "job", "--json"], { env });
    return { s, r };
  };

  it.each([
    ["a second, empty line", PASSWORD + "\n\n"],
    ["a second line with text", PASSWORD + "\nold-password\n"],
  ])("a password file with %s: exit 2 before connecting, naming the file", async (_what, content) => {
    const { s, r } = await setup({ file: content });
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toMatch(/ftp\.pass holds more than one line/);
    expect(s.commands).toEqual([]);
  });

  it("a password file ending with CRLF: the line before it is the password", async () => {
    const { s, r } = await setup({ file: PASSWORD + "\r\n" });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(s.commands).toContain(`PASS ${PASSWORD}`);
  });

  it("a variable ending with a line break: dropped with a warning, and the login works", async () => {
    const { s, r } = await setup({ env: PASSWORD + "\n" });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toContain(`environment variable ${PASSWORD_ENV} ends with a line break; it is not part of the password and was dropped`);
    expect(s.commands).toContain(`PASS ${PASSWORD}`);
  });

  it("a variable with a line break inside: exit 2 before connecting", async () => {
    const { s, r } = await setup({ env: `${PASSWORD}\nsecond` });
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toContain(`environment variable ${PASSWORD_ENV} holds a line break or NUL inside the password`);
    expect(s.commands).toEqual([]);
  });
});
