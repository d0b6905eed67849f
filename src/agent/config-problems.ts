import { checkJobLocalFolder, type LoadOptions } from "../config/load.js";
import type { AgentConfig } from "../config/types.js";
import { ConfigError } from "../errors.js";
import type { Logger } from "../log.js";

/** A job file the agent could not load. */
export interface BadJob {
  job: string;
  file: string;
  /** The error, which names the file and the field. */
  message: string;
  /**
   * In the agent: whether the job's previous version (loaded before its file went bad in a
   * reload) runs on, or nothing does. Unknown (undefined) to other processes, such as `status`.
   */
  runsPrevious?: boolean;
}

/** The agent's configuration as loaded: the jobs that run, and the job files that could not be loaded. */
export interface AgentLoad {
  config: AgentConfig;
  badJobs: BadJob[];
}

/**
 * How the agent loads its configuration. agent.config.json must be valid (a ConfigError
 * otherwise: `run` exits 2, a reload keeps what runs), but one job file with a mistake stops only
 * its own job: it is collected into `badJobs`. Local folders are not checked here: a share not
 * mounted at boot fails only its job's runs, until it is there (see ConfigProblems.checkFolders).
 */
export function agentLoadOptions(badJobs: BadJob[]): LoadOptions {
  return {
    checkLocalFolders: false,
    onBadJob: (err, job, file) => badJobs.push({ job, file, message: err.message }),
  };
}

/**
 * What is wrong with the configuration the agent runs, for the log, /readyz and /metrics: the
 * job files that could not be loaded, and the last reload if it failed.
 */
export class ConfigProblems {
  private bad: BadJob[] = [];
  private reloadFailure?: { at: number; message: string };

  constructor(private readonly logger: Logger) {}

  /** At start-up: each bad job file and each job folder not there is said once in the log. */
  started(load: AgentLoad): void {
    this.setBad(load.badJobs.map((b) => ({ ...b, runsPrevious: false })));
    this.checkFolders(load.config);
  }

  /**
   * A reload that could read agent.config.json. A job whose file went bad keeps its previous
   * version (while its remote is still configured): the operator's mistake does not stop it.
   * Returns the configuration to run.
   */
  reloaded(previous: AgentConfig, load: AgentLoad): AgentConfig {
    this.reloadFailure = undefined;
    const jobs = { ...load.config.jobs };
    const bad = load.badJobs.map((b): BadJob => {
      const old = previous.jobs[b.job];
      if (!old || !load.config.remotes[old.remote]) return { ...b, runsPrevious: false };
      jobs[b.job] = old;
      return { ...b, runsPrevious: true };
    });
    this.setBad(bad);
    const config = { ...load.config, jobs };
    this.checkFolders(config);
    return config;
  }

  /** A reload that could not read agent.config.json (or its jobs folder): what runs stays. */
  reloadFailed(err: Error): void {
    this.reloadFailure = { at: Date.now(), message: err.message };
    this.logger.error(`reload failed, keeping the current configuration: ${err.message}`);
  }

  badJobs(): BadJob[] {
    return this.bad;
  }

  /** Undefined unless the last reload failed. */
  configProblem(): string | undefined {
    const f = this.reloadFailure;
    return f && `reload failed at ${new Date(f.at).toISOString()}, the agent runs its previous configuration: ${f.message}`;
  }

  lastReloadSucceeded(): boolean {
    return this.reloadFailure === undefined;
  }

  private setBad(bad: BadJob[]): void {
    this.bad = bad;
    for (const b of bad) {
      const what = b.runsPrevious ? "its previous version runs on" : "the job does not run; the other jobs do";
      this.logger.error(`invalid job file (${what}): ${b.message}`, { job: b.job });
    }
  }

  /** A job whose folder is not there stays configured: its runs fail (deleting nothing) until it is. */
  private checkFolders(config: AgentConfig): void {
    for (const job of Object.values(config.jobs)) {
      try {
        checkJobLocalFolder(job);
      } catch (err) {
        if (!(err instanceof ConfigError)) throw err;
        this.logger.warn(`${err.message}: the job's runs fail until this is fixed; the other jobs run`, { job: job.name });
      }
    }
  }
}
