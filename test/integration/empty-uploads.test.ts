// An empty file is uploaded as a data connection that carries no byte: it must still end
// cleanly on every server. Ended before its TLS handshake was done, it was refused (ProFTPD's
// "decode error" alert, vsftpd's and Pure-FTPd's cut connections) most of the time.
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { emptyUploadSource } from "../../src/protocol/ops.js";
import { requireServers, startServer, type RunningServer, type ServerKind } from "../servers/real-servers.js";
import { connectToServer } from "../helpers/connect-server.js";
import { readFileSync } from "node:fs";
import { join } from "node:path";

requireServers("vsftpd", "proftpd", "pureftpd");

describe.each(["vsftpd", "proftpd", "pureftpd"] as ServerKind[])("empty uploads to %s", (kind) => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await startServer(kind, { tls: "explicit" });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("lands every time, from a stream that ends at once and from the agent's own empty source", async () => {
    const c = await connectToServer(server);
    try {
      for (let i = 0; i < 6; i++) {
        await c.client.upload(Readable.from([Buffer.alloc(0)]), `/at-once-${i}.txt`);
        await c.client.upload(emptyUploadSource(), `/delayed-${i}.txt`);
        expect(readFileSync(join(server.root, `at-once-${i}.txt`)).length).toBe(0);
      }
      expect(c.client.closed).toBe(false);
    } finally {
      c.close();
    }
  });
});
