import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openState } from "../../src/state/index.js";
import { runCli, type CliResult } from "./cli.js";
import { testTempDir } from "./temp-dir.js";

export const PASSWORD_ENV = "FTPS_SYNC_TEST_PASSWORD";

export interface ServerLike {
  host: string;
  port: number;
  user: string;
  password: string;
  certPath?: string;
  caPath?: string;
  fingerprint?: string;
}

export interface Workspace {
  dir: string;
  configPath: string;
  env: Record<string, string>;
  /** Absolute path of a folder inside the workspace (created). */
  folder(name: string): string;
  writeJob(name: string, job: Record<string, unknown>): void;
  cli(args: string[]): Promise<CliResult>;
  cleanup(): void;
}

/**
 * A scratch agent setup: agent.config.json with one remote "srv", a jobs/ folder, and the
 * password passed the way users must pass it, through an environment variable.
 */
export function makeWorkspace(server: ServerLike, remote: Record<string, unknown> = {}, agent: Record<string, unknown> = {}): Workspace {
  const dir = testTempDir("ws");
  mkdirSync(join(dir, "jobs"));
  const configPath = join(dir, "agent.config.json");
  const config = {
    stateDir: "./state",
    jobsDir: "./jobs",
    log: { level: "info", file: "./logs/agent.log" },
    ...agent,
    remotes: {
      srv: {
        host: server.host,
        port: server.port,
        tls: "explicit",
        user: server.user,
        password: { env: PASSWORD_ENV },
        ...(server.fingerprint ? {} : {}),
        ...remote,
      },
    },
  };
  writeFileSync(configPath, JSON.stringify(config, null, 2));
  const env = { [PASSWORD_ENV]: server.password };
  return {
    dir,
    configPath,
    env,
    folder(name) {
      const p = join(dir, name);
      mkdirSync(p, { recursive: true });
      return p;
    },
    writeJob(name, job) {
      writeFileSync(join(dir, "jobs", `${name}.json`), JSON.stringify(job, null, 2));
    },
    cli(args) {
      return runCli(["--config", configPath, ...args], { env });
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** What a pool would have learnt of the server at `host`:`port` (remote "srv"), written into the workspace's state. */
export function rememberOff(ws: Workspace, server: { host: string; port: number }, technique: string, reason = "test"): void {
  mkdirSync(join(ws.dir, "state"), { recursive: true });
  const state = openState(join(ws.dir, "state"));
  try {
    state.capabilities.rememberTechniqueOff("srv", server.host, server.port, technique, reason);
  } finally {
    state.close();
  }
}
