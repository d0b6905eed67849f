import { mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { afterEach } from "vitest";
import { loadConfig } from "../../src/config/load.js";
import type { AgentConfig } from "../../src/config/types.js";
import { silentLogger } from "../../src/log.js";
import { MemoryFolder, type MemoryFolderOptions } from "../../src/remote/memory-folder.js";
import { openState, type StateStore } from "../../src/state/index.js";
import type { StateEntry } from "../../src/plan/types.js";
import { runJob, type RunOptions, type RunSummary } from "../../src/sync/run-job.js";
import { testTempDir } from "../helpers/temp-dir.js";

/**
 * The sync engine end to end without a server: a temporary folder holding an agent.config.json
 * and jobs/*.json written as a user would, loaded with the real config loader; the real SQLite
 * state in that folder; a MemoryFolder as the server; runJob as the CLI calls it.
 *
 * The job is named "job", syncs `<dir>/local` with the remote folder "/job", and retries with
 * delays of a millisecond (a job's `retries` keys), so a test that retries stays fast.
 */

/** A fixed point in the past for file times: tests set times explicitly, never by the wall clock. */
export const T0 = Date.UTC(2026, 0, 5, 10, 0, 0);
/** `T0 + minutes`: an edit made later. */
export const at = (minutes: number) => T0 + minutes * 60_000;

export const REMOTE_ROOT = "/job";

export interface EngineSetup {
  /** The job's keys besides remote, local and remotePath (direction is required by the loader). */
  job: Record<string, unknown>;
  /** The in-memory server's options. */
  server?: MemoryFolderOptions;
  /** agent.config.json keys to add or replace (stateDir, for instance). */
  agent?: Record<string, unknown>;
  /** The job's `local` as written in its file, relative to the config's folder. Default "./local". */
  local?: string;
  /** The remote's password (given in an environment variable, as the config requires). */
  password?: string;
}

export interface Engine {
  /** The folder holding agent.config.json, jobs/ and state/. */
  dir: string;
  /** The job's local folder (absolute). */
  local: string;
  remote: MemoryFolder;
  config: AgentConfig;
  state: StateStore;
  /** Runs the job once on the in-memory server. */
  run(opts?: Partial<RunOptions>): Promise<RunSummary>;
  /** Writes a local file (making its folders) with the given mtime (epoch ms; default T0). */
  writeLocal(rel: string, content: string | Buffer, mtime?: number): void;
  readLocal(rel: string): string | undefined;
  localMtime(rel: string): number;
  /** Puts a file on the server under the job's folder with the given time (default T0). */
  putRemote(rel: string, content: string | Buffer, mtime?: number): void;
  readRemote(rel: string): string | undefined;
  /** Every local file and folder under the job's folder: file -> text, folder -> null (temporary files included). */
  localTree(): Record<string, string | null>;
  /** The same for the server's job folder. */
  remoteTree(): Record<string, string | null>;
  /** The state's rows for the job. */
  stateRows(): Map<string, StateEntry>;
}

const opened: StateStore[] = [];
afterEach(() => {
  for (const s of opened.splice(0)) s.close();
});

let jobsMade = 0;

/** A fresh agent folder with one job on a fresh in-memory server. */
export function engine(setup: EngineSetup): Engine {
  const dir = testTempDir(`engine-${++jobsMade}`);
  mkdirSync(join(dir, "jobs"));
  const localRel = setup.local ?? "./local";
  const local = join(dir, localRel);
  mkdirSync(local, { recursive: true });
  writeFileSync(
    join(dir, "agent.config.json"),
    JSON.stringify(
      {
        stateDir: "./state",
        jobsDir: "./jobs",
        remotes: { srv: { host: "127.0.0.1", port: 21, tls: "explicit", user: "u", password: { env: "ENGINE_TEST_PASSWORD" } } },
        ...setup.agent,
      },
      null,
      2,
    ),
  );
  writeFileSync(
    join(dir, "jobs", "job.json"),
    JSON.stringify(
      { remote: "srv", local: localRel, remotePath: REMOTE_ROOT, retries: { attempts: 3, initialDelay: "1ms", maxDelay: "2ms" }, ...setup.job },
      null,
      2,
    ),
  );
  const { config } = loadConfig(join(dir, "agent.config.json"), { env: { ENGINE_TEST_PASSWORD: setup.password ?? "not-a-real-password" } });
  const state = openState(config.stateDir);
  opened.push(state);
  const remote = new MemoryFolder({ clock: () => T0, ...setup.server });
  remote.putDir(REMOTE_ROOT, T0);
  const remoteAbs = (rel: string) => `${REMOTE_ROOT}/${rel}`;

  return {
    dir,
    local,
    remote,
    config,
    state,
    run: (opts = {}) => runJob(config, state, "job", { logger: silentLogger(), remote, ...opts }),
    writeLocal(rel, content, mtime = T0) {
      const abs = join(local, rel);
      mkdirSync(dirname(abs), { recursive: true });
      writeFileSync(abs, content);
      utimesSync(abs, new Date(mtime), new Date(mtime));
    },
    readLocal(rel) {
      try {
        return readFileSync(join(local, rel), "utf8");
      } catch {
        return undefined;
      }
    },
    localMtime: (rel) => statSync(join(local, rel)).mtimeMs,
    putRemote: (rel, content, mtime = T0) => remote.put(remoteAbs(rel), content, mtime),
    readRemote: (rel) => remote.read(remoteAbs(rel))?.toString("utf8"),
    localTree: () => localTree(local),
    remoteTree: () => remote.tree(REMOTE_ROOT),
    stateRows: () => state.entries.load("job"),
  };
}

/** A local folder as MemoryFolder.tree shows the server's: file -> text, folder -> null, sorted. */
export function localTree(root: string): Record<string, string | null> {
  const out: [string, string | null][] = [];
  const walk = (abs: string, prefix: string) => {
    for (const name of readdirSync(abs)) {
      const rel = prefix + name;
      const st = statSync(join(abs, name));
      if (st.isDirectory()) {
        out.push([rel, null]);
        walk(join(abs, name), rel + "/");
      } else out.push([rel, readFileSync(join(abs, name), "utf8")]);
    }
  };
  walk(root, "");
  return Object.fromEntries(out.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The files of a tree (folders left out), for comparing the two sides. */
export function filesOf(tree: Record<string, string | null>): Record<string, string> {
  return Object.fromEntries(Object.entries(tree).filter((e): e is [string, string] => e[1] !== null));
}

/** Paths in a tree that are temporary transfer names (".ftps-sync.NAME.XXXXXXXX.part"). */
export function tempPaths(tree: Record<string, string | null>): string[] {
  return Object.keys(tree).filter((p) => /(^|\/)\.ftps-sync\.[^/]*\.part$/.test(p));
}
