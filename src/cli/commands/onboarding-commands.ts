import type { Command } from "commander";
import { ExitCode } from "../../errors.js";
import type { InitFlags } from "./init.js";

/** Registers the newcomer commands: demo (a real sync against an embedded server) and init. */
export function registerOnboardingCommands(program: Command): void {
  program
    .command("demo")
    .description("start an FTPS server on 127.0.0.1 with a fresh certificate, then sync sample files to it and back (nothing to set up)")
    .option("--workspace <dir>", "folder for the demo's config, jobs and files (default: a new folder under the system temp folder)")
    .option("--serve", "keep the demo server running afterwards (until Ctrl-C) to try plan and sync by hand")
    .action(async (flags: { workspace?: string; serve?: boolean }) => {
      // The embedded server is demo-only: loaded here, never on the agent's path.
      const { runDemo } = await import("../../demo/run-demo.js");
      const result = await runDemo({ workspace: flags.workspace, serve: flags.serve });
      process.exitCode = result.ok ? ExitCode.Ok : ExitCode.Failures;
    });

  program
    .command("init")
    .description(
      "write a starter agent.config.json and job file, or add a job (and its remote) to an existing config without touching the rest " +
        "(asks when flags are missing and stdin is a terminal), pin the certificate, check",
    )
    .option("--dir <dir>", "folder for agent.config.json and jobs/ (default: the current folder)")
    .option("--host <host>", "FTPS server host name or address")
    .option("--port <port>", "port (default 21 for explicit TLS, 990 for implicit)")
    .option("--tls <mode>", "explicit (AUTH TLS) or implicit", undefined)
    .option("--user <user>", "login name")
    .option("--password-env <name>", "environment variable that will hold the password")
    .option("--password-file <path>", "file that holds the password (mode 0600)")
    .option("--remote <name>", "name of the remote in the config: an existing one is used as it is (default: the remote at --host, else from the host)")
    .option("--local <dir>", "local folder of the job (created if missing)")
    .option("--remote-path <path>", "absolute folder on the server, e.g. /incoming")
    .option("--direction <direction>", "upload, download or two-way")
    .option("--schedule <cron>", 'cron schedule, e.g. "0 2 * * *" (default: none, run by hand)')
    .option("--job <name>", "job name = file name in jobs/ (default: from the direction and local folder)")
    .option("--fingerprint <sha256>", "the certificate's expected fingerprint (from the server's admin): pinned if the server shows it, refused (exit 4) if not")
    .option("--ca <path>", "CA certificate (PEM) to trust besides the system store, e.g. a partner's private CA (the remote's \"ca\")")
    .option("--pin", "pin whatever certificate the server shows (default: ask in a terminal; without one, an untrusted certificate is refused)")
    .option("--no-pin", "never pin; rely on the system trust store")
    .option("--no-check", "do not connect with the new config at the end")
    .option("--force", "overwrite an existing job file, and replace an existing remote's connection settings (its other keys and the rest of the config are kept)")
    .action(async (flags: InitFlags) => {
      process.exitCode = await (await import("./init.js")).initCommand(flags);
    });
}
