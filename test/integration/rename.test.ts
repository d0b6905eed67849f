// renameOver sends RNFR and RNTO together (one round trip). Against each real server: the
// rename lands, an existing target is replaced, a missing source never costs the target, and the
// connection stays in step afterwards (every reply read).
import { Client } from "basic-ftp";
import { existsSync, readFileSync, writeFileSync, chownSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FtpsConnection } from "../../src/ftps/connect.js";
import { renameOver } from "../../src/remote/ops.js";
import { serversAvailable, startServer, type RunningServer, type ServerKind } from "../servers/real-servers.js";

const avail = serversAvailable();
const kinds: ServerKind[] = ["vsftpd", "proftpd", "pureftpd"];

describe.skipIf(!(avail.vsftpd && avail.proftpd && avail.pureftpd) && !process.env.CI)("renameOver on real servers", { timeout: 60_000 }, () => {
  for (const kind of kinds) {
    describe(kind, () => {
      let server: RunningServer;
      let client: Client;
      let c: FtpsConnection;
      const put = (name: string, text: string) => {
        const p = join(server.root, name);
        writeFileSync(p, text);
        const owner = statSync(server.root);
        chownSync(p, owner.uid, owner.gid);
      };
      const read = (name: string) => readFileSync(join(server.root, name), "utf8");

      beforeAll(async () => {
        server = await startServer(kind, { tls: "explicit" });
        client = new Client(15_000);
        await client.access({
          host: server.host, port: server.port, user: server.user, password: server.password,
          secure: true, secureOptions: { ca: server.certPem, servername: "localhost" },
        });
        c = { client, close: () => client.close() } as unknown as FtpsConnection;
      });
      afterAll(async () => {
        client?.close();
        await server?.stop();
      });

      it("renames onto a new name", async () => {
        put("a.part", "new A");
        await renameOver(c, "/a.part", "/a.txt");
        expect(read("a.txt")).toBe("new A");
        expect(existsSync(join(server.root, "a.part"))).toBe(false);
        expect(await client.size("/a.txt")).toBe(5);
      });

      it("replaces an existing target", async () => {
        put("b.txt", "old B, longer");
        put("b.part", "new B");
        await renameOver(c, "/b.part", "/b.txt");
        expect(read("b.txt")).toBe("new B");
        expect(await client.size("/b.txt")).toBe(5);
      });

      it("a missing source fails and leaves the existing target alone", async () => {
        put("c.txt", "keep me");
        await expect(renameOver(c, "/no-such.part", "/c.txt")).rejects.toMatchObject({ code: expect.any(Number) });
        expect(read("c.txt")).toBe("keep me");
        // both replies were read: the next command gets its own answer
        expect(await client.size("/c.txt")).toBe(7);
      });
    });
  }
});
