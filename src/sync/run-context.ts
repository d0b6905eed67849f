import type { AgentConfig, JobConfig, RemoteConfig } from "../config/types.js";
import type { Logger } from "../log.js";
import type { RemoteFolder } from "../remote/remote-folder.js";
import type { StateStore } from "../state/index.js";
import type { RunCounts } from "../state/runs.js";
import type { Progress, RunOptions } from "./run-job.js";

/**
 * What every phase of a run shares: the job, the state, the server, the options, and the run's
 * tallies (counts, errors, warnings) that end in its summary.
 */
export interface RunContext {
  config: AgentConfig;
  job: JobConfig;
  remoteConfig: RemoteConfig;
  state: StateStore;
  server: RemoteFolder;
  logger: Logger;
  opts: RunOptions;
  counts: RunCounts;
  errors: string[];
  warnings: string[];
  /**
   * Opens the first connection once: it fails fast (exit 4) and records the server's
   * capabilities. Later calls wait for nothing.
   */
  connect(): Promise<void>;
  /** Tells the progress display (if any); `inFlight`: bytes of the files in flight so far, beside those done. */
  progress(p: Omit<Progress, "bytes"> & { inFlight?: number }): void;
  /** Logs at debug level how long the phase since the last lap took: where a slow run spends its time. */
  lap(what: string): void;
  /** A warning of the run: logged, and kept for its summary. */
  warn(w: string): void;
}

export const emptyCounts = (): RunCounts => ({ uploaded: 0, downloaded: 0, deletedLocal: 0, deletedRemote: 0, conflicts: 0, failed: 0, bytes: 0 });

/** The shared part of a run; the connection opens on the first connect(). */
export function runContext(o: Omit<RunContext, "connect" | "progress" | "lap" | "warn" | "counts" | "errors" | "warnings">): RunContext {
  const counts = emptyCounts();
  let connected = false;
  let mark = performance.now();
  const ctx: RunContext = {
    ...o,
    counts,
    errors: [],
    warnings: [],
    async connect() {
      if (connected) return;
      connected = true;
      const { name, host, port } = o.remoteConfig;
      const techniques = o.server.techniques;
      if (techniques) {
        Object.assign(techniques.known, o.state.capabilities.techniquesOff(name, host, port));
        techniques.onTurnedOff = (technique, reason) => o.state.capabilities.rememberTechniqueOff(name, host, port, technique, reason);
      }
      const clock = o.server.serverClock;
      if (clock) {
        const known = o.state.capabilities.clockOffset(name, host, port);
        if (known) clock.known = { listingMs: known.listingMs, ...(known.exactMs !== undefined ? { exactMs: known.exactMs } : {}) };
        clock.onLearnt = (learnt, how) => o.state.capabilities.rememberClockOffset(name, host, port, learnt, how);
      }
      const keyShare = o.server.keyShare;
      if (keyShare) {
        keyShare.known = o.state.capabilities.keyShareGroup(name, host, port)?.group;
        keyShare.onLearnt = (group) => o.state.capabilities.rememberKeyShareGroup(name, host, port, group);
      }
      const first = await o.server.open(o.job.retries, o.opts.signal);
      o.state.capabilities.save({
        remote: o.remoteConfig.name, host: o.remoteConfig.host, port: o.remoteConfig.port, features: first.capabilities.features,
        tlsVersion: first.tls?.protocol, cipher: first.tls?.cipher, fingerprint: first.tls?.fingerprint, probedAt: Date.now(),
      });
    },
    progress: ({ inFlight, ...p }) => o.opts.onProgress?.({ ...p, bytes: counts.bytes + (inFlight ?? 0) }),
    lap(what) {
      const now = performance.now();
      ctx.logger.debug(`${what} in ${Math.round(now - mark)} ms`);
      mark = now;
    },
    warn(w) {
      ctx.warnings.push(w);
      ctx.logger.warn(w);
    },
  };
  return ctx;
}
