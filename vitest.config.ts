import { configDefaults, defineConfig } from "vitest/config";

// The long fault mode is its own command (`npm run test:faults`), not a skipped part of `npm test`.
const longFaults = !!process.env.FTPS_SYNC_FAULTS_LONG;

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    exclude: longFaults ? configDefaults.exclude : [...configDefaults.exclude, "test/faults/long.test.ts"],
    globalSetup: ["test/helpers/build-once.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Real servers bind ports and vsftpd runs as root with a shared system user: keep files
    // in separate workers but not too many at once on a 2-core machine.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
