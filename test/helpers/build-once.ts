import { execFileSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The CLI tests run the built CLI as users do: build it once (tsc, then the bundle) before the suite. */
export default function setup(): void {
  const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
  execFileSync(process.execPath, [resolve(repo, "scripts/build.mjs")], { cwd: repo, stdio: "inherit" });
}
