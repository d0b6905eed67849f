import type { RemoteConfig } from "../config/types.js";
import type { Logger } from "../log.js";
import { FtpsFolder } from "../protocol/ftps-folder.js";
import type { RemoteFolder } from "../remote/remote-folder.js";

/** How long a job's connections stay open after its run, waiting for the next one. */
export const WARM_IDLE_MS = 30_000;

interface Warm {
  /** The job's remote folder, and with it its connections. */
  pool: RemoteFolder;
  remote: RemoteConfig;
  idle?: NodeJS.Timeout;
}

/**
 * The agent keeps each job's connection pool open for a while after a run, so that a run set
 * off by the watcher or a short poll soon after does not pay for the TLS handshakes and the
 * login again (on a link with 50 ms of latency that is about half a second per run).
 *
 * One pool per job, not per remote: a job never runs twice at once, so its pool is never
 * shared, and each run keeps the `maxConnections` it had. After WARM_IDLE_MS without a run the
 * pool is closed, well before servers drop idle sessions (vsftpd: 5 minutes), so a silently
 * dropped connection is rare; one closed by the server is noticed and replaced (see FtpsPool).
 * A pool whose remote changed in a reload, or that was destroyed by a hard stop, is replaced.
 */
export class WarmPools {
  private readonly pools = new Map<string, Warm>();

  constructor(
    private readonly logger: Logger,
    private readonly idleMs = WARM_IDLE_MS,
    private readonly makePool: (remote: RemoteConfig, logger: Logger) => RemoteFolder = (remote, logger) => new FtpsFolder(remote, logger),
  ) {}

  /** The pool for a run of `job` against `remote`: the warm one when it is still usable. */
  take(job: string, remote: RemoteConfig): RemoteFolder {
    // Idle pools of other jobs on the same server are closed first: a server that limits
    // connections per client (vsftpd max_per_ip) must not see more than before they were kept.
    for (const [other, w] of this.pools) {
      if (other !== job && w.idle && w.remote.host === remote.host && w.remote.port === remote.port) this.drop(other, w);
    }
    const warm = this.pools.get(job);
    if (warm) {
      clearTimeout(warm.idle);
      warm.idle = undefined;
      // The config is reloaded as new objects: a different object may mean other settings.
      if (warm.remote === remote && !warm.pool.closed) return warm.pool;
      this.pools.delete(job);
      void warm.pool.close();
    }
    const pool = this.makePool(remote, this.logger.child({ job }));
    this.pools.set(job, { pool, remote });
    return pool;
  }

  /** The run of `job` ended: keep its pool open for `idleMs`, then close it. */
  release(job: string): void {
    const warm = this.pools.get(job);
    if (!warm) return;
    clearTimeout(warm.idle);
    warm.idle = setTimeout(() => {
      if (this.pools.get(job) === warm) this.drop(job, warm);
    }, this.idleMs);
    warm.idle.unref();
  }

  private drop(job: string, warm: Warm): void {
    clearTimeout(warm.idle);
    this.pools.delete(job);
    void warm.pool.close();
  }

  async closeAll(): Promise<void> {
    const all = [...this.pools.values()];
    this.pools.clear();
    for (const w of all) clearTimeout(w.idle);
    await Promise.all(all.map((w) => w.pool.close()));
  }
}
