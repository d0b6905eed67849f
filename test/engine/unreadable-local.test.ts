import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { engine, filesOf } from "./harness.js";

// A folder the agent cannot read. chmod 000 does not stop root, who may run these tests, so while
// `unreadable.on` is set the scan's readdir of any folder named "locked" fails with EACCES, as it
// would for another user's folder.
const unreadable = vi.hoisted(() => ({ on: false }));
vi.mock("node:fs", async (importOriginal) => {
  const fs = await importOriginal<typeof import("node:fs")>();
  const readdirSync = ((path: unknown, ...rest: unknown[]) => {
    if (unreadable.on && typeof path === "string" && /\/locked$/.test(path)) {
      throw Object.assign(new Error(`EACCES: permission denied, scandir '${path}'`), { code: "EACCES" });
    }
    return (fs.readdirSync as (...a: unknown[]) => unknown)(path, ...rest);
  }) as typeof fs.readdirSync;
  return { ...fs, default: { ...fs, readdirSync }, readdirSync };
});

describe("a local folder that cannot be read", () => {
  afterEach(() => void (unreadable.on = false));

  it("turns into no deletion on the server, for its files or any other, and the run fails naming it", async () => {
    const e = engine({ job: { direction: "upload", delete: "mirror", maxDelete: "100%" } });
    e.writeLocal("a.txt", "A");
    e.writeLocal("gone.txt", "G");
    e.writeLocal("locked-not/b.txt", "B");
    await e.run();
    // Synced once; now "gone.txt" is deleted and a folder that held files becomes unreadable.
    e.writeLocal("locked/c.txt", "C");
    expect(await e.run()).toMatchObject({ status: "ok", uploaded: 1 });
    rmSync(join(e.local, "gone.txt"));
    unreadable.on = true;
    const { readdirSync } = await import("node:fs");
    expect(() => readdirSync(join(e.local, "locked"))).toThrow(/EACCES/);
    const s = await e.run();
    expect(s).toMatchObject({ status: "failed", deletedRemote: 0 });
    expect(s.errors.join("\n")).toMatch(/cannot read local folder .*locked/);
    expect(s.warnings.join("\n")).toMatch(/could not be read: \d+ deletion\(s\) skipped this run/);
    expect(filesOf(e.remoteTree())).toEqual({ "a.txt": "A", "gone.txt": "G", "locked-not/b.txt": "B", "locked/c.txt": "C" });
  });

  it("a job folder that cannot be read at all fails the run and deletes nothing", async () => {
    const e = engine({ job: { direction: "upload", delete: "mirror", maxDelete: "100%" }, local: "./locked" });
    unreadable.on = true;
    e.putRemote("theirs.txt", "T");
    const s = await e.run();
    expect(s.status).toBe("failed");
    expect(s.errors.join("\n")).toMatch(/cannot read the local folder/);
    expect(e.readRemote("theirs.txt")).toBe("T");
  });
});
