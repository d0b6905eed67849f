#!/usr/bin/env node
// The command's entry point (bundled by scripts/build.mjs). main.ts only defines the program, so
// that the man page and shell completions (scripts/cli-docs.mjs) and tests can read the command
// definitions without running a command.
import { main } from "./main.js";

main(process.argv).then((code) => {
  process.exitCode = code;
});
