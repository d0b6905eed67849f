import { spawn, type ChildProcess } from "node:child_process";
import { CLI } from "./cli.js";
import { waitFor } from "./wait.js";
import type { Workspace } from "./workspace.js";

/** The agent (`ftps-sync run`) as a child process, for the daemon's integration tests. */

export { sleep, waitFor } from "./wait.js";

export interface Daemon {
  pid: number;
  /** stdout and stderr so far, interleaved as they came. */
  log(): string;
  stdout(): string;
  stderr(): string;
  /** Sends a signal (SIGTERM by default) to the agent. */
  kill(signal?: NodeJS.Signals): void;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** waitFor, with the agent's output so far added to the timeout's message. */
  waitFor<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs?: number, everyMs?: number): Promise<T>;
}

const daemons = new Set<ChildProcess>();

/**
 * Starts `ftps-sync run` on the workspace's config, with its environment (the password's
 * variable) and `opts.env`; `opts.args` go before `run` (`["--log-format", "json"]`).
 */
export function startDaemon(ws: Workspace, opts: { args?: string[]; env?: Record<string, string> } = {}): Daemon {
  const child = spawn(process.execPath, [CLI, "--config", ws.configPath, ...(opts.args ?? []), "run"], {
    env: { ...process.env, FTPS_SYNC_CONFIG: "", ...ws.env, ...opts.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  daemons.add(child);
  let out = "";
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => ((out += d.toString()), (stdout += d.toString())));
  child.stderr!.on("data", (d: Buffer) => ((out += d.toString()), (stderr += d.toString())));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => {
      daemons.delete(child);
      resolve({ code, signal });
    }),
  );
  return {
    pid: child.pid!,
    log: () => out,
    stdout: () => stdout,
    stderr: () => stderr,
    kill: (signal = "SIGTERM") => void child.kill(signal),
    exited,
    waitFor: (what, fn, timeoutMs, everyMs) =>
      waitFor(what, fn, timeoutMs, everyMs).catch((err: Error) => {
        throw new Error(`${err.message}\nthe agent's output:\n${out}`);
      }),
  };
}

/** Stops every daemon still running, by its PID (for afterEach: whatever the test's outcome). */
export async function stopDaemons(): Promise<void> {
  for (const child of [...daemons]) {
    const gone = new Promise((r) => child.once("exit", r));
    child.kill("SIGKILL");
    await gone;
  }
}
