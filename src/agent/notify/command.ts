/** One run of a notification command: argv (no shell), the event in its environment and on stdin. */
import { spawn } from "node:child_process";

/**
 * The command does not inherit the agent's environment, which may hold a server's password
 * ({ "env": ... }): only what a program needs to run, and the FTPS_SYNC_* variables.
 */
const PASSED_THROUGH = ["PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "SYSTEMROOT", "USER"];

export function runNotifyCommand(argv: string[], env: Record<string, string>, stdin: string, timeoutMs: number): Promise<void> {
  const base = Object.fromEntries(PASSED_THROUGH.filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]!]));
  return new Promise<void>((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { env: { ...base, ...env }, stdio: ["pipe", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr = (stderr + chunk.toString("utf8")).slice(-500);
    });
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${argv[0]} did not end within ${timeoutMs} ms; killed`));
    }, timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${argv[0]}: ${err.message}`));
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code === 0) return resolve();
      const why = signal ? `was killed by ${signal}` : `exited with ${code}`;
      reject(new Error(`${argv[0]} ${why}${stderr.trim() ? `: ${stderr.trim().split("\n").at(-1)}` : ""}`));
    });
    // A command that does not read its stdin closes it early: not a failure of the notification.
    child.stdin.on("error", () => {});
    child.stdin.end(stdin);
  });
}
