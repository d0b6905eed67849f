/**
 * `ftps-sync validate [files...]`: checks configuration files as the agent would load them,
 * without connecting and without opening the state store. With no file, the agent config
 * (--config, $FTPS_SYNC_CONFIG or ./agent.config.json) and every job file in its jobsDir. A file
 * given by name is an agent config when it has "remotes" (checked with its jobs, as `run` loads
 * them), else a job file (checked on its own: what its text says). Exit 0 when every file is
 * valid, 2 when one is not.
 */
import { readFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import { checkJobFile, loadConfig, resolveConfigPath } from "../../config/load.js";
import { ConfigError, ExitCode } from "../../errors.js";
import { failureOf, hintFor, type Failure } from "../failure.js";
import { writeJson } from "../json-output.js";

type FileKind = "agent-config" | "job";

interface FileResult {
  file: string;
  kind: FileKind;
  ok: boolean;
  error: Failure | null;
  /** What was found in a valid agent config, for the text output. */
  found?: string;
}

/** An agent config has "remotes"; a file that is not even JSON is one if its name says so ("...config.json"). */
function kindOf(file: string): FileKind {
  try {
    const value = JSON.parse(readFileSync(file, "utf8").replace(/^\uFEFF/, "")) as unknown;
    return value !== null && typeof value === "object" && "remotes" in value ? "agent-config" : "job";
  } catch {
    return basename(file).endsWith("config.json") ? "agent-config" : "job";
  }
}

const failed = (file: string, kind: FileKind, err: unknown): FileResult => ({ file, kind, ok: false, error: failureOf(err) });

/** The agent config and each of its job files, each with its own result. */
function checkAgentConfig(file: string, warnings: string[]): FileResult[] {
  const jobErrors: FileResult[] = [];
  try {
    const { config, warnings: found } = loadConfig(file, { onBadJob: (err, _name, jobFile) => jobErrors.push(failed(jobFile, "job", err)) });
    warnings.push(...found.map((w) => w.message));
    const remotes = Object.keys(config.remotes).length;
    const jobs = Object.values(config.jobs);
    const results: FileResult[] = [
      { file, kind: "agent-config", ok: true, error: null, found: `${remotes} remote(s), ${jobs.length + jobErrors.length} job(s)` },
      ...jobs.map((j): FileResult => ({ file: j.file, kind: "job", ok: true, error: null })),
      ...jobErrors,
    ];
    return results.sort((a, b) => (a.kind === b.kind ? a.file.localeCompare(b.file) : a.kind === "agent-config" ? -1 : 1));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return [failed(file, "agent-config", err)];
  }
}

function checkFile(file: string, warnings: string[]): FileResult[] {
  if (kindOf(file) === "agent-config") return checkAgentConfig(file, warnings);
  try {
    checkJobFile(file);
    return [{ file, kind: "job", ok: true, error: null }];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return [failed(file, "job", err)];
  }
}

function textLine(r: FileResult): string {
  const what = r.kind === "agent-config" ? `agent config${r.found ? `: ${r.found}` : ""}` : "job";
  // A config error's message starts with the file it names: do not say it twice.
  return r.ok ? `ok       ${r.file} (${what})\n` : `INVALID  ${r.error!.message.startsWith(r.file) ? r.error!.message : `${r.file}: ${r.error!.message}`}\n`;
}

export function validateCommand(files: string[], opts: { json?: boolean; config?: string }): number {
  const paths = files.length > 0 ? files.map((f) => resolve(f)) : [resolveConfigPath(opts.config)];
  const warnings: string[] = [];
  const results = paths.flatMap((p) => checkFile(p, warnings));
  const bad = results.filter((r) => !r.ok);
  const failure: Failure | undefined = bad.length
    ? { code: "config", exitCode: ExitCode.Usage, message: `${bad.length} of ${results.length} file(s) invalid; ${bad[0].error!.message}`, hint: hintFor("config") }
    : undefined;
  if (opts.json) {
    writeJson("validate", { files: results.map(({ found: _found, ...r }) => r), warnings }, failure);
  } else {
    process.stdout.write(results.map(textLine).join(""));
    for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
    if (failure) process.stderr.write(`ftps-sync: ${bad.length} of ${results.length} file(s) invalid; nothing was connected to\n`);
  }
  return failure ? ExitCode.Usage : ExitCode.Ok;
}
