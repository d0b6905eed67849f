import type { Command } from "commander";
import type { BadJob } from "../../agent/config-problems.js";
import type { AgentStatus } from "../../agent/status.js";
import { ConfigError, ExitCode } from "../../errors.js";
import type { RunRecord } from "../../state/runs.js";
import type { GlobalOptions } from "../context.js";
import { withApp } from "../lazy-app.js";
import { hintFor, type Failure } from "../failure.js";
import { humanBytes, humanDuration } from "../format.js";
import { writeJson } from "../json-output.js";
import { runView, statusView } from "../json-views.js";

const iso = (ms?: number) => (ms === undefined ? "-" : new Date(ms).toISOString().replace(/\.\d+Z$/, "Z"));

/** One run: a plan (dry run) is marked as one, and its counts are what it would have done: none. */
function runLine(r: RunRecord): string {
  const took = r.endedAt ? humanDuration(r.endedAt - r.startedAt) : "-";
  return (
    `${iso(r.startedAt)}  ${r.dryRun ? "plan" : "sync"}  ${r.status.padEnd(11)} ${took.padStart(10)}  up ${r.uploaded}, down ${r.downloaded}, ` +
    `del ${r.deletedLocal + r.deletedRemote}, conflicts ${r.conflicts}, failed ${r.failed}, ${humanBytes(r.bytes)}  [${r.trigger}]` +
    (r.error ? `  ${r.error}` : "")
  );
}

function formatStatus(s: AgentStatus): string {
  const lines: string[] = [];
  lines.push(
    s.agents.length
      ? s.agents.map((a) => `agent: running (pid ${a.pid} on ${a.host}, since ${iso(a.startedAt)}, heartbeat ${iso(a.heartbeatAt)})`).join("\n")
      : "agent: not running",
  );
  lines.push(`health: ${s.healthy ? "ok" : "UNHEALTHY"}`);
  for (const j of s.jobs) {
    lines.push("");
    lines.push(`${j.job} (${j.direction === null ? "job file invalid" : `${j.direction}; ${j.triggers.join(", ") || "manual only"}`})`);
    lines.push(`  now:      ${j.running ? `running (pid ${j.running.pid}, since ${iso(j.running.acquiredAt)})` : "idle"}${j.queued ? ", a run is queued" : ""}`);
    lines.push(`  last run: ${j.lastRun ? runLine(j.lastRun) : "never"}`);
    lines.push(`  last ok:  ${iso(j.lastSuccessAt)}`);
    if (j.nextRunAt) lines.push(`  next:     ${iso(j.nextRunAt)}`);
    if (j.expect) lines.push(`  expect:   a file matching "${j.expect.match}" by ${j.expect.by} (${j.expect.timezone}, ${j.expect.days}); last arrival ${iso(j.expect.lastArrivalAt)}`);
    if (j.watch) lines.push(`  watch:    ${j.watch.mode === "watching" ? `${j.watch.watches} folder(s) watched` : `POLLING every ${Math.round(j.watch.pollMs / 1000)} s: ${j.watch.reason}`}`);
    if (j.problem) lines.push(`  problem:  ${j.problem}`);
  }
  return lines.join("\n") + "\n";
}

/**
 * `status` fails when a job is unhealthy: exit 6 when one is failing (its last run failed or was
 * stopped, or its local folder is missing), else 7 when one is stale (no success within maxAge),
 * else 10 when one is late (an expected file has not arrived by its time).
 */
