import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { CLI, REPO } from "../helpers/cli.js";
import { testTempDir } from "../helpers/temp-dir.js";

// The example unit's SystemCallFilter= (deploy/ftps-sync.service) applied to the agent itself,
// without systemd: the groups expanded by systemd-analyze, loaded with libseccomp (Debian's
// python3-seccomp, which .ci/run installs) the way systemd loads them (calls outside the list
// fail with SystemCallErrorNumber=EPERM), then the demo (TLS, SQLite, the scan's worker thread,
// transfers both ways) runs under it.

const exec = promisify(execFile);
const unit = readFileSync(join(REPO, "deploy", "ftps-sync.service"), "utf8");

/** A filter group's calls, nested groups expanded. */
async function expand(group: string, seen = new Set<string>()): Promise<Set<string>> {
  const calls = new Set<string>();
  if (seen.has(group)) return calls;
  seen.add(group);
  const { stdout } = await exec("systemd-analyze", ["syscall-filter", "--no-pager", group]);
  for (const line of stdout.split("\n").slice(1)) {
    const item = line.trim();
    if (item === "" || item.startsWith("#")) continue;
    for (const call of item.startsWith("@") ? await expand(item, seen) : [item]) calls.add(call);
  }
  return calls;
}

/** The calls the unit allows: its first SystemCallFilter= line, less every "~" line after it. */
async function allowedCalls(): Promise<string[]> {
  const lines = [...unit.matchAll(/^SystemCallFilter=(.*)$/gm)].map((m) => m[1].trim());
  expect(lines[0]).not.toMatch(/^~/);
  const allowed = new Set<string>();
  for (const item of lines[0].split(/\s+/)) for (const call of item.startsWith("@") ? await expand(item) : [item]) allowed.add(call);
  for (const line of lines.slice(1)) {
    expect(line).toMatch(/^~/);
    for (const item of line.slice(1).trim().split(/\s+/)) for (const call of item.startsWith("@") ? await expand(item) : [item]) allowed.delete(call);
  }
  return [...allowed].sort();
}

const LAUNCHER = `import errno, os, sys, seccomp
f = seccomp.SyscallFilter(defaction=seccomp.ERRNO(errno.EPERM))
for name in open(sys.argv[1]).read().split():
    try:
        f.add_rule(seccomp.ALLOW, name)
    except Exception:
        pass  # a call this architecture does not have
f.load()
os.execvp(sys.argv[2], sys.argv[2:])
`;

async function underFilter(args: string[], env: Record<string, string> = {}) {
  const dir = testTempDir("seccomp");
  writeFileSync(join(dir, "allowed"), (await allowedCalls()).join("\n"));
  writeFileSync(join(dir, "launch.py"), LAUNCHER);
  // Debian's python3, where python3-seccomp is installed (not a python3 from another prefix).
  return exec("/usr/bin/python3", [join(dir, "launch.py"), join(dir, "allowed"), process.execPath, ...args], {
    cwd: dir,
    env: { ...process.env, FTPS_SYNC_CONFIG: "", ...env },
    timeout: 50_000,
  });
}

describe("the example unit's system call filter", () => {
  it("refuses a privileged call (setuid) with EPERM", async () => {
    const { stdout } = await underFilter(["-e", "try { process.setuid(1); console.log('allowed') } catch (e) { console.log(e.code) }"]);
    expect(stdout.trim()).toBe("EPERM");
  });

  it("lets the agent run the demo: TLS, SQLite, the scan's worker, uploads and downloads", async () => {
    const workspace = join(testTempDir("seccomp-demo"), "demo");
    const { stdout } = await underFilter([CLI, "demo", "--workspace", workspace]);
    expect(stdout).toMatch(/result: identical/);
  }, 60_000);
});
