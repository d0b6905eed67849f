import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? "/usr/bin:/bin").split(":").some((d) => d && existsSync(join(d, cmd)));
}

/** What the package tests need that this machine lacks (scripts/fetch-test-tools.sh installs it). */
function missing(): string[] {
  const tools = ["zsh", "fish", "groff", "man", "systemd-analyze"].filter((t) => !onPath(t));
  const seccomp = spawnSync("/usr/bin/python3", ["-c", "import seccomp"], { stdio: "ignore" }).status === 0;
  return seccomp ? tools : [...tools, "python3-seccomp"];
}

/**
 * globalSetup of the "package" project (vitest.config.ts), run only when a package test is
 * selected: installs the tools those tests check the shipped files with when they are missing
 * (root on Debian), and otherwise stops the run naming them, so that no test is skipped silently.
 */
export default function setup(): void {
  if (missing().length === 0) return;
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  if (isRoot && onPath("apt-get")) {
    const run = spawnSync("bash", [join(repo, "scripts", "fetch-test-tools.sh")], { cwd: repo, stdio: "inherit" });
    if (run.status !== 0) process.stderr.write(`scripts/fetch-test-tools.sh failed (exit ${run.status ?? run.signal})\n`);
  }
  const still = missing();
  if (still.length === 0) return;
  process.stderr.write(`\nftps-sync tests: the package tests (test/package/) need ${still.join(", ")}: run scripts/fetch-test-tools.sh as root on Debian, or npm run test:fast\n\n`);
  process.exit(1);
}
