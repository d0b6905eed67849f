// Durations past what Node's timers hold (2^31 - 1 ms, about 24.8 days): a long poll waits as
// long as it says, and a duration that makes no sense that long is a config error naming the field.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { pollJob } from "../../src/agent/poller.js";
import { parseDuration } from "../../src/config/duration.js";
import { loadConfig } from "../../src/config/load.js";
import type { JobConfig } from "../../src/config/types.js";
import { ConfigError } from "../../src/errors.js";
import { jobConfig } from "../helpers/job-config.js";

const DAY = 86_400_000;

function pollingJob(pollMs: number): JobConfig {
  return jobConfig("pull", { direction: "download", pollMs });
}

describe("a poll interval longer than Node's timers hold", () => {
  it("requests no run in the first moments of a 30-day poll (real timers)", async () => {
    const request = vi.fn();
    const poll = pollJob(pollingJob(30 * DAY), request)!;
    await new Promise((r) => setTimeout(r, 150));
    poll.stop();
    expect(request).not.toHaveBeenCalled();
  });

  describe("with a fake clock", () => {
    beforeEach(() => vi.useFakeTimers());
    afterEach(() => vi.useRealTimers());

    it("requests a run every 30 days, and not before", () => {
      const request = vi.fn();
      const poll = pollJob(pollingJob(30 * DAY), request)!;
      // A small step first: a timer that overflowed fires every millisecond, and a month of
      // those would keep this test busy for hours.
      vi.advanceTimersByTime(1000);
      expect(request).not.toHaveBeenCalled();
      vi.advanceTimersByTime(30 * DAY - 1001);
      expect(request).not.toHaveBeenCalled();
      vi.advanceTimersByTime(1);
      expect(request).toHaveBeenCalledTimes(1);
      expect(request).toHaveBeenLastCalledWith("pull", "poll");
      vi.advanceTimersByTime(30 * DAY - 1);
      expect(request).toHaveBeenCalledTimes(1);
      vi.advanceTimersByTime(1);
      expect(request).toHaveBeenCalledTimes(2);
      poll.stop();
      vi.advanceTimersByTime(90 * DAY);
      expect(request).toHaveBeenCalledTimes(2);
    });

    it("a short poll still requests a run every interval", () => {
      const request = vi.fn();
      const poll = pollJob(pollingJob(5 * 60_000), request)!;
      vi.advanceTimersByTime(60 * 60_000);
      expect(request).toHaveBeenCalledTimes(12);
      poll.stop();
    });
  });
});

describe("durations in the config", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "ftps-sync-durations-"));
    mkdirSync(join(dir, "jobs"));
    mkdirSync(join(dir, "data"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const load = (agent: Record<string, unknown>, remote: Record<string, unknown>, job: Record<string, unknown>) => {
    const configPath = join(dir, "agent.config.json");
    writeFileSync(
      configPath,
      JSON.stringify({ ...agent, remotes: { partner: { host: "ftp.example.com", tls: "explicit", user: "u", password: { env: "PW" }, ...remote } } }),
    );
    writeFileSync(join(dir, "jobs", "pull.json"), JSON.stringify({ remote: "partner", remotePath: "/in", local: "./data", direction: "download", ...job }));
    return loadConfig(configPath, { env: { PW: "x" } });
  };
  const errorOf = (run: () => unknown): ConfigError => {
    try {
      run();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      return err as ConfigError;
    }
    throw new Error("expected a ConfigError, but loading succeeded");
  };

  it("takes a 30-day poll and a 30-day maxAge as they are", () => {
    const { config } = load({}, {}, { poll: "30d", maxAge: "30d" });
    expect(config.jobs.pull.pollMs).toBe(30 * DAY);
    expect(config.jobs.pull.maxAgeMs).toBe(30 * DAY);
  });

  it.each<[string, Record<string, unknown>, Record<string, unknown>, Record<string, unknown>, string, RegExp]>([
    ["a 30-day first retry delay", {}, {}, { retries: { initialDelay: "30d", maxDelay: "30d" } }, "retries.initialDelay", /must be at most "1d"/],
    ["a 30-day longest retry delay", {}, {}, { retries: { maxDelay: "30d" } }, "retries.maxDelay", /must be at most "1d"/],
    ["a 30-day watch debounce", {}, {}, { watchDebounce: "30d" }, "watchDebounce", /must be at most "1d"/],
    ["a 30-day watch debounce in milliseconds", {}, {}, { watchDebounce: 30 * DAY }, "watchDebounce", /must be at most "1d"/],
    ["a 30-day socket timeout", {}, { timeoutSeconds: 30 * 86_400 }, {}, "remotes.partner.timeoutSeconds", /must be at most 3600/],
    ["a 30-day shutdown grace", { shutdownGraceSeconds: 30 * 86_400 }, {}, {}, "shutdownGraceSeconds", /must be at most 86400/],
  ])("%s is a config error (exit 2) naming the field", (_name, agent, remote, job, field, message) => {
    const err = errorOf(() => load(agent, remote, job));
    expect(err.exitCode).toBe(2);
    expect(err.field).toBe(field);
    expect(err.message).toMatch(message);
  });

  it("refuses a duration too long to count in milliseconds", () => {
    expect(() => parseDuration("99999999999999d")).toThrow(RangeError);
    expect(errorOf(() => load({}, {}, { poll: "99999999999999d" })).field).toBe("poll");
  });
});
