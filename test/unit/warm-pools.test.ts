import { describe, expect, it } from "vitest";
import { WarmPools } from "../../src/agent/warm-pools.js";
import type { RemoteConfig } from "../../src/config/types.js";
import type { FtpsConnection } from "../../src/protocol/connect.js";
import { silentLogger } from "../../src/log.js";
import { FtpsFolder } from "../../src/protocol/ftps-folder.js";
import { FtpsPool } from "../../src/protocol/pool.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const remote = (name = "srv") => ({ name, maxConnections: 2 }) as unknown as RemoteConfig;

/** A connector that counts logins and hands out fake connections that can be "closed by the server". */
function fakeConnector() {
  const made: { closed: boolean }[] = [];
  const connect = async (): Promise<FtpsConnection> => {
    const client = { closed: false, send: async () => ({ code: 221, message: "bye" }) };
    made.push(client);
    return { client, close: () => (client.closed = true) } as unknown as FtpsConnection;
  };
  return { made, connect };
}

describe("FtpsPool", () => {
  it("reuses an idle connection, and drops one the server closed meanwhile", async () => {
    const f = fakeConnector();
    const pool = new FtpsPool(remote(), undefined, f.connect);
    await pool.use(async () => undefined);
    await pool.use(async () => undefined);
    expect(f.made).toHaveLength(1);
    f.made[0].closed = true; // the server ended the idle session
    await pool.use(async (c) => expect(c.client.closed).toBe(false));
    expect(f.made).toHaveLength(2);
    // the dropped one gave its slot back: both slots are still usable at once
    await Promise.all([pool.use(() => sleep(5)), pool.use(() => sleep(5))]);
    expect(f.made).toHaveLength(3);
  });
});

describe("FtpsPool.prefill", () => {
  it("opens the missing connections in the background, which work then uses without opening more", async () => {
    const f = fakeConnector();
    const pool = new FtpsPool(remote(), undefined, f.connect);
    await pool.start();
    pool.prefill();
    await sleep(5);
    expect(f.made).toHaveLength(2);
    pool.prefill(); // nothing missing
    await Promise.all([pool.use(() => sleep(5)), pool.use(() => sleep(5))]);
    expect(f.made).toHaveLength(2);
  });

  it("ignores a connection that fails to open, and closes one that arrives after the pool was destroyed", async () => {
    let fail = true;
    const f = fakeConnector();
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const pool = new FtpsPool(remote(), undefined, async () => {
      if (fail) throw new Error("refused");
      await gate;
      return f.connect();
    });
    pool.prefill(); // both fail: no unhandled rejection, and the slots stay free
    await sleep(5);
    fail = false;
    pool.prefill();
    pool.destroy();
    release();
    await sleep(5);
    expect(f.made).toHaveLength(2);
    expect(f.made.every((c) => c.closed)).toBe(true);
  });
});

describe("FtpsPool.prefill(count)", () => {
  const remote4 = { name: "srv", maxConnections: 4 } as unknown as RemoteConfig;
  /** A connector whose logins finish when the test says so. */
  function gatedConnector() {
    const f = fakeConnector();
    const pending: { open: () => void; fail: () => void }[] = [];
    const connect = () =>
      new Promise<FtpsConnection>((resolve, reject) => pending.push({ open: () => resolve(f.connect()), fail: () => reject(new Error("refused")) }));
    return { made: f.made, pending, connect };
  }

  it("opens up to count, and work that finds none idle waits for the one being opened instead of opening another", async () => {
    const g = gatedConnector();
    const pool = new FtpsPool(remote4, undefined, g.connect);
    const first = pool.start();
    g.pending.shift()!.open();
    const c1 = await first;
    pool.prefill(2);
    expect(g.pending).toHaveLength(1); // one more, not three
    const busy = pool.use(() => sleep(20)); // takes the idle first connection
    const second = pool.use(async (c) => c);
    await sleep(5);
    expect(g.pending).toHaveLength(1); // waiting for the prefilled one, not opening a third
    g.pending.shift()!.open();
    expect(await second).not.toBe(c1);
    await busy;
    expect(g.made).toHaveLength(2);
  });

  it("a waiter opens its own when the prefilled connection fails", async () => {
    const g = gatedConnector();
    const pool = new FtpsPool(remote4, undefined, g.connect);
    const first = pool.start();
    g.pending.shift()!.open();
    await first;
    pool.prefill(2);
    const busy = pool.use(() => sleep(20));
    const second = pool.use(async () => "done");
    await sleep(5);
    g.pending.shift()!.fail();
    await sleep(5);
    expect(g.pending).toHaveLength(1); // the waiter's own login
    g.pending.shift()!.open();
    await expect(second).resolves.toBe("done");
    await busy;
  });
});