export function statusFailure(s: AgentStatus): Failure | undefined {
  const failing = s.jobs.filter((j) => j.problemKind === "failing");
  const stale = s.jobs.filter((j) => j.problemKind === "stale");
  const late = s.jobs.filter((j) => j.problemKind === "late");
  const list = (jobs: typeof failing) => jobs.map((j) => `${j.job} (${j.problem})`).join("; ");
  if (failing.length > 0) {
    return { code: "job-failing", exitCode: ExitCode.JobFailing, message: `${failing.length} job(s) failing: ${list(failing)}`, hint: hintFor("job-failing") };
  }
  if (stale.length > 0) {
    return { code: "job-stale", exitCode: ExitCode.JobStale, message: `${stale.length} job(s) stale: ${list(stale)}`, hint: hintFor("job-stale") };
  }
  if (late.length > 0) {
    return { code: "job-late", exitCode: ExitCode.JobLate, message: `${late.length} job(s) late: ${list(late)}`, hint: hintFor("job-late") };
  }
  return undefined;
}

/** Registers the daemon's commands: run, status, history. */
export function registerAgentCommands(program: Command): void {
  program
    .command("run")
    .description("run as an agent: every job on its schedule, watcher and poll, until SIGTERM/SIGINT (SIGHUP reloads)")
    .action(async () => {
      // A job file with a mistake, or a job folder not there yet, stops only its own job; an
      // invalid agent.config.json still stops the agent at once (exit 2).
      const { agentLoadOptions } = await import("../../agent/config-problems.js");
      const badJobs: BadJob[] = [];
      return withApp(program, agentLoadOptions(badJobs), async (app) => {
        // Loaded only for `run`: the daemon's modules (metrics, HTTP, watcher) cost ~100 ms of
        // start-up that a one-off `sync` does not need.
        const { runDaemon } = await import("../../agent/daemon.js");
        const { loadConfig, resolveConfigPath } = await import("../../config/load.js");
        const configPath = resolveConfigPath(program.opts<GlobalOptions>().config);
        const reload = () => {
          const bad: BadJob[] = [];
          const { config, warnings } = loadConfig(configPath, agentLoadOptions(bad));
          for (const w of warnings) app.logger.warn(w.message);
          return { config, badJobs: bad };
        };
        return runDaemon({ config: app.config, badJobs, state: app.state(), logger: app.logger, reload });
      });
    });

  program
    .command("status")
    .description("each job's last run, next scheduled time, whether it is running or queued, and whether an agent runs")
    .option("--json", "print JSON")
    .action(async (flags: { json?: boolean }) => {
      const { agentLoadOptions } = await import("../../agent/config-problems.js");
      const { collectStatus } = await import("../../agent/status.js");
      const badJobs: BadJob[] = [];
      // Read-only: a job whose local folder is missing on this machine, or whose file is
      // invalid, must still be reported (as failing).
      return withApp(program, { jobs: [], onBadJob: agentLoadOptions(badJobs).onBadJob }, async (app) => {
        const s = collectStatus(app.config, app.state(), { badJobs });
        const failure = statusFailure(s);
        if (flags.json) writeJson("status", statusView(s), failure);
        else process.stdout.write(formatStatus(s));
        return failure?.exitCode ?? ExitCode.Ok;
      });
    });

  program
    .command("history [job]")
    .description("past runs from the state store, newest first")
    .option("-n, --limit <n>", "how many runs", "20")
    .option("--json", "print JSON")
    .action(async (job: string | undefined, flags: { limit: string; json?: boolean }) =>
      // Read-only: a job whose local folder is missing on this machine must still be reported.
      withApp(program, { jobs: [] }, async (app) => {
        const limit = Number(flags.limit);
        if (!Number.isInteger(limit) || limit < 1) throw new ConfigError(`--limit must be a whole number ≥ 1, got "${flags.limit}"`);
        if (job && !app.config.jobs[job]) {
          throw new ConfigError(`unknown job "${job}"; known jobs: ${Object.keys(app.config.jobs).join(", ") || "(none)"}`);
        }
        const runs = app.state().runs.history(job, limit);
        if (flags.json) writeJson("history", { job: job ?? null, runs: runs.map(runView) });
        else if (runs.length === 0) process.stdout.write("no runs yet\n");
        else process.stdout.write(runs.map((r) => `${r.job.padEnd(16)} ${runLine(r)}`).join("\n") + "\n");
        return ExitCode.Ok;
      }),
    );
}
