import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { SERVERS_DIR, serversMissingMessage } from "../servers/real-servers.js";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

function onPath(cmd: string): boolean {
  return (process.env.PATH ?? "/usr/bin:/bin").split(":").some((d) => d && existsSync(join(d, cmd)));
}

/** scripts/fetch-servers.sh needs root and Debian's apt-get and dpkg-deb. */
function canFetch(): boolean {
  const isRoot = typeof process.getuid === "function" && process.getuid() === 0;
  return isRoot && onPath("apt-get") && onPath("dpkg-deb");
}

/**
 * globalSetup of the "servers" project (vitest.config.ts), run only when a server-tier file is
 * selected: when the real FTPS servers are missing it fetches them (root on Debian), and otherwise
 * stops the run with a message naming `npm run test:fast`, so that no server test is skipped silently.
 */
export default function setup(): void {
  if (!serversMissingMessage()) return;
  if (canFetch()) {
    process.stderr.write("real FTPS servers missing: running scripts/fetch-servers.sh\n");
    // The script honours FTPS_SYNC_SERVERS_DIR, where the harness looks (test/servers/real-servers.ts).
    const env = { ...process.env, FTPS_SYNC_SERVERS_DIR: resolve(SERVERS_DIR) };
    const fetch = spawnSync("bash", [join(repo, "scripts", "fetch-servers.sh")], { cwd: repo, env, stdio: "inherit" });
    if (fetch.status !== 0) process.stderr.write(`scripts/fetch-servers.sh failed (exit ${fetch.status ?? fetch.signal})\n`);
  }
  const message = serversMissingMessage();
  if (!message) return;
  // Stop here, before any test, with only this message: a throw would let vitest report "No test
  // files found" first, which reads as if the run had nothing to do.
  process.stderr.write(`\nftps-sync tests: ${message}\n\n`);
  process.exit(1);
}
