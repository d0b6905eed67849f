import type { Command } from "commander";

/** Registers the daemon's commands (run, status, history). Filled in by the agent daemon work. */
export function registerAgentCommands(_program: Command): void {}
