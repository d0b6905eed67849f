#!/usr/bin/env node
// The command's entry point (bundled by scripts/build.mjs). main.ts only defines the program, so
// that the man page and shell completions (scripts/cli-docs.mjs) and tests can read the command
// definitions without running a command.
import { main } from "./main.js";

// A reader that has gone (`ftps-sync status --json | head -1`) is not a failure of the command:
// what is left to print has nowhere to go, and the command ends as it would have (a sync still
// finishes and records its run; the agent keeps its log file). Without this, Node reports the
// EPIPE as an unhandled error with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err: NodeJS.ErrnoException) => {
    if (err.code !== "EPIPE" && err.code !== "ERR_STREAM_DESTROYED") throw err;
    stream.destroy();
  });
}

main(process.argv).then((code) => {
  process.exitCode = code;
});
