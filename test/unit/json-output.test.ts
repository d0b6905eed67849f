// The CLI's JSON contract in its pure parts: how errors map to codes and exit codes, the objects
// each command builds (checked against the same zod shapes as the scripted tests), and the words
// a plan uses. The scripted tier (test/integration/json-contract.test.ts) runs the commands.
import { CommanderError } from "commander";
import { describe, expect, it } from "vitest";
import type { AgentStatus, JobStatus } from "../../src/agent/status.js";
import { statusFailure } from "../../src/cli/commands/agent-commands.js";
import { exitCodeOf, formatSummary, summaryFailure } from "../../src/cli/commands/sync.js";
import { AlreadyRunningError, failureOf } from "../../src/cli/failure.js";
import { planSentence, planTotals } from "../../src/cli/format.js";
import { jsonObject } from "../../src/cli/json-output.js";
import { runView, statusView, summaryView } from "../../src/cli/json-views.js";
import { UsageError } from "../../src/cli/usage.js";
import { AgentError, ConfigError, ExitCode, RemoteError, SafetyGuardError } from "../../src/errors.js";
import type { Action } from "../../src/plan/types.js";
import type { RunRecord } from "../../src/state/runs.js";
import type { RunSummary } from "../../src/sync/run-job.js";
import { assertOutputSchema } from "../helpers/json-schemas.js";
import { epochMillisIn, failureShape, runSummaryShape, statusShape } from "../helpers/json-shapes.js";

/** The object, once checked against its committed schema file (schemas/output/) by ajv. */
const valid = <T extends Record<string, unknown>>(obj: T): T => {
  assertOutputSchema(obj);
  return obj;
};

const T = Date.UTC(2026, 11, 5, 17, 0, 0);
const zero = { uploaded: 0, downloaded: 0, deletedLocal: 0, deletedRemote: 0, conflicts: 0, failed: 0, bytes: 0 };
const summary = (over: Partial<RunSummary> = {}): RunSummary => ({
  job: "nightly", status: "ok", durationMs: 1200, dryRun: false, plan: [], deferred: 0, skippedDeletes: 0, errors: [], warnings: [], ...zero, ...over,
});
const file = (path: string, size: number) => ({ path, type: "file" as const, size, mtimeMs: T });
const rfile = (path: string, size: number) => ({ path, type: "file" as const, size, modifyMs: T, precision: "ms" as const });

describe("errors as the JSON output's error: code and exit code", () => {
  it.each([
    ["a configuration error", new ConfigError("bad", { file: "agent.config.json" }), "config", 2],
    ["a usage error", new UsageError("--limit must be a number"), "usage", 2],
    ["a usage error commander stopped at", new CommanderError(1, "commander.unknownOption", "error: unknown option '--x'"), "usage", 2],
    ["a safety guard", new SafetyGuardError("would delete everything"), "safety-guard", 3],
    ["a connection that failed", new RemoteError("connection refused", { kind: "transient", phase: "connect" }), "connect", 4],
    ["a failure after the connection", new RemoteError("550", { kind: "path", phase: "operation" }), "error", 1],
    ["a run that could not go on", new AgentError("the remote folder /x does not exist", ExitCode.Failures), "error", 1],
    ["a job already running", new AlreadyRunningError("job x is already running (pid 1)"), "already-running", 5],
    ["an unexpected error", new TypeError("x is undefined"), "internal", 1],
  ] as const)("%s", (_what, err, code, exitCode) => {
    const f = failureOf(err);
    expect(failureShape.parse(f)).toEqual({ code, exitCode, message: expect.any(String), hint: expect.any(String) });
    expect(f.message).not.toMatch(/^error: /);
  });

  it("already running has its own exit code, distinct from a run with failures and from every other code", () => {
    const codes = Object.values(ExitCode);
    expect(new Set(codes).size).toBe(codes.length);
    expect(ExitCode.AlreadyRunning).not.toBe(ExitCode.Failures);
  });
});

