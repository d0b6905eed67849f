// The README's partner exchange examples are job files the loader takes as they are written.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { JOB_SCHEMA_FILE } from "../../src/cli/schema-files.js";
import { loadConfig } from "../../src/config/load.js";
import { schemaProblems } from "../helpers/json-schemas.js";
import { testTempDir } from "../helpers/temp-dir.js";

const readme = readFileSync(join(import.meta.dirname, "../../README.md"), "utf8");

/** The first JSON block after `heading` in the README. */
function exampleAfter(heading: string): Record<string, unknown> {
  const at = readme.indexOf(heading);
  expect(at).toBeGreaterThan(0);
  const block = /```json\n([\s\S]*?)\n```/.exec(readme.slice(at));
  return JSON.parse(block![1]) as Record<string, unknown>;
}

function load(job: Record<string, unknown>) {
  const dir = testTempDir("partner-examples");
  mkdirSync(join(dir, "jobs"));
  writeFileSync(
    join(dir, "agent.config.json"),
    JSON.stringify({ remotes: { partner: { host: "ftp.example.com", tls: "explicit", user: "u", password: { env: "PARTNER_EXAMPLE_PW" } } } }),
  );
  writeFileSync(join(dir, "jobs", "example.json"), JSON.stringify(job));
  return loadConfig(join(dir, "agent.config.json"), { env: { PARTNER_EXAMPLE_PW: "x" }, checkLocalFolders: false }).config.jobs.example;
}

describe("the README's partner exchange examples", () => {
  it("a partner drop loads: upload, a done marker, archive after upload", () => {
    expect(load(exampleAfter("A partner drop:"))).toMatchObject({ direction: "upload", doneMarker: "_DONE", afterTransfer: { archive: "sent" }, minAgeMs: 60_000 });
  });

  it("a partner pickup loads: download, minAge 2 minutes, delete after download, an alert if nothing has arrived by 07:00", () => {
    const job = load(exampleAfter("A partner pickup:"));
    expect(job).toMatchObject({ direction: "download", minAgeMs: 120_000, afterTransfer: "delete" });
    expect(job.expect).toMatchObject({ by: "07:00", timezone: "Europe/Paris" });
    expect(job.notify?.on).toContain("late");
  });

  it("a nightly backup with 30 days of versions loads", () => {
    expect(load(exampleAfter("### Versions")).backup).toMatchObject({ dir: ".versions" });
  });

  it("both pass the committed job schema, and it refuses an afterTransfer of another shape", () => {
    expect(schemaProblems(JOB_SCHEMA_FILE, exampleAfter("A partner drop:"))).toEqual([]);
    expect(schemaProblems(JOB_SCHEMA_FILE, exampleAfter("A partner pickup:"))).toEqual([]);
    expect(schemaProblems(JOB_SCHEMA_FILE, { ...exampleAfter("A partner pickup:"), afterTransfer: "move" })).not.toEqual([]);
    expect(schemaProblems(JOB_SCHEMA_FILE, { ...exampleAfter("A partner pickup:"), afterTransfer: { archive: "a", keep: true } })).not.toEqual([]);
  });
});
