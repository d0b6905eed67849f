import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { buildProgram } from "../../src/cli/main.js";
import { ExitCode } from "../../src/errors.js";
import { REPO } from "../helpers/cli.js";

// The man page and the completions that the build writes (test/helpers/build-once.ts builds before
// the suite), checked against the command definitions the CLI runs. zsh and fish must be installed
// (.ci/run installs them): their files are checked by the shells themselves.

const exec = promisify(execFile);
const program = buildProgram();
const commands = program.commands.map((c) => ({
  name: c.name(),
  flags: c.options.flatMap((o) => [o.short, o.long].filter((f): f is string => !!f)),
}));
const globalFlags = program.options.flatMap((o) => [o.short, o.long].filter((f): f is string => !!f));
const man = readFileSync(join(REPO, "man", "ftps-sync.1"), "utf8");
const completions = join(REPO, "completions");
/** roff writes "-" as "\-" so that copied options work. */
const inRoff = (text: string) => text.replace(/-/g, "\\-");

/** One command's part of the man page: from its .SS heading to the next heading. */
function manSection(name: string): string {
  const start = man.indexOf(`.SS "${inRoff(`ftps-sync ${name}`)} `);
  expect(start, `no .SS heading for ${name}`).toBeGreaterThanOrEqual(0);
  const next = man.slice(start + 4).search(/^\.S[SH] /m);
  return next < 0 ? man.slice(start) : man.slice(start, start + 4 + next);
}

describe("the man page", () => {
  it("has a section for every command with each of its options", () => {
    expect(commands.length).toBeGreaterThan(5);
    for (const cmd of commands) {
      const section = manSection(cmd.name);
      for (const flag of cmd.flags) expect(section, `${cmd.name} ${flag}`).toContain(inRoff(flag));
    }
  });

  it("lists the global options and every exit code", () => {
    const options = man.slice(man.indexOf(".SH OPTIONS"), man.indexOf(".SH COMMANDS"));
    for (const flag of globalFlags) expect(options).toContain(inRoff(flag));
    const exits = man.slice(man.indexOf(".SH EXIT STATUS"), man.indexOf(".SH ENVIRONMENT"));
    const listed = [...exits.matchAll(/^\.B (\d+)$/gm)].map((m) => Number(m[1]));
    expect(listed).toEqual(Object.values(ExitCode).sort((a, b) => a - b));
  });

  it("renders with groff without a warning", async () => {
    // -z: format, print nothing; -ww: every warning.
    const { stderr } = await exec("groff", ["-man", "-ww", "-z", join(REPO, "man", "ftps-sync.1")]);
    expect(stderr).toBe("");
  });
});

describe("the shell completions", () => {
  const bash = (words: string[]) =>
    exec("bash", ["--norc", "-c", `source ${JSON.stringify(join(completions, "ftps-sync.bash"))}; COMP_WORDS=(${words.map((w) => JSON.stringify(w)).join(" ")}); COMP_CWORD=${words.length - 1}; _ftps_sync; printf '%s\\n' "\${COMPREPLY[@]}"`], { cwd: REPO }).then((r) =>
      r.stdout.split("\n").filter(Boolean),
    );
  const fish = (line: string) =>
    exec("fish", ["--no-config", "-c", `source ${JSON.stringify(join(completions, "ftps-sync.fish"))}; complete -C ${JSON.stringify(line)}`]).then((r) =>
      r.stdout.split("\n").filter(Boolean).map((l) => l.split("\t")[0]),
    );

  it("bash completes every command, and each command's options", async () => {
    expect(await bash(["ftps-sync", ""])).toEqual(expect.arrayContaining(commands.map((c) => c.name)));
    for (const cmd of commands) expect(await bash(["ftps-sync", "-c", "agent.json", cmd.name, "-"]), cmd.name).toEqual(expect.arrayContaining(cmd.flags));
  });

  it("bash completes file names after --config and nothing after a free-text value", async () => {
    expect((await bash(["ftps-sync", "--config", "package."])).sort()).toEqual(["package.json"]);
    expect((await bash(["ftps-sync", "demo", "--workspace", "migr"])).sort()).toEqual(["migrations"]);
    expect(await bash(["ftps-sync", "init", "--host", ""])).toEqual([]);
  });

  it("fish completes every command, and each command's long options", async () => {
    expect(await fish("ftps-sync ")).toEqual(expect.arrayContaining(commands.map((c) => c.name)));
    for (const cmd of commands) {
      const longs = cmd.flags.filter((f) => f.startsWith("--"));
      expect(await fish(`ftps-sync ${cmd.name} --`), cmd.name).toEqual(expect.arrayContaining(longs));
    }
  });

  it("zsh accepts its completion file and it names every command and option", async () => {
    await exec("zsh", ["-n", join(completions, "_ftps-sync")]);
    const zsh = readFileSync(join(completions, "_ftps-sync"), "utf8");
    expect(zsh.split("\n")[0]).toBe("#compdef ftps-sync");
    for (const cmd of commands) {
      expect(zsh).toMatch(new RegExp(`^\\s+'${cmd.name}:`, "m"));
      const branch = zsh.slice(zsh.indexOf(`(${cmd.name})\n`));
      for (const flag of cmd.flags) expect(branch.slice(0, branch.indexOf(";;")), `${cmd.name} ${flag}`).toContain(flag);
    }
  });
});
