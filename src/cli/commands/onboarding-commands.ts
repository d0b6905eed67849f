import type { Command } from "commander";

/** Registers the newcomer commands (demo, init). Filled in by the onboarding work. */
export function registerOnboardingCommands(_program: Command): void {}
