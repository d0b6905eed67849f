import { describe, expect, it } from "vitest";
import { ConfigProblems } from "../../src/agent/config-problems.js";
import type { AgentConfig, JobConfig } from "../../src/config/types.js";
import { silentLogger } from "../../src/log.js";

// Only the fields ConfigProblems reads; the folders exist (this file's own folder).
const job = (name: string, remote: string) => ({ name, file: `/cfg/jobs/${name}.json`, remote, local: import.meta.dirname }) as JobConfig;
const config = (remotes: string[], jobs: JobConfig[]) =>
  ({ remotes: Object.fromEntries(remotes.map((r) => [r, { name: r }])), jobs: Object.fromEntries(jobs.map((j) => [j.name, j])) }) as unknown as AgentConfig;
const bad = (name: string) => ({ job: name, file: `/cfg/jobs/${name}.json`, message: `/cfg/jobs/${name}.json: field "direction": invalid` });

describe("the agent's configuration problems", () => {
  it("a job file that goes bad in a reload keeps the job's previous version, reported as such", () => {
    const problems = new ConfigProblems(silentLogger());
    const previous = config(["srv"], [job("a", "srv"), job("b", "srv")]);
    problems.started({ config: previous, badJobs: [] });
    const next = problems.reloaded(previous, { config: config(["srv"], [job("b", "srv")]), badJobs: [bad("a")] });
    expect(next.jobs.a).toBe(previous.jobs.a);
    expect(Object.keys(next.jobs).sort()).toEqual(["a", "b"]);
    expect(problems.badJobs()).toEqual([{ ...bad("a"), runsPrevious: true }]);
  });

  it("a job whose remote is gone from the reloaded config is not kept, nor is a job new in the reload", () => {
    const problems = new ConfigProblems(silentLogger());
    const previous = config(["old"], [job("a", "old")]);
    const next = problems.reloaded(previous, { config: config(["new"], []), badJobs: [bad("a"), bad("fresh")] });
    expect(next.jobs).toEqual({});
    expect(problems.badJobs().map((b) => [b.job, b.runsPrevious])).toEqual([["a", false], ["fresh", false]]);
  });

  it("a failed reload is reported until a reload succeeds", () => {
    const problems = new ConfigProblems(silentLogger());
    const cfg = config(["srv"], []);
    problems.started({ config: cfg, badJobs: [bad("x")] });
    expect(problems.lastReloadSucceeded()).toBe(true);
    expect(problems.configProblem()).toBeUndefined();
    problems.reloadFailed(new Error("/cfg/agent.config.json: invalid JSON at line 3, column 1"));
    expect(problems.lastReloadSucceeded()).toBe(false);
    expect(problems.configProblem()).toMatch(/^reload failed at \d{4}-.*previous configuration: \/cfg\/agent\.config\.json: invalid JSON/);
    // The bad job file is still reported: a failed reload changes nothing that runs.
    expect(problems.badJobs().map((b) => b.job)).toEqual(["x"]);
    problems.reloaded(cfg, { config: cfg, badJobs: [] });
    expect(problems.lastReloadSucceeded()).toBe(true);
    expect(problems.configProblem()).toBeUndefined();
    expect(problems.badJobs()).toEqual([]);
  });
});
