/**
 * withApp (context.ts) for the command definitions, loaded when a command runs. The definitions
 * (main.ts and the register* files) import only this, commander and light helpers; each action
 * loads what it needs: `--version` and `--help` then start without the config schemas, the
 * logger, the state database's native addon or the FTPS engine, and `sync` without the modules
 * of other commands. In the bundle a dynamic import() is a call into the same file (esbuild), so
 * the code cache (scripts/cli-loader.mjs) still covers all of it.
 */
import type { Command } from "commander";
import type { AppContext, AppLoadOptions } from "./context.js";

export async function withApp(program: Command, load: AppLoadOptions, fn: (app: AppContext) => Promise<number>): Promise<void> {
  return (await import("./context.js")).withApp(program, load, fn);
}
