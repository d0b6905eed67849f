// A server that refuses to resume uploads: ProFTPD in its default configuration
// (AllowStoreRestart off) answers APPE with "451 Append/Restart not permitted" and resets the
// data connection. An upload interrupted by a SIGKILL must be finished by the next run.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CLI } from "../helpers/cli.js";
import { prng, put, randomBytesFrom, sha, startRig, tempFiles, type Rig } from "../faults/harness.js";
import { requireServers } from "../servers/real-servers.js";
import { openState } from "../../src/state/index.js";

requireServers("proftpd");

/** Starts `sync <job>` and SIGKILLs it once the upload's temporary file on the server holds `bytes` bytes. */
async function killMidUpload(rig: Rig, job: string, remoteDir: string, bytes: number): Promise<void> {
  const child = spawn(process.execPath, [CLI, "--config", rig.ws.configPath, "sync", job], {
    env: { ...process.env, FTPS_SYNC_CONFIG: "", ...rig.ws.env },
    stdio: "ignore",
  });
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once("exit", (_code, signal) => resolve(signal)));
  const deadline = Date.now() + 30_000;
  let done = false;
  void exited.then(() => (done = true));
  while (!done && Date.now() < deadline) {
    const temp = readdirSync(remoteDir).find((n) => n.endsWith(".part"));
    if (temp && statSync(join(remoteDir, temp)).size >= bytes) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill("SIGKILL");
  expect(await exited, "the sync ended before its upload could be interrupted").toBe("SIGKILL");
}

/** The APPE and STOR commands ProFTPD logged so far (a command is logged once it has ended). */
function uploadCommands(rig: Rig): string[] {
  return readFileSync(join(rig.server.dir, "commands.log"), "utf8")
    .split("\n")
    .filter((l) => /^(APPE|STOR) /.test(l));
}

/** Waits until ProFTPD has logged `count` upload commands (the killed session's STOR ends a moment later). */
async function logged(rig: Rig, count: number): Promise<number> {
  const deadline = Date.now() + 10_000;
  while (uploadCommands(rig).length < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  return uploadCommands(rig).length;
}

describe("an interrupted upload to ProFTPD with AllowStoreRestart off", () => {
  let rig: Rig;
  beforeAll(async () => {
    rig = await startRig({ kind: "proftpd", extraConfig: ["AllowStoreRestart off"] });
  });
  afterAll(async () => {
    await rig?.stop();
  });

  it("is sent whole by the next run (exit 0, the file whole), and the refusal is remembered: a later interrupted upload is not resumed again", async () => {
    const j = rig.job("refused", { direction: "upload" });
    const content = randomBytesFrom(prng(17), 8 * 1024 * 1024);
    put(j.local, "big.bin", content);
    // slow enough that the kill lands mid-transfer
    rig.proxy.faultFor = (c) => (c.kind === "data" ? { kind: "slow", bytesPerSecond: 2_000_000 } : undefined);
    await killMidUpload(rig, "refused", j.remoteDir, 500_000);
    rig.proxy.disarm();
    expect(tempFiles(j.remoteDir)).toHaveLength(1);

    const before = await logged(rig, 1);
    expect(before).toBe(1);
    const r = await rig.sync("refused", { timeoutMs: 60_000 });
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect(r.summary).toMatchObject({ status: "ok", uploaded: 1, failed: 0 });
    expect(r.stderr).toMatch(/did not take the resumed upload .* sent it whole/);
    expect(sha(readFileSync(join(j.remoteDir, "big.bin")))).toBe(sha(content));
    expect(tempFiles(j.remoteDir)).toEqual([]);
    // one refused APPE, then the whole file
    expect(uploadCommands(rig).slice(before).map((l) => l.split(" ")[0])).toEqual(["APPE", "STOR"]);
    const state = openState(join(rig.ws.dir, "state"));
    try {
      expect(state.capabilities.uploadResumeRefused("srv")).toBe(true);
    } finally {
      state.close();
    }

    // A later interrupted upload: the next run sends it whole at once, with no APPE.
    const second = randomBytesFrom(prng(18), 8 * 1024 * 1024);
    put(j.local, "big.bin", second, undefined, Date.now() + 60_000);
    rig.proxy.faultFor = (c) => (c.kind === "data" ? { kind: "slow", bytesPerSecond: 2_000_000 } : undefined);
    const count = uploadCommands(rig).length;
    await killMidUpload(rig, "refused", j.remoteDir, 500_000);
    rig.proxy.disarm();
    const seen = await logged(rig, count + 1);
    expect(seen).toBe(count + 1);
    const again = await rig.sync("refused", { timeoutMs: 60_000 });
    expect(again.code, again.stderr.slice(-3000)).toBe(0);
    expect(sha(readFileSync(join(j.remoteDir, "big.bin")))).toBe(sha(second));
    expect(tempFiles(j.remoteDir)).toEqual([]);
    expect(uploadCommands(rig).slice(seen).map((l) => l.split(" ")[0])).toEqual(["STOR"]);
  }, 120_000);
});
