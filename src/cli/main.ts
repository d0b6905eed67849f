#!/usr/bin/env node
import { readFileSync } from "node:fs";
import { Command, CommanderError } from "commander";
import { AgentError, ExitCode, SafetyGuardError } from "../errors.js";
import { redact } from "../log.js";
import { registerAgentCommands } from "./commands/agent-commands.js";
import { checkCommand } from "./commands/check.js";
import { fingerprintCommand } from "./commands/fingerprint.js";
import { registerOnboardingCommands } from "./commands/onboarding-commands.js";
import { syncCommand } from "./commands/sync.js";
import { withApp } from "./context.js";
import { redactWritesTo } from "./redacted-output.js";

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

export function buildProgram(): Command {
  const program = new Command();
  program
    .name("ftps-sync")
    .description("Keep local folders in sync with folders on FTPS servers (explicit or implicit TLS, never plaintext).")
    .version(pkg.version)
    .option("-c, --config <path>", "agent config file (default: $FTPS_SYNC_CONFIG or ./agent.config.json)")
    .option("-v, --verbose", "debug logging")
    .option("-q, --quiet", "only warnings and errors")
    .showHelpAfterError()
    .exitOverride();

  program
    .command("check [remote...]")
    .description("connect to remotes (all by default): TLS, certificate, capabilities, and a data-channel listing")
    .action(async (remotes: string[]) => withApp(program, { jobs: [] }, (app) => checkCommand(app, remotes)));

  program
    .command("fingerprint <host[:port]>")
    .description("print the server certificate's fingerprint in the form that \"fingerprint\" pins")
    .option("--implicit", "implicit TLS (default port 990) instead of AUTH TLS (default port 21)")
    .option("--timeout <seconds>", "give up a step (connect, AUTH TLS and the handshake) after this long (default 15)")
    .action(async (target: string, opts: { implicit?: boolean; timeout?: string }) => {
      process.exitCode = await fingerprintCommand(target, opts);
    });

  program
    .command("sync <job>")
    .description("run a job once now")
    .option("-n, --dry-run", "print the plan; change nothing on either side")
    .option("--force", "override the safety guards (mass deletion, emptied source)")
    .option("--json", "print one JSON summary as the last line of stdout")
    .action(async (job: string, flags: { dryRun?: boolean; force?: boolean; json?: boolean }) =>
      withApp(program, { jobs: [job] }, (app) => syncCommand(app, job, flags)),
    );

  program
    .command("plan <job>")
    .description("print what `sync` would do; change nothing")
    .option("--json", "print the plan as JSON")
    .action(async (job: string, flags: { json?: boolean }) =>
      withApp(program, { jobs: [job] }, (app) => syncCommand(app, job, { dryRun: true, json: flags.json })),
    );

  registerAgentCommands(program);
  registerOnboardingCommands(program);
  return program;
}

export async function main(argv: string[]): Promise<number> {
  redactWritesTo(process.stdout);
  redactWritesTo(process.stderr);
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with code 0; usage errors were already printed.
      return err.exitCode === 0 ? 0 : ExitCode.Usage;
    }
    const message = redact(err instanceof Error ? err.message : String(err));
    if (err instanceof SafetyGuardError) {
      process.stderr.write(`ftps-sync: stopped by a safety guard: ${message}\n`);
    } else {
      process.stderr.write(`ftps-sync: error: ${message}\n`);
    }
    if (err instanceof AgentError) return err.exitCode;
    return ExitCode.Failures;
  }
}

main(process.argv).then((code) => {
  process.exitCode = code;
});
