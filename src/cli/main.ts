import { readFileSync } from "node:fs";
import { Command, CommanderError, Option } from "commander";
import { SafetyGuardError } from "../errors.js";
import { redact } from "../redact.js";
import { registerAgentCommands } from "./commands/agent-commands.js";
import { registerOnboardingCommands } from "./commands/onboarding-commands.js";
import { registerVersionCommands } from "./commands/version-commands.js";
import { withApp } from "./lazy-app.js";
import { UsageError } from "./usage.js";
import { failureOf } from "./failure.js";
import { jsonWritten, writeJson } from "./json-output.js";
import { PROGRESS_MODES, type ProgressMode } from "./progress-printer.js";
import { redactWritesTo } from "./redacted-output.js";

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

/** sync's --progress (progress-printer.ts). */
function progressOption(): Option {
  return new Option("--progress <mode>", "auto: a line redrawn on a terminal, nothing elsewhere; tty: that line anyway; plain: a line per file; none")
    .choices([...PROGRESS_MODES])
    .default("auto");
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name("ftps-sync")
    .description("Keep local folders in sync with folders on FTPS servers (explicit or implicit TLS, never plaintext).")
    .version(pkg.version)
    .option("-c, --config <path>", "agent config file (default: $FTPS_SYNC_CONFIG or ./agent.config.json)")
    .option("-v, --verbose", "debug logging")
    .option("-q, --quiet", "only warnings and errors")
    .addOption(new Option("--log-format <format>", "log lines: text (human, on stderr) or json (JSON lines on stdout); default: the config's log.format").choices(["text", "json"]))
    .showHelpAfterError()
    .exitOverride();

  program
    .command("check [remote...]")
    .description("connect to remotes (all by default): TLS, certificate, capabilities, and a data-channel listing")
    .option("--json", "print one JSON object (README \"JSON output\")")
    .action(async (remotes: string[], flags: { json?: boolean }) => withApp(program, { jobs: [] }, async (app) => (await import("./commands/check.js")).checkCommand(app, remotes, flags)));

  program
    .command("fingerprint [host[:port]]")
    .description("print the server certificate's fingerprint in the form that \"fingerprint\" pins")
    .option("--implicit", "implicit TLS (default port 990) instead of AUTH TLS (default port 21)")
    .option("--remote <name>", "a configured remote instead of HOST[:PORT], reached as the agent reaches it (its TLS mode, proxy and client certificate)")
    .option("--timeout <seconds>", "give up a step (connect, AUTH TLS and the handshake) after this long (default 15)")
    .action(async (target: string | undefined, opts: { implicit?: boolean; remote?: string; timeout?: string }) => {
      if ((target === undefined) === (opts.remote === undefined)) throw new UsageError("fingerprint: give HOST[:PORT] or --remote NAME (one of them)");
      if (opts.remote !== undefined) {
        const remote = opts.remote;
        return withApp(program, { jobs: [] }, async (app) => (await import("./commands/fingerprint.js")).remoteFingerprintCommand(app, remote, opts));
      }
      process.exitCode = await (await import("./commands/fingerprint.js")).fingerprintCommand(target!, opts);
    });

  program
    .command("sync <job>")
    .description("run a job once now")
    .option("-n, --dry-run", "print the plan; change nothing on either side")
    .option("--force", "override the safety guards (mass deletion, emptied source)")
    .option("--json", "print one JSON object as the last line of stdout (README \"JSON output\")")
    .addOption(progressOption())
    .action(async (job: string, flags: { dryRun?: boolean; force?: boolean; json?: boolean; progress?: ProgressMode }) =>
      withApp(program, { jobs: [job], ownRunLines: true }, async (app) => (await import("./commands/sync.js")).syncCommand(app, job, { ...flags, command: "sync" })),
    );

  program
    .command("plan <job>")
    .description("print what `sync` would do; change nothing")
    .option("--json", "print the plan as one JSON object (README \"JSON output\")")
    .option("--out <file>", "save the plan, with what it was based on, for `apply` to carry out once reviewed")
    .option("--force", "plan past the safety guards (mass deletion, emptied source); `apply` of this plan lets them pass too")
    .action(async (job: string, flags: { json?: boolean; out?: string; force?: boolean }) =>
      withApp(program, { jobs: [job], ownRunLines: true }, async (app) => (await import("./commands/sync.js")).syncCommand(app, job, { dryRun: true, json: flags.json, force: flags.force, out: flags.out, command: "plan" })),
    );

  program
    .command("validate [files...]")
    .description("check config files as the agent loads them, without connecting (default: the agent config and its jobs)")
    .option("--json", "print one JSON object (README \"JSON output\")")
    .action(async (files: string[], flags: { json?: boolean }) => {
      process.exitCode = (await import("./commands/validate.js")).validateCommand(files, { json: flags.json, config: program.opts<{ config?: string }>().config });
    });

  program
    .command("apply <plan-file>")
    .description("carry out exactly a plan saved by `plan --out`; refuse (exit 9) if either side changed since in a way it did not foresee")
    .option("--json", "print one JSON object (README \"JSON output\")")
    .action(async (file: string, flags: { json?: boolean }) => (await import("./commands/apply.js")).applyCommand(program, file, flags));

  registerAgentCommands(program);
  registerVersionCommands(program);
  registerOnboardingCommands(program);
  return program;
}

/**
 * The command a --json run asked for, or undefined. From the parsed command once commander has
 * got that far; from the arguments for a usage error commander stopped at.
 */
function jsonCommandOf(program: Command, argv: string[], parsed: Command | undefined): string | undefined {
  if (parsed) return parsed.opts().json ? parsed.name() : undefined;
  const args = argv.slice(2);
  if (!args.includes("--json")) return undefined;
  const names = new Set(program.commands.filter((c) => c.options.some((o) => o.long === "--json")).map((c) => c.name()));
  for (let i = 0; i < args.length; i++) {
    if (args[i] === "-c" || args[i] === "--config") i++;
    else if (!args[i].startsWith("-")) return names.has(args[i]) ? args[i] : undefined;
  }
  return undefined;
}

export async function main(argv: string[]): Promise<number> {
  redactWritesTo(process.stdout);
  redactWritesTo(process.stderr);
  const program = buildProgram();
  let parsed: Command | undefined;
  program.hook("preAction", (_program, action) => {
    parsed = action;
    // JSON log lines then go to stderr (context.ts): stdout holds the command's one object.
    if (action.opts().json) program.setOptionValue("commandJson", true);
  });
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (err) {
    // --help and --version end here with code 0.
    if (err instanceof CommanderError && err.exitCode === 0) return 0;
    const failure = failureOf(err);
    // Usage errors were already printed by commander.
    if (!(err instanceof CommanderError)) {
      if (err instanceof SafetyGuardError) process.stderr.write(`ftps-sync: stopped by a safety guard: ${failure.message}\n`);
      else process.stderr.write(`ftps-sync: error: ${redact(err instanceof Error ? err.message : String(err))}\n`);
    }
    // With --json, every outcome prints its one object: a failure that no command printed is printed here.
    const command = jsonCommandOf(program, argv, parsed);
    if (command && !jsonWritten()) writeJson(command, {}, failure);
    return failure.exitCode;
  }
}
