import type { RemoteConfig } from "../config/types.js";
import { RemoteError } from "../errors.js";
import { errorClassOf, isTlsFailure } from "./classify.js";
import { connectFtps, type FtpsConnection } from "./connect.js";
import { isAnsweredDuringTransfer } from "./engine/client.js";
import { isUnansweredBehind, isWrittenDuringTransfer, WRITE_DURING_TRANSFER } from "./engine/control.js";
import type { ServerTechniques, TechniquesOff } from "../remote/remote-folder.js";
import type { Logger } from "../log.js";
import { takeEarlyListing } from "./early-listing.js";
import { withRetry, type RetryPolicy } from "../remote/retry.js";

/**
 * `signal`: the pool was closed while the connection was being opened; give it up. `off`: the
 * techniques this server does not take.
 */
type Connector = (remote: RemoteConfig, logger?: Logger, signal?: AbortSignal, off?: TechniquesOff, firstListing?: string) => Promise<FtpsConnection>;

/**
 * Up to `maxConnections` logged-in FTPS connections to one remote. A connection does one
 * operation at a time (its commands may be pipelined within it), so each caller gets a connection to itself. A connection
 * that failed is dropped and replaced on demand; a 421 (too many connections) shrinks the pool
 * instead of failing the job.
 */
export class FtpsPool {
  private readonly idle: FtpsConnection[] = [];
  /** Per idle connection: the timer that closes it after `remote.idleTimeoutMs` unused. */
  private readonly idleTimers = new Map<FtpsConnection, NodeJS.Timeout>();
  private readonly waiters: ((c: FtpsConnection | undefined) => void)[] = [];
  /** Connections handed out and not yet returned, so that destroy() can cut them too. */
  private readonly busy = new Set<FtpsConnection>();
  /** How many callers use each busy connection. */
  private readonly users = new Map<FtpsConnection, number>();
  /** Busy connections whose call failed: handed out no more, closed when their last caller is done. */
  private readonly retiring = new Set<FtpsConnection>();
  private open = 0;
  private opening = 0;
  /** Of `opening`, those prefill() opens in the background for no one in particular. */
  private spare = 0;
  private limit: number;
  private shut = false;
  /** Aborted by close() and destroy(): connections still being opened are given up, not waited for. */
  private readonly openings = new AbortController();
  /** Capabilities of the first connection, for planning. */
  first?: FtpsConnection;
  /** What the server does not take, known before and learnt on the way (see learnFrom). */
  readonly techniques: ServerTechniques = { known: {} };
  /** The folder the next connection opened lists with its login (see listSoon). */
  private listingWanted?: string;
  /** The connection that listed a folder with its login, until that listing is taken. */
  private listedEarly?: FtpsConnection;
  /** Bumped by listSoon and takeEarlyListing: an early listing of a connection opened before is dropped. */
  private listingRound = 0;

  constructor(
    readonly remote: RemoteConfig,
    private readonly logger?: Logger,
    private readonly connector: Connector = connectFtps,
    /** Callers per connection at most (see sharing). */
    private readonly callsPerConnection = 2,
  ) {
    this.limit = Math.max(1, remote.maxConnections);
  }

  get size(): number {
    return this.limit;
  }

  /** After close() or destroy(): the pool hands out nothing more. */
  get closed(): boolean {
    return this.shut;
  }

  /**
   * Opens the first connection, retried like any other transient failure (timeouts, refused or
   * cut connections, 421) within `retry`, but not a refused login (530) or a TLS or certificate
   * failure: those fail at once (exit 4), as does the last attempt.
   */
  async start(retry?: RetryPolicy, signal?: AbortSignal): Promise<FtpsConnection> {
    const open = async () => {
      const c = await this.acquire();
      this.release(c);
      return c;
    };
    if (!retry) return open();
    return withRetry(open, retry, {
      signal,
      retryIf: (err) => !isTlsFailure(err),
      classify: errorClassOf,
      onRetry: (err, attempt, delayMs) =>
        this.logger?.warn(`${(err as Error).message} (attempt ${attempt} of ${retry.attempts}; retrying in ${delayMs} ms)`),
    });
  }

