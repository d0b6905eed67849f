import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

const made: string[] = [];

// Registered once per test file (vitest imports helpers afresh for each file): whatever a test
// forgot to remove goes when the file's tests are done, so runs leave nothing in /tmp.
afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh folder under the system temp folder, removed after the test file's last test. */
export function testTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `ftps-sync-${prefix}-`));
  made.push(dir);
  return dir;
}
