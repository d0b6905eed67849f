import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateCert, type GeneratedCert } from "../servers/certs.js";
import { startScriptedServer, type ScriptedServer } from "../servers/scripted-ftps.js";
import { makeWorkspace } from "../helpers/workspace.js";
import { testTempDir } from "../helpers/temp-dir.js";

const PASSWORD = "log-audit-Pw-4471";

function logLines(dir: string): Record<string, unknown>[] {
  const logs = join(dir, "logs");
  if (!existsSync(logs)) return [];
  return readdirSync(logs)
    .filter((f) => f.endsWith(".log"))
    .flatMap((f) => readFileSync(join(logs, f), "utf8").split("\n").filter(Boolean))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe("logging", () => {
  let cert: GeneratedCert;
  let server: ScriptedServer;
  beforeAll(async () => {
    cert = await generateCert(testTempDir("logcert"));
    server = await startScriptedServer({ mode: "explicit", cert: cert.certPem, key: cert.keyPem });
  });
  afterAll(async () => {
    await server?.stop();
  });

  const ws = (level: string) =>
    makeWorkspace({ host: "127.0.0.1", port: server.port, user: "alice", password: PASSWORD }, { fingerprint: cert.fingerprint }, { log: { level, file: "./logs/agent.log" } });

  it("writes JSON lines to the log file and readable lines to the console, without the password", async () => {
    const w = ws("debug");
    try {
      const r = await w.cli(["check"]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const lines = logLines(w.dir);
      expect(lines.length).toBeGreaterThan(5);
      expect(existsSync(join(w.dir, "logs", ".agent-audit.json"))).toBe(true);
      for (const l of lines) expect(l).toMatchObject({ level: expect.any(String), message: expect.any(String), timestamp: expect.any(String) });
      // One line per write: the login's commands leave together, the password masked.
      expect(lines.some((l) => /> USER \S+ \| PASS ###/.test(String(l.message)))).toBe(true);
      expect(r.stderr).toMatch(/^\d\d:\d\d:\d\d debug/m);
      const everything = JSON.stringify(lines) + r.stdout + r.stderr;
      expect(everything).not.toContain(PASSWORD);
      expect(server.passwordSeen()).toBe(true); // it was sent, to the server only
    } finally {
      w.cleanup();
    }
  });

  it("honours log.level", async () => {
    const w = ws("warn");
    try {
      const r = await w.cli(["check"]);
      expect(r.code).toBe(0);
      const levels = new Set(logLines(w.dir).map((l) => l.level));
      expect(levels.has("debug")).toBe(false);
      expect(levels.has("info")).toBe(false);
      expect(r.stderr).not.toMatch(/ (debug|info) /);
      // Nothing reached the file: the rotating file was never set up (it is opened on the first line).
      expect(existsSync(join(w.dir, "logs", ".agent-audit.json"))).toBe(false);
    } finally {
      w.cleanup();
    }
  });
});
