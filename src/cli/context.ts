import type { Command } from "commander";
import { loadConfig, resolveConfigPath, warningsFor, type LoadOptions } from "../config/load.js";
import type { AgentConfig } from "../config/types.js";
import { createLogger, type LogFormat, type Logger, type LogLevel } from "../log.js";
import { openState, type StateStore } from "../state/index.js";

export interface GlobalOptions {
  config?: string;
  verbose?: boolean;
  quiet?: boolean;
  /** --log-format: overrides the config's log.format. */
  logFormat?: LogFormat;
  /** Set by main.ts for a command run with --json: its one object is all that stdout holds. */
  commandJson?: boolean;
}

/** How a command loads the config: its jobs; the agent and `status` also take bad job files (onBadJob). */
export type AppLoadOptions = Pick<LoadOptions, "jobs" | "checkLocalFolders" | "onBadJob"> & {
  /** The command prints its own progress and run summary (see LoggerOptions.consoleRunLines). */
  ownRunLines?: boolean;
};

export interface AppContext {
  config: AgentConfig;
  logger: Logger;
  /** Opened on first use: commands that only read the config never create a database. */
  state(): StateStore;
  close(): void;
}

/** Loads and validates the whole configuration (exit 2 on any error, unless onBadJob takes it) before anything connects. */
export function loadApp(opts: GlobalOptions, load: AppLoadOptions = {}): AppContext {
  const { config, warnings } = loadConfig(resolveConfigPath(opts.config), load);
  const level: LogLevel = opts.verbose ? "debug" : opts.quiet ? "warn" : config.log.level;
  const format = opts.logFormat ?? config.log.format;
  // A command that prints its own progress and summary (sync) keeps the per-file lines off a human console, unless -v.
  const logger = createLogger({ level, file: config.log.file, format, jsonOnStderr: !!opts.commandJson, consoleRunLines: !load.ownRunLines || !!opts.verbose });
  for (const w of warningsFor(warnings, load.jobs)) logger.warn(w.message);
  let state: StateStore | undefined;
  return {
    config,
    logger,
    state: () => (state ??= openState(config.stateDir)),
    close: () => {
      state?.close();
      logger.close();
    },
  };
}

/** Runs a command with the config loaded, sets the exit code from its result, and closes up. */
export async function withApp(
  program: Command,
  load: AppLoadOptions,
  fn: (app: AppContext) => Promise<number>,
): Promise<void> {
  const app = loadApp(program.opts<GlobalOptions>(), load);
  try {
    process.exitCode = await fn(app);
  } finally {
    app.close();
  }
}