  /**
   * Opens the connections not open yet in the background, so that they are logged in by the time
   * work arrives (a login can take the server tens of milliseconds: vsftpd hashes the password).
   * A connection that fails here is not an error: work opens its own as usual. `count`: open
   * this many at most (the rest are opened when work asks for them).
   */
  prefill(count = this.limit): void {
    for (let missing = Math.min(count, this.limit) - this.open - this.opening; missing > 0; missing--) {
      this.spare++;
      this.openOne().then(
        (c) => {
          this.spare--;
          if (this.shut) c.close();
          else this.release(c);
        },
        () => {
          this.spare--;
          // Whoever waited for it opens its own.
          this.waiters.shift()?.(undefined);
        },
      );
    }
  }

  /**
   * The next connection this pool opens lists `folder` in its login's write (connect.ts), for
   * takeEarlyListing(). Anything listed so before and not taken is dropped.
   */
  listSoon(folder: string): void {
    this.dropEarlyListing();
    this.listingRound++;
    this.listingWanted = folder;
  }

  /** The connection holding a listing sent with its login (to prefer in use()), if any. */
  get listedEarlyOn(): FtpsConnection | undefined {
    return this.listedEarly;
  }

  /**
   * The listing of `folder` sent with the login of `c`, the connection a caller was given: once
   * only, and only for that folder. Whatever the answer, none is held or asked for any more.
   */
  takeEarlyListing(folder: string, c: FtpsConnection): Promise<string> | undefined {
    const text = this.listedEarly === c && !c.client.closed ? takeEarlyListing(c, folder) : undefined;
    this.dropEarlyListing();
    this.listingWanted = undefined;
    this.listingRound++;
    return text;
  }

  private dropEarlyListing(): void {
    if (this.listedEarly) this.listedEarly.early = undefined;
    this.listedEarly = undefined;
  }

  /** `prefer`: this connection when it is idle (the one holding an early listing). */
  async use<T>(fn: (c: FtpsConnection) => Promise<T>, prefer?: FtpsConnection): Promise<T> {
    const c = await this.acquire(prefer);
    try {
      return await fn(c);
    } catch (err) {
      // After a failure, a connection is never handed out again. One still open is in step (the
      // engine closes a connection it cannot keep in step): a caller sharing it finishes first.
      this.retiring.add(c);
      this.learnFrom(err);
      throw err;
    } finally {
      this.release(c);
    }
  }

  /**
   * How many callers may use one connection at once. Their commands queue on it in order, each
   * call's in one write, so the server always has the next command and no round trip is spent
   * waiting between one file and the next; transfers on a connection still run one after the
   * other. One for a server that drops commands sent ahead. One more where the next transfer is
   * written while one runs (vsftpd, see ControlConnection.writeDuringTransfer): a caller's rename
   * after its 226 goes behind the transfer written ahead, so its next file is asked for only once
   * that transfer ended; a third caller's transfer is the one written ahead meanwhile, and the
   * server always has the next transfer when it sends a 226.
   */
  private get sharing(): number {
    if (this.techniques.known.pipelining) return 1;
    return this.first?.writesDuringTransfer?.() ? this.callsPerConnection + 1 : this.callsPerConnection;
  }

  /** Callers the pool serves at once: its connections, each shared (see sharing). */
  get width(): number {
    return this.limit * this.sharing;
  }

  private async acquire(prefer?: FtpsConnection): Promise<FtpsConnection> {
    const preferred = prefer && !prefer.client.closed ? this.idle.indexOf(prefer) : -1;
    const c = preferred >= 0 ? this.takeIdle(preferred) : await this.acquireAny();
    if (this.shut) {
      // destroy() ran while this connection was being opened or handed over.
      c.close();
      throw new Error("connection pool is closed");
    }
    this.busy.add(c);
    this.users.set(c, (this.users.get(c) ?? 0) + 1);
    return c;
  }

  /** The idle connection at `index`, taken out of the idle ones. */
  private takeIdle(index: number): FtpsConnection {
    const [c] = this.idle.splice(index, 1);
    this.stopIdleTimer(c);
    return c;
  }

  /** A connection in use that can take one more caller: the least used, open and not retiring. */
  private shareable(): FtpsConnection | undefined {
    let best: FtpsConnection | undefined;
    for (const c of this.busy) {
      const n = this.users.get(c) ?? 0;
      if (n < this.sharing && !this.retiring.has(c) && !c.client.closed && (!best || n < this.users.get(best)!)) best = c;
    }
    return best;
  }

