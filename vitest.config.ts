import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    globalSetup: ["test/helpers/build-once.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Real servers bind ports and vsftpd runs as root with a shared system user: keep files
    // in separate workers but not too many at once on a 2-core machine.
    maxWorkers: 2,
    fileParallelism: true,
  },
});
