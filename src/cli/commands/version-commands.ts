/** The definitions of `versions` and `restore` (versions.ts), which load it when they run. */
import type { Command } from "commander";
import { withApp } from "../lazy-app.js";

/** Registers `versions` and `restore`. */
export function registerVersionCommands(program: Command): void {
  program
    .command("versions <job> [path]")
    .description("list the versions a job with \"backup\" keeps, on both sides (of one file or folder when given)")
    .option("--json", "print one JSON object (README \"JSON output\")")
    .action(async (job: string, path: string | undefined, flags: { json?: boolean }) =>
      withApp(program, { jobs: [job] }, async (app) => (await import("./versions.js")).versionsCommand(app, job, path, flags)),
    );
  program
    .command("restore <job> <path>")
    .description("put a kept version of a file back in the job's local folder (the newest, or the newest at or before --at); the current file is kept as a version")
    .option("--at <time>", 'the time to go back to: ISO 8601 ("2026-12-05T03:00:00Z") or a run folder\'s name')
    .option("--json", "print one JSON object (README \"JSON output\")")
    .action(async (job: string, path: string, flags: { at?: string; json?: boolean }) =>
      withApp(program, { jobs: [job] }, async (app) => (await import("./versions.js")).restoreCommand(app, job, path, flags)),
    );
}
