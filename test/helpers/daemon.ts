import { spawn, type ChildProcess } from "node:child_process";
import { CLI } from "./cli.js";
import type { Workspace } from "./workspace.js";

/** The agent (`ftps-sync run`) as a child process, for the daemon's integration tests. */

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it gives something truthy (returned), or fails naming `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000, everyMs = 100): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export interface Daemon {
  pid: number;
  /** stdout and stderr so far, interleaved as they came. */
  log(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const daemons = new Set<ChildProcess>();

/** Starts `ftps-sync run` on the workspace's config, with its environment (the password's variable). */
export function startDaemon(ws: Workspace): Daemon {
  const child = spawn(process.execPath, [CLI, "--config", ws.configPath, "run"], {
    env: { ...process.env, FTPS_SYNC_CONFIG: "", ...ws.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  daemons.add(child);
  let out = "";
  child.stdout!.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (out += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => {
      daemons.delete(child);
      resolve({ code, signal });
    }),
  );
  return { pid: child.pid!, log: () => out, exited };
}

/** Stops every daemon still running, by its PID (for afterEach: whatever the test's outcome). */
export async function stopDaemons(): Promise<void> {
  for (const child of [...daemons]) {
    const gone = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await gone;
  }
}
