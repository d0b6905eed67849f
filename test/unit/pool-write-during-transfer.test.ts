// FtpsPool on a server where the next transfer is written while one runs (vsftpd, see
// ControlConnection.writeDuringTransfer): one more call per connection, so that a transfer is
// written ahead while a caller's rename waits behind the running one; back to two once the
// server's profile turns the technique off, and the failure that shows it turns it off.
import { describe, expect, it } from "vitest";
import type { RemoteConfig } from "../../src/config/types.js";
import type { Logger } from "../../src/log.js";
import type { FtpsConnection } from "../../src/protocol/connect.js";
import { FtpsPool } from "../../src/protocol/pool.js";
import { Secret } from "../../src/secret.js";

const remote: RemoteConfig = {
  name: "srv", host: "127.0.0.1", port: 21, tls: "explicit", user: "u", password: new Secret("pw-for-pool-test"),
  maxConnections: 2, timeoutMs: 1000, maxTlsVersion: "1.3",
};

/** A pool whose connections write during transfers unless the profile says otherwise. */
function poolOf(warnings: string[] = []) {
  const logger = { warn: (m: string) => void warnings.push(m), debug: () => {}, info: () => {}, isDebugEnabled: () => false } as unknown as Logger;
  const pool: FtpsPool = new FtpsPool(remote, logger, async () => {
    const client = { closed: false };
    return { client, capabilities: {}, writesDuringTransfer: () => !pool.techniques.known.writeDuringTransfer, close: () => (client.closed = true) } as unknown as FtpsConnection;
  });
  return pool;
}

describe("FtpsPool: a server that takes the next transfer written during one", () => {
  it("serves three calls per connection, two once the technique is off", async () => {
    const pool = poolOf();
    expect(pool.width).toBe(4); // nothing known before the first connection
    await pool.start();
    expect(pool.width).toBe(6);
    pool.techniques.known.writeDuringTransfer = "learnt off";
    expect(pool.width).toBe(4);
  });

  it("a call that failed because the server answered out of turn turns the technique off, with one log line, remembered", async () => {
    const warnings: string[] = [];
    const pool = poolOf(warnings);
    const remembered: string[] = [];
    pool.techniques.onTurnedOff = (technique) => void remembered.push(technique);
    await pool.start();
    // The error a control connection closes with on an out-of-turn reply (see control.ts).
    const err = await outOfTurnError();
    for (let i = 0; i < 2; i++) await expect(pool.use(async () => Promise.reject(err))).rejects.toBe(err);
    expect(remembered).toEqual(["writeDuringTransfer"]);
    expect(pool.techniques.known.writeDuringTransfer).toMatch(/not answered in turn/);
    expect(warnings.filter((w) => /nothing is written while a transfer runs/.test(w))).toHaveLength(1);
    expect(pool.width).toBe(4);
  });
});

/** A real out-of-turn error: a control connection to a one-shot server that answers 229 to STOR. */
async function outOfTurnError(): Promise<Error> {
  const net = await import("node:net");
  const { ControlConnection } = await import("../../src/protocol/engine/control.js");
  const server = net.createServer((s) => {
    s.write("220 (vsFTPd 3.0.3)\r\n");
    s.on("data", (chunk: Buffer) => {
      if (/STOR b/.test(chunk.toString())) s.write("150 Ok\r\n229 Entering Extended Passive Mode (|||5|)\r\n");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const { port } = server.address() as import("node:net").AddressInfo;
  try {
    const { control, greeting } = ControlConnection.open("127.0.0.1", port, 2000);
    await greeting;
    control.writeDuringTransfer = () => true;
    const a = control.send(["STOR a"], [{ opensTransfer: true }])[0];
    control.send(["STOR b"], [{ opensTransfer: true }]);
    return await a.then(
      () => new Error("expected a failure"),
      (e: Error) => e,
    );
  } finally {
    server.close();
  }
}
