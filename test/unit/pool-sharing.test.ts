// FtpsPool shares each connection between two calls at once (their commands queue on it in
// order): at its limit, a call shares a busy connection instead of waiting; a connection whose
// call failed is handed out no more and closed once its other caller is done; a server known to
// drop commands sent ahead gets one call per connection.
import { describe, expect, it } from "vitest";
import type { RemoteConfig } from "../../src/config/types.js";
import type { FtpsConnection } from "../../src/protocol/connect.js";
import { FtpsPool } from "../../src/protocol/pool.js";
import { Secret } from "../../src/secret.js";

const remote: RemoteConfig = {
  name: "srv", host: "127.0.0.1", port: 21, tls: "explicit", user: "u", password: new Secret("pw-for-pool-test"),
  maxConnections: 1, timeoutMs: 1000, maxTlsVersion: "1.3",
};

function poolOf(maxConnections = 1) {
  const made: { id: number; closed: boolean }[] = [];
  const pool = new FtpsPool({ ...remote, maxConnections }, undefined, async () => {
    const client = { id: made.length, closed: false };
    made.push(client);
    return { client, capabilities: {}, close: () => (client.closed = true) } as unknown as FtpsConnection;
  });
  return { pool, made };
}

/** A call that holds its connection until `release` is called; `got` names the connection. */
function held(pool: FtpsPool, fail = false) {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  let got: number | undefined;
  const done = pool.use(async (c) => {
    got = (c.client as unknown as { id: number }).id;
    await gate;
    if (fail) throw new Error("this call failed");
  });
  return { release, done, got: () => got };
}

const tick = () => new Promise((r) => setTimeout(r, 5));

describe("FtpsPool: two calls per connection", () => {
  it("at its limit, a second call shares the busy connection at once; a third waits for one of them", async () => {
    const { pool, made } = poolOf(1);
    expect(pool.width).toBe(2);
    const a = held(pool);
    await tick();
    const b = held(pool);
    await tick();
    expect([a.got(), b.got()]).toEqual([0, 0]);
    const c = held(pool);
    await tick();
    expect(c.got()).toBeUndefined();
    a.release();
    await a.done;
    await tick();
    expect(c.got()).toBe(0);
    b.release();
    c.release();
    await Promise.all([b.done, c.done]);
    expect(made).toHaveLength(1);
  });

  it("opens another connection before sharing one, up to maxConnections", async () => {
    const { pool, made } = poolOf(2);
    const a = held(pool);
    await tick();
    const b = held(pool);
    await tick();
    expect([a.got(), b.got()]).toEqual([0, 1]);
    a.release();
    b.release();
    await Promise.all([a.done, b.done]);
    expect(made).toHaveLength(2);
  });

  it("a connection whose call failed is not handed out again, and is closed once its other caller is done", async () => {
    const { pool, made } = poolOf(1);
    const failing = held(pool, true);
    await tick();
    const other = held(pool);
    await tick();
    failing.release();
    await expect(failing.done).rejects.toThrow("this call failed");
    expect(made[0].closed).toBe(false); // still in use by the other call
    const next = held(pool);
    await tick();
    expect(next.got()).toBeUndefined(); // not the retiring connection; the slot frees when it closes
    other.release();
    await other.done;
    await tick();
    expect(made[0].closed).toBe(true);
    expect(next.got()).toBe(1);
    next.release();
    await next.done;
  });

  it("gives a server known to drop commands sent ahead one call per connection", async () => {
    const { pool } = poolOf(1);
    pool.techniques.known.pipelining = "no reply to a command sent together with another";
    expect(pool.width).toBe(1);
    const a = held(pool);
    await tick();
    const b = held(pool);
    await tick();
    expect(b.got()).toBeUndefined();
    a.release();
    await a.done;
    await tick();
    expect(b.got()).toBe(0);
    b.release();
    await b.done;
  });
});
