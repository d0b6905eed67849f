// `ftps-sync validate [files]` (README "Checking a configuration"): the config files checked as the
// agent loads them, without connecting; exit 0 or 2, and with --json the validate/v1 object,
// checked against schemas/output/validate.schema.json.
import { once } from "node:events";
import { createServer, type Server } from "node:net";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { validateShape } from "../../src/cli/json-contract.js";
import { runCli } from "../helpers/cli.js";
import { failureOf, theOneObject } from "../helpers/json-shapes.js";
import { makeWorkspace, type Workspace } from "../helpers/workspace.js";

describe("validate", () => {
  let server: Server;
  let connections = 0;
  const workspaces: Workspace[] = [];

  /** A config whose remote is a listener that counts connections (validate must make none). */
  const workspace = () => {
    const address = server.address() as { port: number };
    const ws = makeWorkspace({ host: "127.0.0.1", port: address.port, user: "u", password: "validate-Pw-3x" });
    workspaces.push(ws);
    const local = ws.folder("out");
    const job = { remote: "srv", remotePath: "/in", local, direction: "upload", schedule: "0 2 * * *" };
    ws.writeJob("good", job);
    return { ws, job };
  };

  beforeAll(async () => {
    server = createServer((s) => {
      connections++;
      s.destroy();
    });
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
  });
  afterAll(() => {
    server.close();
    for (const ws of workspaces) ws.cleanup();
  });

  it("a valid config and its jobs: exit 0, one result per file, and no connection to the server", async () => {
    const { ws } = workspace();
    ws.writeJob("second", { remote: "srv", remotePath: "/b", local: ws.folder("b"), direction: "download", schedule: "0 3 * * *" });
    const r = await ws.cli(["validate", "--json"]);
    expect(r.code, r.stderr).toBe(0);
    const v = validateShape(true).parse(theOneObject(r.stdout, r.stderr));
    expect(v.files).toEqual([
      { file: ws.configPath, kind: "agent-config", ok: true, error: null },
      { file: join(ws.dir, "jobs", "good.json"), kind: "job", ok: true, error: null },
      { file: join(ws.dir, "jobs", "second.json"), kind: "job", ok: true, error: null },
    ]);
    const text = await ws.cli(["validate"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`ok       ${ws.configPath} (agent config: 1 remote(s), 2 job(s))`);
    expect(connections).toBe(0);
  });

  it("a bad job among good ones: exit 2, the bad file and its field named, the good ones still checked", async () => {
    const { ws, job } = workspace();
    ws.writeJob("bad", { ...job, direction: "sideways" });
    ws.writeJob("orphan", { ...job, remote: "nope" });
    const r = await ws.cli(["validate", "--json"]);
    expect(r.code, r.stderr).toBe(2);
    const obj = theOneObject(r.stdout, r.stderr);
    const v = validateShape(false).parse(obj);
    expect(failureOf("validate", "config", 2).safeParse(obj).success).toBe(true);
    expect(v.files.map((f) => [f.file.replace(ws.dir, ""), f.ok])).toEqual([
      ["/agent.config.json", true], ["/jobs/bad.json", false], ["/jobs/good.json", true], ["/jobs/orphan.json", false],
    ]);
    expect(v.files[1].error).toMatchObject({ code: "config", exitCode: 2, message: expect.stringContaining('field "direction": must be one of') });
    expect(v.files[3].error!.message).toContain('unknown remote "nope"');
    expect(v.error.message).toMatch(/^2 of 4 file\(s\) invalid; /);

    const text = await ws.cli(["validate"]);
    expect(text.code).toBe(2);
    expect(text.stdout).toContain(`INVALID  ${join(ws.dir, "jobs", "bad.json")}: field "direction"`);
    expect(text.stderr).toContain("2 of 4 file(s) invalid");
    expect(connections).toBe(0);
  });

  it("a missing password variable or local folder is an error, as for the agent", async () => {
    const { ws, job } = workspace();
    ws.writeJob("good", { ...job, local: join(ws.dir, "not-there") });
    const r = await ws.cli(["validate", "--json"]);
    expect(r.code).toBe(2);
    const v = validateShape(false).parse(theOneObject(r.stdout, r.stderr));
    expect(v.files[1].error!.message).toContain("not-there");
  });

  it("files named on the command line: a job file checked on its own, a broken one reported, with no agent config needed", async () => {
    const dir = workspace().ws.dir;
    const lone = join(dir, "lone");
    mkdirSync(lone);
    writeFileSync(join(lone, "ok.json"), JSON.stringify({ remote: "any", remotePath: "/x", local: "./x", direction: "two-way" }));
    writeFileSync(join(lone, "typo.json"), JSON.stringify({ remote: "any", remotePath: "/x", local: "./x", direction: "upload", delte: "mirror" }));
    writeFileSync(join(lone, "broken.json"), "{ \"remote\": ");
    const r = await runCli(["validate", "--json", join(lone, "ok.json"), join(lone, "typo.json"), join(lone, "broken.json")], { cwd: lone });
    expect(r.code, r.stderr).toBe(2);
    const v = validateShape(false).parse(theOneObject(r.stdout, r.stderr));
    expect(v.files.map((f) => [f.kind, f.ok])).toEqual([["job", true], ["job", false], ["job", false]]);
    expect(v.files[1].error!.message).toContain('field "delte": unknown key; did you mean "delete"?');
    expect(v.files[2].error!.message).toContain("invalid JSON");
  });

  it("an agent config that cannot be read: exit 2, the validate object with that file's error", async () => {
    const r = await runCli(["--config", "/nonexistent/agent.config.json", "validate", "--json"]);
    expect(r.code).toBe(2);
    const v = validateShape(false).parse(theOneObject(r.stdout, r.stderr));
    expect(v.files).toEqual([{ file: "/nonexistent/agent.config.json", kind: "agent-config", ok: false, error: expect.objectContaining({ code: "config" }) }]);
  });
});
