import { execFile } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { ExitCode } from "../../src/errors.js";
import { REPO } from "../helpers/cli.js";
import { testTempDir } from "../helpers/temp-dir.js";

// deploy/ftps-sync.service, the example unit shipped in the package: its directives, and
// systemd-analyze's own verdict (offline: no systemd needs to run here; .ci/run installs it).

const exec = promisify(execFile);
const unitText = readFileSync(join(REPO, "deploy", "ftps-sync.service"), "utf8");
const readme = readFileSync(join(REPO, "README.md"), "utf8");

/** Every value of each key in [Service] (a key may repeat; values are kept in order). */
function serviceDirectives(text: string): Map<string, string[]> {
  const directives = new Map<string, string[]>();
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1];
      continue;
    }
    if (section !== "Service") continue;
    const eq = line.indexOf("=");
    const key = line.slice(0, eq);
    directives.set(key, [...(directives.get(key) ?? []), line.slice(eq + 1)]);
  }
  return directives;
}
const service = serviceDirectives(unitText);
const one = (key: string) => {
  const values = service.get(key);
  expect(values, key).toHaveLength(1);
  return values![0];
};

/** The unit in a temporary folder, with ExecStart pointing at a command that exists here. */
function unitCopy(): string {
  const path = join(testTempDir("unit"), "ftps-sync.service");
  writeFileSync(path, unitText.replace(/^ExecStart=\S+/m, "ExecStart=/bin/true"));
  return path;
}

describe("the example systemd unit", () => {
  it("runs the command where the README's global install puts it", () => {
    const install = /npm install --global --prefix (\S+) \.\/ftps-sync-<version>\.tgz --allow-scripts=better-sqlite3/.exec(readme);
    expect(install, "the README's install command").not.toBeNull();
    expect(one("ExecStart")).toMatch(new RegExp(`^${install![1]}/bin/ftps-sync --config \\S+ run$`));
  });

  it("keeps state and logs in systemd's own folders and writes to the job folders only if they exist", () => {
    expect(one("StateDirectory")).toBe("ftps-sync");
    expect(one("LogsDirectory")).toBe("ftps-sync");
    const paths = one("ReadWritePaths").split(/\s+/);
    expect(paths.length).toBeGreaterThan(0);
    for (const path of paths) expect(path).toMatch(/^-\//);
  });

  it("does not restart after an exit that a restart cannot fix (usage or config, HTTP listen)", () => {
    expect(one("Restart")).toBe("on-failure");
    const codes = one("RestartPreventExitStatus").split(/\s+/).map(Number);
    expect(codes).toEqual(expect.arrayContaining([ExitCode.Usage, ExitCode.HttpListen]));
    expect(codes).not.toContain(ExitCode.Failures);
  });

  it("is hardened: system-service calls only, no privileges, read-only system, private /tmp and devices", () => {
    expect(service.get("SystemCallFilter")).toEqual(["@system-service", "~@privileged @resources"]);
    expect(one("SystemCallErrorNumber")).toBe("EPERM");
    expect(one("SystemCallArchitectures")).toBe("native");
    expect(one("NoNewPrivileges")).toBe("yes");
    expect(one("CapabilityBoundingSet")).toBe("");
    expect(one("ProtectSystem")).toBe("strict");
    expect(one("ProtectHome")).toBe("yes");
    expect(one("PrivateTmp")).toBe("yes");
    expect(one("PrivateDevices")).toBe("yes");
    expect(one("UMask")).toBe("0077");
    expect(one("RestrictAddressFamilies")).toBe("AF_INET AF_INET6 AF_UNIX");
  });

  it("logs to the journal alone: no output to a file and no log.file in its setup", () => {
    for (const key of ["StandardOutput", "StandardError"]) expect(service.get(key) ?? [], key).not.toEqual(expect.arrayContaining([expect.stringMatching(/^(file|append):/)]));
    expect(unitText).not.toMatch(/"log"\s*:\s*\{[^}]*"file"/);
  });

  it("passes systemd-analyze verify without a warning", async () => {
    const { stderr } = await exec("systemd-analyze", ["verify", "--man=no", unitCopy()]);
    expect(stderr).toBe("");
  });

  it("scores an exposure of at most 1.5 in systemd-analyze security", async () => {
    // --threshold: exit non-zero above 1.5 (in tenths).
    const { stdout } = await exec("systemd-analyze", ["security", "--offline=true", "--threshold=15", "--no-pager", unitCopy()]);
    const score = /Overall exposure level for ftps-sync\.service: (\d+\.\d)/.exec(stdout);
    expect(score, stdout.slice(-300)).not.toBeNull();
    expect(Number(score![1])).toBeLessThanOrEqual(1.5);
  });
});
