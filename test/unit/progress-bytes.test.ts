import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { silentLogger } from "../../src/log.js";
import { MemoryFolder } from "../../src/remote/memory-folder.js";
import { openState, type StateStore } from "../../src/state/index.js";
import { runJob, type Progress } from "../../src/sync/run-job.js";
import { testTempDir } from "../helpers/temp-dir.js";

const MiB = 1024 * 1024;

describe("a run's progress", () => {
  let state: StateStore | undefined;
  afterEach(() => state?.close());

  /** A run uploading one 4 MiB file to a server that pauses midway; every progress event it reported. */
  async function slowUpload(progressBytes?: boolean): Promise<{ seen: Progress[]; size: number }> {
    const dir = testTempDir("progress-bytes");
    mkdirSync(join(dir, "jobs"));
    mkdirSync(join(dir, "local"));
    writeFileSync(join(dir, "agent.config.json"), JSON.stringify({
      stateDir: "./state", jobsDir: "./jobs",
      remotes: { srv: { host: "127.0.0.1", port: 21, tls: "explicit", user: "u", password: { env: "PROGRESS_PW" } } },
    }));
    writeFileSync(join(dir, "jobs", "job.json"), JSON.stringify({ remote: "srv", local: "./local", remotePath: "/job", direction: "upload" }));
    const size = 4 * MiB;
    writeFileSync(join(dir, "local", "big.bin"), Buffer.alloc(size, 7));
    const { config } = loadConfig(join(dir, "agent.config.json"), { env: { PROGRESS_PW: "x" } });
    state = openState(config.stateDir);
    const remote = new MemoryFolder();
    // The server takes its time in the middle of the file, as a slow link does.
    let paused = false;
    remote.onChunk(async (ev) => {
      if (ev.method === "upload" && ev.offset >= size / 2 && !paused) {
        paused = true;
        await new Promise((r) => setTimeout(r, 300));
      }
    });
    const seen: Progress[] = [];
    const summary = await runJob(config, state, "job", { logger: silentLogger(), remote, onProgress: (p) => seen.push(p), progressBytes });
    expect(summary).toMatchObject({ status: "ok", uploaded: 1, bytes: size });
    return { seen, size };
  }

  it("moves with the bytes of a file in flight, so one big file does not sit at zero until it is done", async () => {
    const { seen, size } = await slowUpload();
    const midway = seen.filter((p) => p.phase === "transferring" && p.bytes > 0 && p.bytes < size);
    expect(midway.length).toBeGreaterThan(0);
    expect(midway[0]).toMatchObject({ totalBytes: size, current: "big.bin" }); // (the plan also creates the remote root)
    expect(seen.find((p) => p.finished)?.finished).toMatchObject({ what: "uploaded", path: "big.bin", bytes: size });
  });

  it("counts no bytes in flight where the display does not show them (--progress plain)", async () => {
    const { seen, size } = await slowUpload(false);
    expect(seen.filter((p) => p.bytes > 0 && p.bytes < size)).toEqual([]);
    expect(seen.find((p) => p.finished)?.finished).toMatchObject({ path: "big.bin", bytes: size });
  });
});
