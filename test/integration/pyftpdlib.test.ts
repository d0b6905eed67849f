// pyftpdlib 1.5.7 (Debian's) starts a data connection's TLS handshake only once it has the
// transfer command, as some appliances do: a client that waits for the handshake before sending
// STOR, RETR or MLSD resets every data connection. The engine sends the command with EPSV.
import { Readable, Writable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectToServer } from "../helpers/connect-server.js";
import { startPyftpd, type PyftpdServer } from "../servers/pyftpd.js";
import { requireServers } from "../servers/real-servers.js";

requireServers("pyftpdlib");

describe.each(["explicit", "implicit"] as const)("pyftpdlib, %s TLS", (tls) => {
  let server: PyftpdServer;
  beforeAll(async () => {
    server = await startPyftpd({ tls });
  });
  afterAll(() => server?.stop());

  it("uploads, lists and downloads a file over protected data connections", async () => {
    const c = await connectToServer(server, { remote: { tls } });
    try {
      await c.client.upload(Readable.from([Buffer.from("hello pyftpdlib")]), "/a.txt", false);
      const listing = await c.client.list("/", c.listCommand);
      expect(listing).toMatch(/size=15;type=file;.* a\.txt/);
      const chunks: Buffer[] = [];
      await c.client.download(new Writable({ write: (chunk: Buffer, _e, done) => (chunks.push(chunk), done()) }), "/a.txt", 0);
      expect(Buffer.concat(chunks).toString()).toBe("hello pyftpdlib");
    } finally {
      c.close();
    }
    // every data connection was TLS: the server refuses clear ones (tls_data_required)
    expect(await server.log()).toMatch(/STOR .*a\.txt completed=1 bytes=15/);
  });
});