  private async acquireAny(): Promise<FtpsConnection> {
    if (this.shut) throw new Error("connection pool is closed");
    // An idle connection the server closed meanwhile (the agent keeps pools between runs) is
    // dropped, and its slot reused.
    for (let ready = this.idle.pop(); ready; ready = this.idle.pop()) {
      this.stopIdleTimer(ready);
      if (!ready.client.closed) return ready;
      this.open--;
      ready.close();
    }
    // A connection prefill() is opening goes to the first waiter: wait for it rather than open
    // one more than the work asked for.
    if (this.open + this.opening < this.limit && this.spare <= this.waiters.length) return this.openOne();
    // Every connection is open or opening: share one rather than wait.
    const shared = this.opening === 0 ? this.shareable() : undefined;
    if (shared) return shared;
    const c = await new Promise<FtpsConnection | undefined>((resolve) => this.waiters.push(resolve));
    return c ?? this.acquireAny();
  }

  private async openOne(): Promise<FtpsConnection> {
    this.opening++;
    // One connection lists with its login: the first opened after listSoon (again if it failed).
    const listing = this.listingWanted;
    const round = this.listingRound;
    this.listingWanted = undefined;
    try {
      const c = await this.connector(this.remote, this.logger, this.openings.signal, this.techniques.known, listing).catch((err: unknown) => {
        if (listing !== undefined && round === this.listingRound) this.listingWanted ??= listing;
        this.learnFrom(err);
        throw err;
      });
      if (c.early && round === this.listingRound) {
        this.dropEarlyListing();
        this.listedEarly = c;
      } else c.early = undefined;
      this.open++;
      this.adopt(c);
      this.first ??= c;
      this.learnFromConnection(c);
      return c;
    } catch (err) {
      if (err instanceof RemoteError && err.code === 421 && this.open > 0) {
        this.limit = Math.max(1, this.open);
        this.logger?.warn(`${this.remote.name}: server refused another connection (421); pool shrunk to ${this.limit}`);
        return await new Promise<FtpsConnection | undefined>((resolve) => this.waiters.push(resolve)).then(
          (c) => c ?? this.acquire(),
        );
      }
      throw err;
    } finally {
      this.opening--;
    }
  }

  /** Tells a new connection what is known of the server, and learns what it finds out. */
  private adopt(c: FtpsConnection): void {
    c.client.techniquesOff = this.techniques.known;
    c.client.onLearnt = (technique, reason) => this.learn(technique, reason);
  }

  /** Remembers a technique the server does not take (once per server: logged when first learnt). */
  private learn(technique: string, reason: string): void {
    if (this.techniques.known[technique]) return;
    this.techniques.known[technique] = reason;
    this.logger?.warn(`${this.remote.name}: ${reason} (remembered for this server)`);
    this.techniques.onTurnedOff?.(technique, reason);
  }

  /** What a connection found off while it connected (an implicit server without PROT P): logged and remembered once. */
  private learnFromConnection(c: FtpsConnection): void {
    for (const [technique, reason] of Object.entries(c.learnt ?? {})) {
      if (this.techniques.known[technique]) continue;
      this.techniques.known[technique] = reason;
      this.logger?.warn(`${this.remote.name}: ${reason}: going on without it for this server from now on`);
      this.techniques.onTurnedOff?.(technique, reason);
    }
  }

  /**
   * A server that dropped a command sent behind another (its reply never came) gets one command
   * at a time on every connection opened from now on; the caller's retry opens one.
   */
  private learnFrom(err: unknown): void {
    if (isWrittenDuringTransfer(err)) {
      // A server that reads its control connection during transfers, though it named itself vsftpd.
      if (this.techniques.known[WRITE_DURING_TRANSFER]) return;
      const reason = `a command written while a transfer ran was not answered in turn (${(err as Error).message})`;
      this.techniques.known[WRITE_DURING_TRANSFER] = reason;
      this.logger?.warn(`${this.remote.name}: ${reason}: nothing is written while a transfer runs on this server from now on`);
      this.techniques.onTurnedOff?.(WRITE_DURING_TRANSFER, reason);
      return;
    }
    if (!this.techniques.known.commandsBehindTransfer && isAnsweredDuringTransfer(err)) {
      const reason = `answered a command sent behind a transfer before the transfer ended (${(err as Error).message})`;
      this.techniques.known.commandsBehindTransfer = reason;
      this.logger?.warn(`${this.remote.name}: ${reason}: sending such commands after the transfer to this server from now on`);
      this.techniques.onTurnedOff?.("commandsBehindTransfer", reason);
    }
    if (this.techniques.known.pipelining || !isUnansweredBehind(err)) return;
    const reason = `no reply to a command sent together with another (${(err as Error).message})`;
    this.techniques.known.pipelining = reason;
    this.logger?.warn(`${this.remote.name}: ${reason}: sending one command at a time to this server from now on`);
    this.techniques.onTurnedOff?.("pipelining", reason);
  }

