import { linkSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import type { AgentConfig } from "../../src/config/types.js";
import { LocalFolderMissing, ownFilesIn, realLocalFolder } from "../../src/local/own-files.js";
import { scanLocal } from "../../src/local/scan.js";
import { makeJobPathFilter } from "../../src/plan/filter.js";
import { logNamePattern, makeOwnPathTest } from "../../src/plan/own-paths.js";
import { Secret } from "../../src/secret.js";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const WORKER = join(repo, "dist", "local", "scan-worker.js");
const work = mkdtempSync(join(tmpdir(), "ftps-sync-own-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** An agent config in `dir` as the loader would resolve it (only the fields the own files need). */
function agentIn(dir: string, over: Partial<AgentConfig> = {}): AgentConfig {
  return {
    configPath: join(dir, "agent.config.json"),
    baseDir: dir,
    stateDir: join(dir, "state"),
    jobsDir: join(dir, "jobs"),
    log: { level: "info", file: join(dir, "logs", "agent.log") },
    maxConcurrentJobs: 1,
    shutdownGraceSeconds: 1,
    remotes: {
      srv: {
        name: "srv", host: "127.0.0.1", port: 21, tls: "explicit", user: "u", password: new Secret("pw"),
        passwordFile: join(dir, "srv.pass"), maxConnections: 1, timeoutMs: 1000, maxTlsVersion: "1.3",
      },
    },
    jobs: {},
    ...over,
  };
}

const noPatterns = { include: [], exclude: [], skip: [] };

describe("the agent's own files", () => {
  it("log names: the rotation's daily and numbered files and its audit file, nothing else", () => {
    const re = new RegExp(logNamePattern("agent", ".log"));
    for (const name of ["agent.log", "agent-2026-12-05.log", "agent-2026-12-05.log.3", "agent-2026-12-05.log.gz", ".agent-audit.json"]) {
      expect(re.test(name), name).toBe(true);
    }
    for (const name of ["agent.log.txt", "xagent.log", "agent-notes.log", "agent-2026-12-05.logx", "other-2026-12-05.log", "agent.json"]) {
      expect(re.test(name), name).toBe(false);
    }
  });

  it("in the job's folder: own folders are left out with everything below them, own files and logs by name", () => {
    const dir = join(work, "ws1");
    mkdirSync(join(dir, "logs"), { recursive: true });
    writeFileSync(join(dir, "agent.config.json"), "{}");
    writeFileSync(join(dir, "logs", "agent-2026-12-05.log"), "");
    const spec = ownFilesIn(agentIn(dir), realLocalFolder(dir));
    const isOwn = makeOwnPathTest(spec)!;
    for (const p of ["agent.config.json", "srv.pass", "state", "state/ftps-sync.db-wal", "jobs", "jobs/a.json", "logs/agent-2030-01-01.log", "logs/.agent-audit.json"]) {
      expect(isOwn(p), p).toBe(true);
    }
    for (const p of ["logs", "logs/other.log", "data/agent.config.json", "statement.txt", "jobsite/a.json", "data/logs/agent-2030-01-01.log"]) {
      expect(isOwn(p), p).toBe(false);
    }
    // The job's filter (the remote listing's too) leaves them out.
    const accept = makeJobPathFilter({ ...noPatterns, own: spec });
    expect(accept("state/ftps-sync.db", "file")).toBe(false);
    expect(accept("data.txt", "file")).toBe(true);
  });

  it("a state folder that is the job's folder is not left out whole: only its database files are", () => {
    const dir = join(work, "ws2");
    mkdirSync(dir, { recursive: true });
    const spec = ownFilesIn(agentIn(dir, { stateDir: dir, jobsDir: join(dir, "..") }), realLocalFolder(dir));
    expect(spec.dirs).toEqual([]);
    expect(spec.files).toEqual(expect.arrayContaining(["ftps-sync.db", "ftps-sync.db-wal", "ftps-sync.db-shm"]));
    expect(makeOwnPathTest(spec)!("report.txt")).toBe(false);
  });

  it("a job folder elsewhere has no own paths, but a hard link to an own file is found by its inode, in both threads of a scan", async () => {
    const agentDir = join(work, "ws3");
    mkdirSync(agentDir, { recursive: true });
    writeFileSync(join(agentDir, "srv.pass"), "secret\n");
    const root = join(work, "job3");
    for (let d = 0; d < 200; d++) {
      mkdirSync(join(root, "one", `d${d}`), { recursive: true });
      writeFileSync(join(root, "one", `d${d}`, "f.txt"), String(d));
    }
    linkSync(join(agentDir, "srv.pass"), join(root, "one", "d150", "copy.pass"));
    linkSync(join(agentDir, "srv.pass"), join(root, "one", "d3", "copy.pass"));
    const spec = ownFilesIn(agentIn(agentDir), realLocalFolder(root));
    expect(makeOwnPathTest(spec)).toBeUndefined();
    const filter = { ...noPatterns, own: spec };
    const one = await scanLocal(root, { filter, followSymlinks: false });
    const two = await scanLocal(root, { filter, followSymlinks: false, parallel: true }, { workerFile: WORKER, waitForWorker: true });
    expect(two.walkedByWorker).toBeGreaterThan(0);
    for (const scan of [one, two]) {
      expect(scan.entries.has("one/d150/copy.pass")).toBe(false);
      expect(scan.entries.has("one/d150/f.txt")).toBe(true);
      expect([...(scan.ownFound ?? [])].sort()).toEqual(["one/d150/copy.pass", "one/d3/copy.pass"]);
    }
  });

  it("a followed symlink to the state folder is found by the folder's inode", async () => {
    const dir = join(work, "ws4");
    mkdirSync(join(dir, "state"), { recursive: true });
    writeFileSync(join(dir, "state", "ftps-sync.db"), "db");
    mkdirSync(join(dir, "data"));
    symlinkSync(join(dir, "state"), join(dir, "data", "st"));
    const scan = await scanLocal(dir, { filter: { ...noPatterns, own: ownFilesIn(agentIn(dir), realLocalFolder(dir)) }, followSymlinks: true });
    expect([...scan.entries.keys()]).toEqual(["data"]);
    expect([...(scan.ownFound ?? [])].sort()).toEqual(["data/st", "state"]);
  });

  it("a missing local folder is named as missing", () => {
    const gone = join(work, "not-there");
    expect(() => realLocalFolder(gone)).toThrow(LocalFolderMissing);
    expect(() => realLocalFolder(gone)).toThrow(`local folder ${gone} is missing`);
  });
});
