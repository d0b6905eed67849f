import { execFileSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The CLI tests run the built `dist/` as users do: build it once before the suite. */
export default function setup(): void {
  const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
  execFileSync(process.execPath, [resolve(repo, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"], { cwd: repo, stdio: "inherit" });
}
