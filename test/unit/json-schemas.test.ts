// The JSON Schemas in schemas/ (README "JSON output", "Configuration reference"): generated from the
// zod schemas, committed as generated, and they say of the config files what the loader says.
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { jobSchema, agentConfigSchema } from "../../src/config/schema.js";
import { OUTPUT_SHAPES } from "../../src/cli/json-contract.js";
import { CONFIG_SCHEMA_FILE, JOB_SCHEMA_FILE, outputSchemaFile, schemaFiles } from "../../src/cli/schema-files.js";
import { REPO } from "../helpers/cli.js";
import { schemaProblems } from "../helpers/json-schemas.js";

const committed = (): Record<string, string> => {
  const dir = join(REPO, "schemas");
  return Object.fromEntries(
    readdirSync(dir, { recursive: true, encoding: "utf8" })
      .filter((f) => f.endsWith(".json"))
      .map((f) => [relative(dir, join(dir, f)).split("\\").join("/"), readFileSync(join(dir, f), "utf8")]),
  );
};

const remote = { host: "ftp.example.com", tls: "explicit", user: "me", password: { env: "FTP_PASSWORD" } };
const job = { remote: "partner", remotePath: "/incoming", local: "./out", direction: "upload" };

describe("the committed JSON Schemas", () => {
  it("are exactly what `npm run schemas` generates from the zod schemas (run it after changing a schema)", () => {
    const generated = schemaFiles();
    expect(Object.keys(committed()).sort()).toEqual(Object.keys(generated).sort());
    for (const [path, text] of Object.entries(generated)) expect(committed()[path], `schemas/${path}: run \`npm run schemas\``).toBe(text);
  });

  it("have one output schema per command with --json, each naming its schema in a const", () => {
    const files = schemaFiles();
    for (const command of Object.keys(OUTPUT_SHAPES)) {
      const schema = JSON.parse(files[outputSchemaFile(command)]) as { title: string };
      expect(schema.title).toBe(`ftps-sync/${command}/v1`);
      expect(files[outputSchemaFile(command)]).toContain(`"const": "ftps-sync/${command}/v1"`);
    }
  });

  it("accept the shipped example config and job (which name them in $schema)", () => {
    const config = JSON.parse(readFileSync(join(REPO, "agent.config.json"), "utf8")) as Record<string, unknown>;
    expect(config.$schema).toBe(`./schemas/${CONFIG_SCHEMA_FILE}`);
    expect(schemaProblems(CONFIG_SCHEMA_FILE, config)).toEqual([]);
    const example = JSON.parse(readFileSync(join(REPO, "jobs", "nightly-backup.json"), "utf8")) as Record<string, unknown>;
    expect(example.$schema).toBe(`../schemas/${JOB_SCHEMA_FILE}`);
    expect(schemaProblems(JOB_SCHEMA_FILE, example)).toEqual([]);
  });

  it.each([
    ["a config with a misspelt key", CONFIG_SCHEMA_FILE, { remotes: {}, stateDri: "./state" }],
    ["a remote without TLS", CONFIG_SCHEMA_FILE, { remotes: { p: { ...remote, tls: "none" } } }],
    ["a remote with a literal password", CONFIG_SCHEMA_FILE, { remotes: { p: { ...remote, password: "hunter2" } } }],
    ["a config without remotes", CONFIG_SCHEMA_FILE, {}],
    ["a job with an unknown direction", JOB_SCHEMA_FILE, { ...job, direction: "sideways" }],
    ["a job with a misspelt key", JOB_SCHEMA_FILE, { ...job, delte: "mirror" }],
    ["a job without a local folder", JOB_SCHEMA_FILE, { remote: "p", remotePath: "/x", direction: "upload" }],
  ])("refuse %s, as the loader does", (_what, file, value) => {
    expect(schemaProblems(file, value)).not.toEqual([]);
    const zod = file === JOB_SCHEMA_FILE ? jobSchema : agentConfigSchema;
    expect(zod.safeParse(value).success).toBe(false);
  });

  it("accept what the loader accepts, written in any of its forms", () => {
    const config = {
      $schema: "./x.json",
      http: { listen: 9464 },
      remotes: { p: { ...remote, tls: "implicit", fingerprint: "sha256:" + "AB:".repeat(31) + "AB", proxy: { type: "socks5", host: "127.0.0.1", port: 1080 } } },
    };
    expect(agentConfigSchema.safeParse(config).success).toBe(true);
    expect(schemaProblems(CONFIG_SCHEMA_FILE, config)).toEqual([]);
    const full = { ...job, $schema: "./x.json", maxDelete: 10, bandwidthLimit: "10MB", watchDebounce: "2s", retries: { attempts: 3, initialDelay: "1s", maxDelay: "30s" } };
    expect(jobSchema.safeParse(full).success).toBe(true);
    expect(schemaProblems(JOB_SCHEMA_FILE, full)).toEqual([]);
  });
});