describe("FtpsPool idle timeout", () => {
  it("closes a connection left unused for the remote's idle timeout, and opens a new one for the next call", async () => {
    const f = fakeConnector();
    const pool = new FtpsPool({ ...remote(), idleTimeoutMs: 40 } as RemoteConfig, undefined, f.connect);
    await pool.use(async () => undefined);
    await sleep(10);
    await pool.use(async () => undefined); // used again within the timeout: the same one
    expect(f.made).toHaveLength(1);
    await sleep(100);
    expect(f.made[0].closed).toBe(true);
    expect(pool.connections).toBe(0);
    await pool.use(async () => undefined);
    expect(f.made).toHaveLength(2);
    await pool.close();
  });
});

/** WarmPools whose folders log in through a fake connector that counts logins and open connections. */
function countingPools(idleMs?: number) {
  const f = fakeConnector();
  let open = 0;
  let peak = 0;
  const connect = async (): Promise<FtpsConnection> => {
    const c = await f.connect();
    open++;
    peak = Math.max(peak, open);
    const close = c.close;
    return { ...c, close: () => (c.client.closed ? undefined : (open--, close())) } as unknown as FtpsConnection;
  };
  const pools = new WarmPools(silentLogger(), idleMs, (r, logger) => new FtpsFolder(r, logger, connect));
  return { pools, logins: () => f.made.length, peak: () => peak };
}

const use = (folder: unknown, ms: number) => (folder as FtpsFolder).pool.use(() => sleep(ms));

describe("WarmPools", () => {
  it("hands every job on one remote the same pool, so the next job's run logs in no more", async () => {
    const { pools, logins } = countingPools(1000);
    const r = remote();
    const a = pools.take("a", r);
    expect(a).toBeInstanceOf(FtpsFolder); // what runJob is given as its remote
    await use(a, 1);
    pools.release("a");
    const b = pools.take("b", r);
    expect(b).toBe(a);
    await use(b, 1);
    pools.release("b");
    expect(logins()).toBe(1);
    await pools.closeAll();
  });

  it("keeps jobs running at once on one remote within its maxConnections together", async () => {
    const { pools, logins, peak } = countingPools(1000);
    const r = remote(); // maxConnections 2
    const a = pools.take("a", r);
    const b = pools.take("b", r);
    await Promise.all([...Array(6)].map((_, i) => use(i % 2 ? a : b, 10)));
    expect(peak()).toBeLessThanOrEqual(2);
    expect(logins()).toBe(2);
    await pools.closeAll();
  });

  it("closes a remote's pool the idle timeout after its last job, not while another job still runs on it", async () => {
    const pools = new WarmPools(silentLogger(), 30);
    const r = remote();
    const a = pools.take("a", r);
    pools.take("b", r);
    pools.release("a");
    await sleep(80);
    expect(a.closed).toBe(false); // b still runs on it
    pools.release("b");
    await sleep(80);
    expect(a.closed).toBe(true);
    expect(pools.size).toBe(0);
  });

  it("gives a new pool after a reload changed the remote, and closes the old one when its last running job is done", async () => {
    const pools = new WarmPools(silentLogger(), 1000);
    const old = pools.take("a", remote());
    const fresh = pools.take("b", remote()); // a reload: a new object for the same remote
    expect(fresh).not.toBe(old);
    expect(old.closed).toBe(false); // a is still running on it
    pools.release("a");
    expect(old.closed).toBe(true);
    expect(pools.take("a", (fresh as FtpsFolder).pool.remote)).toBe(fresh);
    await pools.closeAll();
  });

  it("closes another remote's idle pool on the same server before a run, never one in use", () => {
    const pools = new WarmPools(silentLogger(), 60_000);
    const server = { name: "srv", host: "h", port: 21, maxConnections: 2 } as unknown as RemoteConfig;
    const sameServer = { name: "srv-other-user", host: "h", port: 21, maxConnections: 2 } as unknown as RemoteConfig;
    const elsewhere = { name: "other", host: "h2", port: 21, maxConnections: 2 } as unknown as RemoteConfig;
    const a = pools.take("a", server);
    pools.release("a"); // idle
    const c = pools.take("c", elsewhere);
    pools.release("c"); // idle, another server
    const running = pools.take("r", sameServer); // not released: in use
    expect(a.closed).toBe(true);
    expect(c.closed).toBe(false);
    pools.take("b", server);
    expect(running.closed).toBe(false);
    void pools.closeAll();
  });

  it("replaces a pool a hard stop destroyed", async () => {
    const pools = new WarmPools(silentLogger(), 20);
    const r = remote();
    const b = pools.take("job", r);
    b.destroy();
    pools.release("job");
    const c = pools.take("job", r);
    expect(c).not.toBe(b);
    expect(c.closed).toBe(false);
    await pools.closeAll();
    expect(c.closed).toBe(true);
  });
});