describe("sync and plan objects", () => {
  it("a run with failures is ok: false with code failures and exit 1, its counts kept", () => {
    const s = summary({ status: "failed", uploaded: 2, failed: 1, errors: ["upload a.txt: 550 denied"] });
    const failure = summaryFailure(s);
    expect(failure).toMatchObject({ code: "failures", exitCode: exitCodeOf(s) });
    expect(failure!.message).toContain("550 denied");
    const obj = valid(jsonObject("sync", summaryView(s, { startedAt: T, endedAt: T + 1200 }, 1), failure));
    expect(runSummaryShape("sync", false).parse(obj)).toMatchObject({ ok: false, uploaded: 2, failed: 1, startedAt: "2026-12-05T17:00:00.000Z" });
    expect(epochMillisIn(obj)).toEqual([]);
  });

  it("a run that could not go on (no file failed: the remote folder missing, say) is code error, exit 1, its error the message", () => {
    const why = "the remote folder /in does not exist on the server: check the job's remotePath (a download job does not create it). Nothing was changed";
    for (const dryRun of [false, true]) {
      const s = summary({ status: "failed", dryRun, errors: [why] });
      const failure = summaryFailure(s);
      expect(failure).toMatchObject({ code: "error", exitCode: 1, hint: expect.stringContaining("nothing more was done") });
      expect(exitCodeOf(s)).toBe(1);
      expect(failure!.message).toBe(`${dryRun ? "plan" : "sync"} of nightly could not go on: ${why}`);
      valid(jsonObject(dryRun ? "plan" : "sync", summaryView(s, { startedAt: T, endedAt: T + 5 }, 1), failure));
    }
  });

  it("a run a guard stopped is code safety-guard, exit 3", () => {
    const s = summary({ status: "aborted", errors: ["the local folder is empty"] });
    expect(summaryFailure(s)).toMatchObject({ code: "safety-guard", exitCode: 3, message: "the local folder is empty" });
    expect(exitCodeOf(s)).toBe(3);
  });

  it("a run that went fine is ok: true with no error", () => {
    const obj = valid(jsonObject("sync", summaryView(summary(), { startedAt: T, endedAt: T + 5 }, 1), summaryFailure(summary())));
    expect(runSummaryShape("sync", true).parse(obj)).toMatchObject({ ok: true, kind: "sync" });
    expect(obj).not.toHaveProperty("error");
  });

  it("a plan carries each action's bytes and the totals, without the bookkeeping actions", () => {
    const plan: Action[] = [
      { kind: "upload", path: "a.bin", reason: "new on local", local: file("a.bin", 2048), placedRemote: true },
      { kind: "download", path: "b.bin", reason: "new on remote", remote: rfile("b.bin", 100), placedLocal: true },
      { kind: "delete-remote", path: "old.txt", reason: "deleted on local; delete=tracked", type: "file" },
      { kind: "held-delete", path: "theirs.txt", reason: "deleted on local; delete=never keeps the remote copy", side: "remote", type: "file" },
      { kind: "adopt", path: "same.txt", reason: "same", local: file("same.txt", 1), remote: rfile("same.txt", 1) },
      { kind: "forget", path: "gone.txt", reason: "gone from both sides" },
    ];
    const s = summary({ dryRun: true, plan, skippedDeletes: 1 });
    const obj = runSummaryShape("plan", true).parse(valid(jsonObject("plan", summaryView(s, { startedAt: T, endedAt: T }, 1))));
    expect(obj.plan!.map((a) => [a.kind, a.path, a.bytes])).toEqual([
      ["upload", "a.bin", 2048],
      ["download", "b.bin", 100],
      ["delete-remote", "old.txt", undefined],
      ["held-delete", "theirs.txt", undefined],
    ]);
    expect(obj.totals).toEqual({
      actions: 4, upload: { files: 1, bytes: 2048 }, download: { files: 1, bytes: 100 }, conflicts: 0, compare: 0,
      deleteRemote: 1, deleteLocal: 0, mkdir: 0, heldDeletes: 1, needsUser: 0,
    });
    expect(planSentence(planTotals(plan))).toBe(
      "would upload 1 file (2.0 KiB), download 1 file (100 B), delete 1 on the server; 1 deletion held back by the delete policy",
    );
    const text = formatSummary(s);
    expect(text.split("\n")[0]).toBe(`nightly: ${planSentence(planTotals(plan))}; nothing changed (plan, 1.2 s)`);
    expect(text).not.toMatch(/\bok\b|dry run|uploaded 0/);
  });

  it("a plan that failed before it had a plan says it failed, not that there is nothing to do", () => {
    const text = formatSummary(summary({ dryRun: true, status: "failed", failed: 1, errors: ["the remote folder /x does not exist"] }));
    expect(text.split("\n")[0]).toBe("nightly: plan failed in 1.2 s; nothing changed");
    expect(text).not.toMatch(/nothing to do/);
    expect(text).toContain("error: the remote folder /x does not exist");
  });

  it("a plan with only held-back deletions says it has nothing to carry out", () => {
    const held: Action = { kind: "held-delete", path: "x", reason: "r", side: "local", type: "file" };
    expect(planSentence(planTotals([held, held]))).toBe("nothing to carry out; 2 deletions held back by the delete policy");
    expect(planSentence(planTotals([]))).toBe("nothing to do: both sides agree");
  });
});

