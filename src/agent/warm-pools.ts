import type { RemoteConfig } from "../config/types.js";
import type { Logger } from "../log.js";
import { FtpsFolder } from "../protocol/ftps-folder.js";
import type { RemoteFolder } from "../remote/remote-folder.js";

/** How long a remote's connections stay open unused when its config does not say (`idleTimeout`). */
export const WARM_IDLE_MS = 60_000;

interface Shared {
  /** The remote's folder, and with it its connections. */
  pool: RemoteFolder;
  remote: RemoteConfig;
  /** Jobs running on it now. */
  users: Set<string>;
  idle?: NodeJS.Timeout;
}

/**
 * The agent keeps one connection pool per remote, shared by every job on that remote, open
 * between runs: a run set off by the watcher, a short poll or a minute schedule does not pay for
 * the TLS handshakes and the login again, and a server with hundreds of jobs on it sees a login
 * per connection per idle period rather than one per run.
 *
 * Jobs on one remote that run at once share its pool, so the server never sees more than the
 * remote's `maxConnections` from this agent, however many of its jobs run. A connection unused
 * for the remote's `idleTimeout` (default 60 s: a minute schedule keeps its connections, and it
 * is well under servers' own idle limits, vsftpd's 5 minutes the shortest) is closed by the pool
 * (FtpsPool), and the pool itself once no job used it that long. One closed by the server is
 * noticed and replaced (FtpsPool). A pool whose remote changed in a reload is replaced once its
 * running jobs are done with it; one destroyed by a hard stop is replaced.
 */
export class WarmPools {
  /** By remote name. */
  private readonly pools = new Map<string, Shared>();
  /** The pool each running job was given (it may have been replaced since, by a reload). */
  private readonly byJob = new Map<string, Shared>();

  constructor(
    private readonly logger: Logger,
    private readonly idleMs?: number,
    private readonly makePool: (remote: RemoteConfig, logger: Logger) => RemoteFolder = (remote, logger) =>
      new FtpsFolder(remote, logger.child({ remote: remote.name })),
  ) {}

  /** The pool for a run of `job` against `remote`: the remote's shared one when it is still usable. */
  take(job: string, remote: RemoteConfig): RemoteFolder {
    this.release(job);
    // Idle pools of other remotes on the same server (another user, say) are closed first: a
    // server that limits connections per client (vsftpd max_per_ip) must not see more than one
    // remote's worth of them.
    for (const [name, s] of this.pools) {
      if (name !== remote.name && s.users.size === 0 && s.remote.host === remote.host && s.remote.port === remote.port) this.drop(s);
    }
    let shared = this.pools.get(remote.name);
    // The config is reloaded as new objects: a different object may mean other settings.
    if (shared && (shared.remote !== remote || shared.pool.closed)) {
      this.pools.delete(remote.name);
      // Jobs still running on the old one finish with it; it is closed when the last one is done.
      if (shared.users.size === 0 || shared.pool.closed) this.drop(shared);
      shared = undefined;
    }
    if (!shared) {
      shared = { pool: this.makePool(remote, this.logger), remote, users: new Set() };
      this.pools.set(remote.name, shared);
    }
    clearTimeout(shared.idle);
    shared.idle = undefined;
    shared.users.add(job);
    this.byJob.set(job, shared);
    return shared.pool;
  }

  /** The run of `job` ended: once no job uses its pool, the pool is kept for the idle timeout, then closed. */
  release(job: string): void {
    const shared = this.byJob.get(job);
    if (!shared) return;
    this.byJob.delete(job);
    shared.users.delete(job);
    if (shared.users.size > 0) return;
    if (this.pools.get(shared.remote.name) !== shared) {
      this.drop(shared); // replaced by a reload meanwhile
      return;
    }
    clearTimeout(shared.idle);
    shared.idle = setTimeout(() => {
      if (shared.users.size === 0) this.drop(shared);
    }, this.idleMs ?? shared.remote.idleTimeoutMs ?? WARM_IDLE_MS);
    shared.idle.unref();
  }

  /** How many pools are open (tests, status). */
  get size(): number {
    return this.pools.size;
  }

  private drop(shared: Shared): void {
    clearTimeout(shared.idle);
    if (this.pools.get(shared.remote.name) === shared) this.pools.delete(shared.remote.name);
    void shared.pool.close();
  }

  async closeAll(): Promise<void> {
    const all = new Set([...this.pools.values(), ...this.byJob.values()]);
    this.pools.clear();
    this.byJob.clear();
    for (const s of all) clearTimeout(s.idle);
    await Promise.all([...all].map((s) => s.pool.close()));
  }
}
