// The JSON contract for every command at once (README "JSON output"), found from the CLI's own
// help so that a command that gains --json cannot be left out: each has an output schema in
// schemas/output/, and each prints its one object, valid against that schema, even when the
// configuration cannot be loaded or the command line is wrong.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { REPO, runCli } from "../helpers/cli.js";
import { failureOf, theOneObject } from "../helpers/json-shapes.js";

/** Each command's usage ("sync [options] <job>") from `ftps-sync --help`, and whether its help lists --json. */
async function commands(): Promise<{ name: string; usage: string; json: boolean }[]> {
  const help = await runCli(["--help"]);
  const section = help.stdout.split(/^Commands:$/m)[1] ?? "";
  const found = [...section.matchAll(/^ {2}([a-z][a-z-]*)((?: [[<][^\]>]+[\]>])*)/gm)].map((m) => ({ name: m[1], usage: m[2] }));
  const out: { name: string; usage: string; json: boolean }[] = [];
  for (const c of found.filter((c) => c.name !== "help")) {
    const sub = await runCli(["help", c.name]);
    out.push({ ...c, json: /^\s+--json\b/m.test(sub.stdout) });
  }
  return out;
}

describe("every command with --json", () => {
  let all: Awaited<ReturnType<typeof commands>>;
  beforeAll(async () => {
    all = await commands();
  });

  it("has an output schema in schemas/output/, and every output schema is a command's", () => {
    const withJson = all.filter((c) => c.json).map((c) => c.name).sort();
    expect(withJson).toEqual(expect.arrayContaining(["check", "history", "plan", "status", "sync", "validate"]));
    const schemas = readdirSync(join(REPO, "schemas", "output")).map((f) => f.replace(/\.schema\.json$/, "")).sort();
    expect(schemas).toEqual(withJson);
  });

  it("prints its one object, valid against its schema, when the config cannot be loaded (exit 2, code config)", async () => {
    for (const c of all.filter((c) => c.json)) {
      // Required arguments get a placeholder: the config fails before any is looked at.
      const args = [...c.usage.matchAll(/<([^>]+)>/g)].map(() => "x");
      const r = await runCli(["--config", "/nonexistent/agent.config.json", c.name, ...args, "--json"]);
      const obj = theOneObject(r.stdout, `${c.name}: ${r.stderr}`);
      expect(r.code, c.name).toBe(2);
      expect(failureOf(c.name, "config", 2).safeParse(obj).success, `${c.name}: ${JSON.stringify(obj)}`).toBe(true);
    }
  });

  it("prints its one object, valid against its schema, on a usage error (exit 2, code usage)", async () => {
    for (const c of all.filter((c) => c.json)) {
      const args = [...c.usage.matchAll(/<([^>]+)>/g)].map(() => "x");
      const r = await runCli([c.name, ...args, "--json", "--no-such-flag"]);
      const obj = theOneObject(r.stdout, `${c.name}: ${r.stderr}`);
      expect(r.code, c.name).toBe(2);
      expect(failureOf(c.name, "usage", 2).safeParse(obj).success, `${c.name}: ${JSON.stringify(obj)}`).toBe(true);
    }
  });
});
