// The "notify" and "expect" keys: what loads, with which defaults, and the refusals, each naming
// the file and the field (exit 2).
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { ConfigError, ExitCode } from "../../src/errors.js";
import { testTempDir } from "../helpers/temp-dir.js";

type Json = Record<string, unknown>;
const PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

function load(job: Json, agent: Json = {}) {
  const dir = testTempDir("notify-config");
  mkdirSync(join(dir, "jobs"));
  mkdirSync(join(dir, "data"));
  writeFileSync(join(dir, "hooks-ca.pem"), PEM);
  const config = { ...agent, remotes: { partner: { host: "ftp.example.com", tls: "explicit", user: "u", password: { env: "PW" } } } };
  writeFileSync(join(dir, "agent.config.json"), JSON.stringify(config));
  const jobFile = join(dir, "jobs", "pickup.json");
  writeFileSync(jobFile, JSON.stringify({ remote: "partner", remotePath: "/out", local: "./data", direction: "download", ...job }));
  return { load: () => loadConfig(join(dir, "agent.config.json"), { env: { PW: "x" } }), dir, jobFile };
}

function refusal(job: Json, agent: Json = {}): { message: string; field?: string; file?: string } {
  const t = load(job, agent);
  try {
    t.load();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).exitCode).toBe(ExitCode.Usage);
    return { message: (err as Error).message, field: (err as ConfigError).field, file: t.jobFile };
  }
  throw new Error("loaded without a word");
}

describe('"notify"', () => {
  it("loads a webhook and a command, with the defaults: failure, late and recovered; 10 s; 3 attempts", () => {
    const { load: l } = load({ notify: { webhook: "https://hooks.example.com/ftps?token=1", command: ["/usr/local/bin/page", "--team", "ops"] } });
    expect(l().config.jobs.pickup.notify).toEqual({
      webhook: "https://hooks.example.com/ftps?token=1", command: ["/usr/local/bin/page", "--team", "ops"], on: ["failure", "late", "recovered"], timeoutMs: 10_000, attempts: 3,
    });
  });

  it("takes http:// to a loopback address only", () => {
    for (const url of ["http://127.0.0.1:9000/x", "http://localhost/x", "http://[::1]:8080/"]) {
      expect(load({ notify: { webhook: url } }).load().config.jobs.pickup.notify?.webhook).toBe(url);
    }
    const r = refusal({ notify: { webhook: "http://hooks.example.com/x" } });
    expect(r.field).toBe("notify.webhook");
    expect(r.message).toContain("pickup.json");
    expect(r.message).toMatch(/http:\/\/ is allowed only to a loopback address/);
    expect(refusal({ notify: { webhook: "ftp://127.0.0.1/" } }).message).toMatch(/must be an https:\/\/ URL/);
    expect(refusal({ notify: { webhook: "not a url" } }).field).toBe("notify.webhook");
    expect(refusal({ notify: { webhook: "https://u:p@hooks.example.com/" } }).message).toMatch(/must not carry a user or password/);
  });

  it("refuses a notify with neither webhook nor command, an unknown event, a bad timeout, and a ca without https", () => {
    expect(refusal({ notify: { on: ["failure"] } }).message).toMatch(/field "notify": needs a "webhook" or a "command"/);
    expect(refusal({ notify: { command: ["x"], on: ["failed"] } }).field).toBe("notify.on[0]");
    expect(refusal({ notify: { command: ["x"], timeout: "1h" } }).message).toMatch(/field "notify.timeout": must be at most "5m"/);
    expect(refusal({ notify: { command: [] } }).field).toBe("notify.command");
    expect(refusal({ notify: { command: ["x"], ca: "./hooks-ca.pem" } }).field).toBe("notify.ca");
    expect(refusal({ notify: { command: ["x"], retries: 3 } }).message).toMatch(/field "notify.retries": unknown key/);
  });

  it("reads the webhook's ca file, and says which file it cannot read", () => {
    const t = load({ notify: { webhook: "https://hooks.example.com/", ca: "./hooks-ca.pem" } });
    expect(t.load().config.jobs.pickup.notify).toMatchObject({ ca: PEM, caPath: join(t.dir, "hooks-ca.pem") });
    expect(refusal({ notify: { webhook: "https://hooks.example.com/", ca: "./missing.pem" } }).message).toMatch(/field "notify.ca": cannot read CA file .*missing\.pem/);
  });

  it("takes the agent's notify as the default of a job without its own", () => {
    const agentNotify = { webhook: "https://hooks.example.com/all", on: ["failure"] };
    expect(load({}, { notify: agentNotify }).load().config.jobs.pickup.notify).toMatchObject({ webhook: "https://hooks.example.com/all", on: ["failure"] });
    expect(load({ notify: { command: ["x"] } }, { notify: agentNotify }).load().config.jobs.pickup.notify).toMatchObject({ command: ["x"] });
    expect(load({ notify: { command: ["x"] } }, { notify: agentNotify }).load().config.jobs.pickup.notify?.webhook).toBeUndefined();
  });
});

describe('"expect"', () => {
  it("loads by, timezone, match and days; the zone defaults to the job's timezone", () => {
    expect(load({ expect: { by: "07:00", timezone: "Europe/Paris", match: "orders-*.csv", days: "mon-fri" } }).load().config.jobs.pickup.expect).toEqual({
      by: "07:00", byMinutes: 420, timezone: "Europe/Paris", match: "orders-*.csv", days: "mon-fri", weekdays: [1, 2, 3, 4, 5],
    });
    const j = load({ schedule: "*/5 * * * *", timezone: "America/New_York", expect: { by: "6:30" } }).load().config.jobs.pickup.expect;
    expect(j).toMatchObject({ byMinutes: 390, timezone: "America/New_York", match: "**/*", days: "daily" });
  });

  it("takes a job's timezone without a schedule as the zone of its expect, without the warning that it has no effect", () => {
    const { config, warnings } = load({ timezone: "Asia/Tokyo", expect: { by: "09:00" } }).load();
    expect(config.jobs.pickup.expect?.timezone).toBe("Asia/Tokyo");
    expect(warnings.map((w) => w.message).join("\n")).not.toMatch(/"timezone" has no effect/);
    expect(load({ timezone: "Asia/Tokyo" }).load().warnings.map((w) => w.message).join("\n")).toMatch(/"timezone" has no effect/);
  });

  it("refuses a time, a zone or days it cannot read, naming the field", () => {
    expect(refusal({ expect: { by: "7am" } })).toMatchObject({ field: "expect.by" });
    expect(refusal({ expect: { by: "07:00", timezone: "Paris" } }).message).toMatch(/field "expect.timezone": not a known IANA time zone/);
    expect(refusal({ expect: { by: "07:00", days: "weekdays" } }).field).toBe("expect.days");
    expect(refusal({ expect: { match: "*.csv" } }).message).toMatch(/field "expect.by": is required/);
  });
});
