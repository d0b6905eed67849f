// `ftps-sync init --pin` against a real ProFTPD writes a config that `check` accepts (the server
// tier; init.test.ts holds the same command against the embedded server, in the fast tier).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runCli } from "../helpers/cli.js";
import { ensureTestUser, requireServers, startServer, type RunningServer } from "../servers/real-servers.js";

const ENV = "INIT_TEST_FTP_PASSWORD";

requireServers("proftpd");
describe("ftps-sync init against ProFTPD", () => {
  let server: RunningServer;
  let base: string;
  beforeAll(async () => {
    await ensureTestUser();
    server = await startServer("proftpd", { tls: "explicit" });
    base = mkdtempSync(join(tmpdir(), "ftps-sync-init-proftpd-"));
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(base, { recursive: true, force: true });
  });

  it("writes a pinned config that check accepts", async () => {
    const dir = join(base, "a");
    const r = await runCli(
      ["init", "--dir", dir, "--host", server.host, "--port", String(server.port), "--user", server.user, "--password-env", ENV,
        "--local", join(dir, "outbox"), "--remote-path", "/", "--direction", "upload", "--pin"],
      { env: { [ENV]: server.password } },
    );
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, "agent.config.json"), "utf8")).remotes[server.host].fingerprint).toBe(server.fingerprint);
    const check = await runCli(["--config", join(dir, "agent.config.json"), "check"], { env: { [ENV]: server.password } });
    expect(check.code, check.stdout + check.stderr).toBe(0);
  });
});
