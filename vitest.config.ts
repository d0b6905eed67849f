import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { configDefaults, defineConfig } from "vitest/config";

// The long fault mode is its own command (`npm run test:faults`), not a skipped part of `npm test`.
const longFaults = !!process.env.FTPS_SYNC_FAULTS_LONG;
const exclude = longFaults ? configDefaults.exclude : [...configDefaults.exclude, "test/faults/long.test.ts"];

// Four tiers; `npm test` runs them all.
// - "fast" (`npm run test:fast`): test/unit and test/engine: no root, no server, seconds. The sync
//   engine runs there on the in-memory remote (src/remote/memory-folder.ts).
// - "scripted" (`npm run test:scripted`): the built CLI and daemon as processes, against scripted
//   hostile servers and the demo's embedded one on loopback; no root.
// - "package" (`npm run test:package`): test/package: the packed and installed package, and the
//   shipped man page, completions and systemd unit (tools installed when missing, as root on Debian).
// - "servers": every test file that calls requireServers() (test/servers/real-servers.ts), which
//   needs root and the real FTPS servers.
const repo = dirname(fileURLToPath(import.meta.url));
const testFiles = readdirSync(join(repo, "test"), { recursive: true, encoding: "utf8" })
  .filter((f) => f.endsWith(".test.ts"))
  .map((f) => ({ file: `test/${f}`, text: readFileSync(join(repo, "test", f), "utf8") }));
const serverTier = testFiles.filter((t) => /\brequireServers\(/.test(t.text)).map((t) => t.file);
// A file that starts a real server without declaring it would land in the fast tier and fail there
// for want of root, or be skipped by an old-style skipIf: refuse it here, by name.
const undeclared = testFiles.filter((t) => /\b(startServer|startPyftpd|startRig|serversAvailable)\(/.test(t.text) && !serverTier.includes(t.file));
const fastTier = testFiles.map((t) => t.file).filter((f) => /^test\/(unit|engine)\//.test(f) && !serverTier.includes(f));
// The packaged install and the shipped man page, completions and unit: tools of their own.
const packageTier = testFiles.map((t) => t.file).filter((f) => f.startsWith("test/package/") && !serverTier.includes(f));
const scriptedTier = testFiles.map((t) => t.file).filter((f) => !fastTier.includes(f) && !serverTier.includes(f) && !packageTier.includes(f));
if (undeclared.length) {
  const names = undeclared.map((t) => t.file).join(", ");
  throw new Error(`a test file that starts real FTPS servers must call requireServers(...) at its top (test/servers/real-servers.ts): ${names}`);
}

const perFile = { testTimeout: 60_000, hookTimeout: 60_000, exclude };

export default defineConfig({
  test: {
    // Builds the CLI once before either tier: the CLI tests run the built CLI as users do.
    globalSetup: ["test/helpers/build-once.ts"],
    // Real servers bind ports and vsftpd runs as root with a shared system user: keep files
    // in separate workers but not too many at once on a 2-core machine.
    maxWorkers: 2,
    fileParallelism: true,
    projects: [
      // Worker threads start faster than the default child processes (about 15% of this tier).
      { test: { name: "fast", include: fastTier, pool: "threads", ...perFile } },
      { test: { name: "scripted", include: scriptedTier, ...perFile } },
      // Its globalSetup installs the tools the package tests use when they are missing (root on
      // Debian: scripts/fetch-test-tools.sh) or stops the run naming them.
      { test: { name: "package", include: packageTier, ...perFile, globalSetup: ["test/helpers/package-tools-ready.ts"] } },
      // Its globalSetup runs only when a server-tier file is selected: it fetches the servers when
      // they are missing (root on Debian) or stops the run with a message naming test:fast.
      { test: { name: "servers", include: serverTier, ...perFile, globalSetup: ["test/helpers/servers-ready.ts"] } },
    ],
  },
});
