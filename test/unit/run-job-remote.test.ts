import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import { silentLogger } from "../../src/log.js";
import { injectedError, MemoryFolder } from "../../src/remote/memory-folder.js";
import { openState, type StateStore } from "../../src/state/index.js";
import { runJob } from "../../src/sync/run-job.js";
import { testTempDir } from "../helpers/temp-dir.js";

/** An agent config with one remote and one job, loaded as the CLI loads it. */
function setup(job: Record<string, unknown>) {
  const dir = testTempDir("run-job-remote");
  mkdirSync(join(dir, "jobs"));
  mkdirSync(join(dir, "local"));
  writeFileSync(
    join(dir, "agent.config.json"),
    JSON.stringify({
      stateDir: "./state",
      jobsDir: "./jobs",
      remotes: { srv: { host: "127.0.0.1", port: 21, tls: "explicit", user: "u", password: { env: "RUN_JOB_REMOTE_PW" } } },
    }),
  );
  writeFileSync(join(dir, "jobs", "job.json"), JSON.stringify({ remote: "srv", local: "./local", remotePath: "/job", retries: { attempts: 3, initialDelay: "1ms", maxDelay: "2ms" }, ...job }));
  const { config } = loadConfig(join(dir, "agent.config.json"), { env: { RUN_JOB_REMOTE_PW: "x" } });
  const state = openState(config.stateDir);
  return { dir, local: join(dir, "local"), config, state };
}

describe("runJob over an injected remote folder", () => {
  let state: StateStore | undefined;
  afterEach(() => state?.close());

  it("uploads through the folder it is given (no FTPS connection), retrying a transient failure, and leaves the folder open for its owner", async () => {
    const s = setup({ direction: "upload" });
    state = s.state;
    writeFileSync(join(s.local, "a.txt"), "alpha");
    mkdirSync(join(s.local, "sub"));
    writeFileSync(join(s.local, "sub", "b.txt"), "bravo");
    const remote = new MemoryFolder();
    remote.fail({ method: "upload", nth: 1, error: injectedError("transient") });
    const summary = await runJob(s.config, s.state, "job", { logger: silentLogger(), remote });
    expect(summary).toMatchObject({ status: "ok", uploaded: 2, failed: 0 });
    expect(remote.read("/job/a.txt")?.toString()).toBe("alpha");
    expect(remote.read("/job/sub/b.txt")?.toString()).toBe("bravo");
    expect(remote.calls.filter((c) => c.method === "upload")).toHaveLength(3); // the failed one, then both files
    expect(remote.closed).toBe(false);
  });

  it("downloads through the folder it is given, in place only once every byte is in", async () => {
    const s = setup({ direction: "download" });
    state = s.state;
    const remote = new MemoryFolder();
    remote.put("/job/c.txt", "charlie");
    remote.put("/job/d/e.txt", "echo");
    const summary = await runJob(s.config, s.state, "job", { logger: silentLogger(), remote });
    expect(summary).toMatchObject({ status: "ok", downloaded: 2, failed: 0 });
    expect(readFileSync(join(s.local, "c.txt"), "utf8")).toBe("charlie");
    expect(readFileSync(join(s.local, "d", "e.txt"), "utf8")).toBe("echo");
  });
});
