import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { ConfigError } from "../../src/errors.js";
import { runCli } from "../helpers/cli.js";
import { testTempDir } from "../helpers/temp-dir.js";

type Json = Record<string, unknown>;
const ENV = { PARTNER_FTP_PASSWORD: "x" };
const REMOTES = { partner: { host: "ftp.example.com", tls: "explicit", user: "sync", password: { env: "PARTNER_FTP_PASSWORD" } } };
const JOB = { remote: "partner", remotePath: "/out", local: "./data", direction: "upload", schedule: "* * * * *" };

/** A config folder with agent.config.json (`extra` merged in) and one job, nightly.json. */
function folder(extra: Json = {}, job: Json = JOB): { dir: string; configFile: string; jobFile: string } {
  const dir = testTempDir("history-config");
  mkdirSync(join(dir, "jobs"));
  mkdirSync(join(dir, "data"));
  const configFile = join(dir, "agent.config.json");
  const jobFile = join(dir, "jobs", "nightly.json");
  writeFileSync(configFile, JSON.stringify({ remotes: REMOTES, ...extra }));
  writeFileSync(jobFile, JSON.stringify(job));
  return { dir, configFile, jobFile };
}

function errorOf(configFile: string): ConfigError {
  try {
    loadConfig(configFile, { env: ENV });
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error("expected a ConfigError, but loading succeeded");
}

describe("history and scheduleSpread settings", () => {
  it("keeps 90 days and 10 000 runs a job when agent.config.json says nothing", () => {
    const { configFile } = folder();
    expect(loadConfig(configFile, { env: ENV }).config.history).toEqual({ maxAgeMs: 90 * 86_400_000, maxRunsPerJob: 10_000 });
  });

  it("reads history.maxAge as a duration and history.maxRunsPerJob as a count", () => {
    const { configFile } = folder({ history: { maxAge: "14d", maxRunsPerJob: 500 } });
    expect(loadConfig(configFile, { env: ENV }).config.history).toEqual({ maxAgeMs: 14 * 86_400_000, maxRunsPerJob: 500 });
    const partial = folder({ history: { maxRunsPerJob: 20 } });
    expect(loadConfig(partial.configFile, { env: ENV }).config.history).toEqual({ maxAgeMs: 90 * 86_400_000, maxRunsPerJob: 20 });
  });

  it("refuses a bad history setting, naming the file and the field", () => {
    const cases: [Json, string][] = [
      [{ maxAge: "a while" }, 'field "history.maxAge": not a duration'],
      [{ maxAge: "0s" }, 'field "history.maxAge": maxAge must be longer than 0'],
      [{ maxRunsPerJob: 0 }, 'field "history.maxRunsPerJob": must be at least 1'],
      [{ maxRunsPerJob: 2.5 }, 'field "history.maxRunsPerJob"'],
      [{ maxRuns: 10 }, 'field "history.maxRuns": unknown key'],
    ];
    for (const [history, message] of cases) {
      const { configFile } = folder({ history });
      const err = errorOf(configFile);
      expect(err.message).toContain(configFile);
      expect(err.message).toContain(message);
      expect(err.exitCode).toBe(2);
    }
  });

  it("reads a job's scheduleSpread, refuses one longer than a day or of zero, and warns when there is no schedule", () => {
    const ok = folder({}, { ...JOB, scheduleSpread: "30s" });
    expect(loadConfig(ok.configFile, { env: ENV }).config.jobs.nightly.scheduleSpreadMs).toBe(30_000);
    for (const [spread, message] of [["2d", 'must be at most "1d"'], ["0s", "must be longer than 0"], [30, "must be a duration string"]] as const) {
      const bad = folder({}, { ...JOB, scheduleSpread: spread });
      const err = errorOf(bad.configFile);
      expect(err.message).toContain(bad.jobFile);
      expect(err.message).toContain(`field "scheduleSpread": `);
      expect(err.message).toContain(message);
    }
    const unscheduled = folder({}, { ...JOB, schedule: undefined, watch: true, scheduleSpread: "30s" });
    const { warnings } = loadConfig(unscheduled.configFile, { env: ENV });
    expect(warnings.map((w) => w.message)).toContain(`${unscheduled.jobFile}: field "scheduleSpread" has no effect without "schedule"`);
  });

  it("makes the CLI exit 2 on a bad history setting, naming the file and the field", async () => {
    const { configFile } = folder({ history: { maxAge: "forever" } });
    const r = await runCli(["status", "--config", configFile], { env: ENV, timeoutMs: 30_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(configFile);
    expect(r.stderr).toContain('field "history.maxAge"');
  });
});
