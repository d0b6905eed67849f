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

describe("WarmPools", () => {
  it("hands a job the same pool from run to run, and a new one after a reload changed its remote", () => {
    const pools = new WarmPools(silentLogger(), 1000);
    const r = remote();
    const first = pools.take("job", r);
    expect(first).toBeInstanceOf(FtpsFolder); // what runJob is given as its remote
    pools.release("job");
    expect(pools.take("job", r)).toBe(first);
    pools.release("job");
    const reloaded = pools.take("job", remote());
    expect(reloaded).not.toBe(first);
    expect(first.closed).toBe(true);
    expect(pools.take("other", r)).not.toBe(reloaded); // one pool per job
    void pools.closeAll();
  });

  it("closes other jobs' idle pools on the same server before a run, never a running one", () => {
    const pools = new WarmPools(silentLogger(), 60_000);
    const server = { name: "srv", host: "h", port: 21, maxConnections: 2 } as unknown as RemoteConfig;
    const elsewhere = { name: "other", host: "h2", port: 21, maxConnections: 2 } as unknown as RemoteConfig;
    const a = pools.take("a", server);
    pools.release("a"); // idle
    const c = pools.take("c", elsewhere);
    pools.release("c"); // idle, another server
    const running = pools.take("r", server); // not released: in use
    expect(a.closed).toBe(true);
    expect(c.closed).toBe(false);
    pools.take("b", server);
    expect(running.closed).toBe(false);
    void pools.closeAll();
  });

  it("closes a pool left idle, and replaces one a hard stop destroyed", async () => {
    const pools = new WarmPools(silentLogger(), 20);
    const r = remote();
    const a = pools.take("job", r);
    pools.release("job");
    await sleep(60);
    expect(a.closed).toBe(true);
    const b = pools.take("job", r);
    expect(b).not.toBe(a);
    b.destroy();
    pools.release("job");
    const c = pools.take("job", r);
    expect(c).not.toBe(b);
    expect(c.closed).toBe(false);
    await pools.closeAll();
    expect(c.closed).toBe(true);
  });
});