const run = (over: Partial<RunRecord> = {}): RunRecord => ({
  id: 1, job: "nightly", trigger: "cli", startedAt: T, endedAt: T + 1000, status: "ok", dryRun: false, ...zero, ...over,
});
const job = (over: Partial<JobStatus> = {}): JobStatus => ({ job: "nightly", direction: "upload", triggers: [], queued: false, healthy: true, ...over });

describe("status and history objects", () => {
  it("a job that never ran has lastRun, lastSuccessAt and nextRunAt null, not left out", () => {
    const s: AgentStatus = { agents: [], healthy: true, jobs: [job()] };
    const obj = statusShape(true).parse(valid(jsonObject("status", statusView(s), statusFailure(s))));
    expect(obj.jobs[0]).toMatchObject({ lastRun: null, lastSuccessAt: null, nextRunAt: null, running: null, problem: null });
  });

  it("every time is ISO text: agents, the lock holder, the last run, last success and next run", () => {
    const s: AgentStatus = {
      agents: [{ pid: 7, host: "h", startedAt: T, heartbeatAt: T + 1 }],
      healthy: true,
      jobs: [job({ lastRun: run(), lastSuccessAt: T + 1000, nextRunAt: T + 60_000, running: { pid: 7, acquiredAt: T, trigger: "schedule" } })],
    };
    const obj = valid(jsonObject("status", statusView(s)));
    expect(statusShape(true).parse(obj).jobs[0]).toMatchObject({ nextRunAt: "2026-12-05T17:01:00.000Z", running: { acquiredAt: "2026-12-05T17:00:00.000Z" } });
    expect(epochMillisIn(obj)).toEqual([]);
  });

  it("a failing job makes status exit 6, even beside a stale one; a stale one alone exit 7", () => {
    const failing = job({ job: "a", healthy: false, problemKind: "failing", problem: "last run failed: 530" });
    const stale = job({ job: "b", healthy: false, problemKind: "stale", problem: "no successful run for 100 s (maxAge 60 s)" });
    const both: AgentStatus = { agents: [], healthy: false, jobs: [failing, stale] };
    expect(statusFailure(both)).toMatchObject({ code: "job-failing", exitCode: 6 });
    expect(statusFailure(both)!.message).toContain("a (last run failed: 530)");
    expect(statusFailure({ agents: [], healthy: false, jobs: [stale] })).toMatchObject({ code: "job-stale", exitCode: 7 });
    expect(statusShape(false).safeParse(valid(jsonObject("status", statusView(both), statusFailure(both)))).success).toBe(true);
  });

  it("a plan in the history is marked as one", () => {
    expect(runView(run({ dryRun: true }))).toMatchObject({ kind: "plan", dryRun: true, endedAt: "2026-12-05T17:00:01.000Z", error: null });
    expect(runView(run({ endedAt: undefined, status: "running" }))).toMatchObject({ kind: "sync", endedAt: null });
  });

  it("the body cannot override the envelope", () => {
    expect(jsonObject("history", { schema: "x", ok: false, error: "y", runs: [] })).toEqual({ schema: "ftps-sync/history/v1", ok: true, runs: [] });
  });
});