  /** A caller is done with `c`: it goes to a waiter, back to the idle ones, or (failed, closed) away. */
  private release(c: FtpsConnection): void {
    const left = (this.users.get(c) ?? 1) - 1;
    if (left > 0) this.users.set(c, left);
    else this.users.delete(c);
    if (this.retiring.has(c) || c.client.closed) {
      if (left === 0) this.discard(c);
      return;
    }
    if (left > 0) {
      // Still in use by another caller: a waiter may share it.
      if (left < this.sharing && this.waiters.length > 0) this.waiters.shift()!(c);
      return;
    }
    this.busy.delete(c);
    const waiter = this.waiters.shift();
    if (waiter) waiter(c);
    else this.parkIdle(c);
  }

  /**
   * Back among the idle ones. The agent keeps a remote's pool between runs of its jobs: a
   * connection nobody used for `remote.idleTimeoutMs` is closed (QUIT), so the server sees a
   * login per connection per idle period, not one per run, and no session is held open for ever.
   */
  private parkIdle(c: FtpsConnection): void {
    this.idle.push(c);
    const ms = this.remote.idleTimeoutMs;
    if (ms === undefined) return;
    const timer = setTimeout(() => {
      this.idleTimers.delete(c);
      const at = this.idle.indexOf(c);
      if (at < 0) return;
      this.idle.splice(at, 1);
      this.open--;
      void quit(c);
    }, ms);
    timer.unref();
    this.idleTimers.set(c, timer);
  }

  private stopIdleTimer(c: FtpsConnection): void {
    clearTimeout(this.idleTimers.get(c));
    this.idleTimers.delete(c);
  }

  /** How many logged-in connections the pool holds (in use or idle). */
  get connections(): number {
    return this.open;
  }

  private discard(c: FtpsConnection): void {
    this.busy.delete(c);
    this.retiring.delete(c);
    c.close();
    this.open--;
    // A waiter can now open a fresh connection in the freed slot.
    const waiter = this.waiters.shift();
    if (waiter) waiter(undefined);
  }

  async close(): Promise<void> {
    this.shut = true;
    this.openings.abort();
    for (const w of this.waiters.splice(0)) w(undefined);
    for (const t of this.idleTimers.values()) clearTimeout(t);
    this.idleTimers.clear();
    // QUIT all idle connections at once.
    await Promise.all(this.idle.splice(0).map(quit));
    this.open = 0;
  }

  /**
   * Hard stop: closes every connection now, idle and busy, without QUIT. Transfers in flight
   * fail (they write to temporary names, so nothing half-written appears under a real name).
   */
  destroy(): void {
    this.shut = true;
    this.openings.abort();
    for (const w of this.waiters.splice(0)) w(undefined);
    for (const t of this.idleTimers.values()) clearTimeout(t);
    this.idleTimers.clear();
    for (const c of [...this.idle.splice(0), ...this.busy]) c.close();
    this.busy.clear();
    this.users.clear();
    this.retiring.clear();
    this.open = 0;
  }
}

/**
 * QUIT, waiting at most 500 ms, then close. The timer is cleared so that it does not keep the
 * process alive after the reply came (it used to add 500 ms to every CLI run).
 */
async function quit(c: FtpsConnection): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([c.client.send("QUIT"), new Promise((r) => (timer = setTimeout(r, 500)))]);
  } catch {
    // closing anyway
  } finally {
    clearTimeout(timer);
  }
  c.close();
}

/**
 * `pool.use`, with at most `width` callers holding a connection at once: for work that is faster
 * on fewer connections than the pool may open (each login costs the server a password hash).
 */
export function narrowUse(pool: FtpsPool, width: number): FtpsPool["use"] {
  let active = 0;
  const waiting: (() => void)[] = [];
  const release = () => {
    const next = waiting.shift();
    if (next) next(); // the slot passes on: `active` stays
    else active--;
  };
  return async (fn) => {
    if (active < width) active++;
    else await new Promise<void>((resolve) => waiting.push(resolve));
    try {
      return await pool.use(fn);
    } finally {
      release();
    }
  };
}
