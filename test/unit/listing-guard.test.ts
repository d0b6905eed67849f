import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { FtpClient } from "../../src/protocol/engine/client.js";
import { ReplyError } from "../../src/protocol/engine/reply-error.js";
import { isFailedListingReply } from "../../src/protocol/listing-guard.js";
import { connected, failure, scriptedCertificate, scriptedServer, verbOf } from "./scripted-control.js";

// vsftpd answers a LIST of a folder it cannot read with a positive reply and an empty listing:
// taken at its word, every file below that folder would look deleted on the server.
const VSFTPD_UNREADABLE = "226 Transfer done (but failed to open directory).";

const { cert, clientTls } = scriptedCertificate();

/**
 * A client whose server sends a listing (and a file for RETR) over a TLS data connection, then
 * `final` as the transfer's final reply; what `FtpClient.list` and `download` make of it.
 */
async function clientEnding(final: string): Promise<FtpClient> {
  const server = await scriptedServer(cert(), async (line, s) => {
    if (verbOf(line) === "EPSV") return s.epsv();
    return s.data.transfer((d) => new Promise<void>((r) => d.end("-rw-r--r-- 1 ftp ftp 5 Jan 01 12:00 a.txt\r\n", () => r())), 5_000, final);
  });
  return new FtpClient(await connected(server, clientTls()), { options: clientTls() }, 1024 * 1024);
}

describe("a listing whose positive reply says it failed", () => {
  it.each([
    [226, VSFTPD_UNREADABLE],
    [226, "226 Directory send failed."],
    [250, "250 Permission denied"],
    [226, "226-Options: -a\r\n226 cannot open directory"],
  ])("is recognised: %i %s", (code, message) => {
    expect(isFailedListingReply(code, message)).toBe(true);
  });

  it.each([
    [226, "226 Transfer complete."],
    [226, "226 Directory send OK."],
    [250, "250 End"],
    [550, "550 Failed to open directory."],
  ])("is not seen in an ordinary reply, nor in a negative one (already an error): %i %s", (code, message) => {
    expect(isFailedListingReply(code, message)).toBe(false);
  });

  it.each(["LIST -a", "MLSD", "NLST"])("FtpClient.list turns it into a 550 for %s, so the folder counts as not listed", async (command) => {
    const client = await clientEnding(VSFTPD_UNREADABLE);
    const got = await failure(client.list("/job", command));
    expect(got).toBeInstanceOf(ReplyError);
    expect((got as ReplyError).code).toBe(550);
    expect((got as ReplyError).message).toContain("failed to open directory");
    client.close();
  });

  it("leaves other commands' replies and ordinary listings as they are", async () => {
    const client = await clientEnding(VSFTPD_UNREADABLE);
    const sink = new Writable({ write: (_c, _e, next) => next() });
    expect(await client.download(sink, "/job/a.txt")).toEqual({ code: 226, message: VSFTPD_UNREADABLE });
    client.close();
    const ordinary = await clientEnding("226 Transfer complete.");
    expect(await ordinary.list("/job", "LIST -a")).toBe("-rw-r--r-- 1 ftp ftp 5 Jan 01 12:00 a.txt\r\n");
    ordinary.close();
  });
});
