// renameOver sends RNFR and RNTO together (one round trip). Against each real server: the
// rename lands, an existing target is replaced, a missing source never costs the target, and the
// connection stays in step afterwards (every reply read).
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync, chownSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FtpsConnection } from "../../src/protocol/connect.js";
import type { FtpClient } from "../../src/protocol/engine/client.js";
import { connectToServer } from "../helpers/connect-server.js";
import { renameOver } from "../../src/protocol/ops.js";
import { RenameRefused } from "../../src/remote/rename-refused.js";
import { requireServers, startServer, type RunningServer, type ServerKind } from "../servers/real-servers.js";

requireServers("vsftpd", "proftpd", "pureftpd");
const kinds: ServerKind[] = ["vsftpd", "proftpd", "pureftpd"];

describe("renameOver on real servers", { timeout: 60_000 }, () => {
  for (const kind of kinds) {
    describe(kind, () => {
      let server: RunningServer;
      let client: FtpClient;
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
        c = await connectToServer(server);
        client = c.client;
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

// ProFTPD without AllowOverwrite refuses RNTO onto an existing file (so do some Pure-FTPd setups). The old file
// must never be deleted before the new one is in place: it is renamed aside, the new one renamed
// into place, and only then is the aside copy deleted.
// A <Directory> block: the server-wide "AllowOverwrite on" of the test config would win over a second server-wide line.
const refusing: { kind: ServerKind; extraConfig: string[] }[] = [{ kind: "proftpd", extraConfig: ["<Directory />", "  AllowOverwrite off", "</Directory>"] }];

describe("renameOver on servers that refuse to rename over a file", { timeout: 60_000 }, () => {
  for (const { kind, extraConfig } of refusing) {
    describe(kind, () => {
      let server: RunningServer;
      let client: FtpClient;
      let c: FtpsConnection;
      const sent: string[] = [];
      const put = (name: string, text: string) => {
        const p = join(server.root, name);
        writeFileSync(p, text);
        const owner = statSync(server.root);
        chownSync(p, owner.uid, owner.gid);
      };
      const read = (name: string) => readFileSync(join(server.root, name), "utf8");

      beforeAll(async () => {
        server = await startServer(kind, { tls: "explicit", extraConfig });
        c = await connectToServer(server, { sent });
        client = c.client;
      });
      afterAll(async () => {
        client?.close();
        await server?.stop();
      });

      it("puts the new file in place and only then deletes the old one, leaving no temporary file", async () => {
        put("d.txt", "old D, longer");
        put("d.part", "new D");
        sent.length = 0;
        expect(await renameOver(c, "/d.part", "/d.txt", 5)).toBeUndefined();
        expect(read("d.txt")).toBe("new D");
        expect(readdirSync(server.root).filter((n) => n.startsWith(".ftps-sync.") || n === "d.part")).toEqual([]);
        // the server did refuse the plain rename (or this test proves nothing)
        expect(sent.slice(0, 2)).toEqual(["RNFR /d.part", "RNTO /d.txt"]);
        expect(sent.length).toBeGreaterThan(2);
        expect(sent).not.toContain("DELE /d.txt");
        const placed = sent.lastIndexOf("RNTO /d.txt");
        const deleted = sent.findIndex((s) => s.startsWith("DELE "));
        expect(deleted).toBeGreaterThan(placed);
        expect(await client.size("/d.txt")).toBe(5);
      });

      it("a folder where the file goes is never moved aside: the rename is refused, the folder and its file stay", async () => {
        mkdirSync(join(server.root, "g"));
        put("g/inside.txt", "partner's");
        chownSync(join(server.root, "g"), statSync(server.root).uid, statSync(server.root).gid);
        put("g.part", "new G");
        await expect(renameOver(c, "/g.part", "/g", 5)).rejects.toBeInstanceOf(RenameRefused);
        expect(read("g/inside.txt")).toBe("partner's");
        expect(readdirSync(server.root).filter((n) => n.startsWith(".ftps-sync."))).toEqual([]);
        expect(read("g.part")).toBe("new G");
      });

      it("a missing source fails and leaves the existing target alone", async () => {
        put("e.txt", "keep me");
        await expect(renameOver(c, "/no-such.part", "/e.txt", 3)).rejects.toMatchObject({ code: expect.any(Number) });
        expect(read("e.txt")).toBe("keep me");
        expect(readdirSync(server.root).filter((n) => n.startsWith(".ftps-sync."))).toEqual([]);
        expect(await client.size("/e.txt")).toBe(7);
      });
    });
  }
});

