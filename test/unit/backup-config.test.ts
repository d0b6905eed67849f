// The job's "backup" key (README "Versions"): what it accepts, and every refusal naming the job
// file and the field, as a ConfigError (exit 2).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { ConfigError, ExitCode } from "../../src/errors.js";
import { expiredStamps, stampTime, versionStamp } from "../../src/sync/versions.js";

let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "ftps-sync-backup-config-"));
  mkdirSync(join(dir, "jobs"));
  mkdirSync(join(dir, "data"));
  writeFileSync(
    join(dir, "agent.config.json"),
    JSON.stringify({ remotes: { partner: { host: "ftp.example.com", tls: "explicit", user: "sync", password: { env: "PW" } } } }),
  );
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function loadJob(job: Record<string, unknown>) {
  writeFileSync(join(dir, "jobs", "nightly.json"), JSON.stringify({ remote: "partner", remotePath: "/out", local: "./data", direction: "upload", ...job }));
  return loadConfig(join(dir, "agent.config.json"), { env: { PW: "x" } }).config.jobs.nightly;
}

function refusal(job: Record<string, unknown>): ConfigError {
  try {
    loadJob(job);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error("the job was accepted");
}

describe('the job key "backup"', () => {
  it("accepts an age or a count of runs, and a folder name written with ./ or a trailing slash", () => {
    expect(loadJob({ backup: { dir: ".versions", keep: "30d" } }).backup).toEqual({ dir: ".versions", keep: { kind: "age", ms: 30 * 86_400_000 } });
    expect(loadJob({ backup: { dir: "./old-copies/", keep: 7 } }).backup).toEqual({ dir: "old-copies", keep: { kind: "runs", count: 7 } });
    expect(loadJob({}).backup).toBeUndefined();
  });

  it.each([
    [{ dir: "../outside", keep: "30d" }, "backup.dir", /must name a folder|must not|must be a folder name/],
    [{ dir: "a/b", keep: "30d" }, "backup.dir", /must be a folder name in the job's root/],
    [{ dir: "/abs", keep: "30d" }, "backup.dir", /must be a folder name/],
    [{ dir: "", keep: "30d" }, "backup.dir", /must name a folder/],
    [{ dir: ".versions", keep: 0 }, "backup.keep", /whole number of runs/],
    [{ dir: ".versions", keep: 2.5 }, "backup.keep", /whole number of runs/],
    [{ dir: ".versions", keep: "30 days" }, "backup.keep", /not a duration/],
    [{ dir: ".versions", keep: true }, "backup.keep", /must be an age such as "30d" or a whole number of runs/],
    [{ dir: ".versions" }, "backup.keep", /./],
    [{ keep: "30d" }, "backup.dir", /./],
    [{ dir: ".versions", keep: "30d", days: 3 }, "backup.days", /unknown key/],
  ])("refuses %j, naming the job file and the field %s (exit 2)", (backup, field, message) => {
    const err = refusal({ backup });
    expect(err.exitCode).toBe(ExitCode.Usage);
    expect(err.message).toContain(join(dir, "jobs", "nightly.json"));
    expect(err.message).toContain(`field "${field}"`);
    expect(err.message).toMatch(message);
  });

  it("refuses a versions folder that is the done marker", () => {
    const err = refusal({ doneMarker: "_DONE", backup: { dir: "_DONE", keep: 3 } });
    expect(err.message).toMatch(/field "backup\.dir": must not be the job's "doneMarker"/);
  });
});

describe("run folders and retention", () => {
  it("names a run folder by its time in UTC to the second, and reads the name back", () => {
    const ms = Date.UTC(2026, 11, 5, 3, 0, 0) + 789;
    expect(versionStamp(ms)).toBe("2026-12-05T030000Z");
    expect(stampTime("2026-12-05T030000Z")).toBe(Date.UTC(2026, 11, 5, 3, 0, 0));
    for (const other of ["notes", "2026-12-05T030000", "2026-13-05T030000Z", "2026-12-05T03:00:00Z"]) expect(stampTime(other), other).toBeUndefined();
  });

  it("keeps the newest N run folders, or those younger than the age, and never counts other names", () => {
    const runs = ["2026-12-01T000000Z", "2026-12-03T000000Z", "2026-12-02T000000Z", "notes"];
    expect(expiredStamps(runs, { kind: "runs", count: 2 }, 0)).toEqual(["2026-12-01T000000Z"]);
    expect(expiredStamps(runs, { kind: "runs", count: 5 }, 0)).toEqual([]);
    const now = Date.UTC(2026, 11, 4);
    expect(expiredStamps(runs, { kind: "age", ms: 2 * 86_400_000 + 1 }, now)).toEqual(["2026-12-01T000000Z"]);
  });
});
