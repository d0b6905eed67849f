import { FTPError, type Client } from "basic-ftp";
import { describe, expect, it } from "vitest";
import { isFailedListingReply, refuseFailedListings } from "../../src/protocol/listing-guard.js";

// vsftpd answers a LIST of a folder it cannot read with a positive reply and an empty listing:
// taken at its word, every file below that folder would look deleted on the server.
const VSFTPD_UNREADABLE = "226 Transfer done (but failed to open directory).";

type Reply = Error | { code: number; message: string };

/** A client whose control connection answers every command with `reply`; what the caller's handler got is recorded. */
function clientAnswering(reply: Reply) {
  const ftp = {
    handle(_command: string | undefined, handler: (res: Reply, task: unknown) => void): Promise<unknown> {
      handler(reply, {});
      return Promise.resolve();
    },
  };
  const client = { ftp } as unknown as Client;
  refuseFailedListings(client);
  return async (command: string): Promise<Reply> => {
    let got: Reply | undefined;
    await (client.ftp as unknown as typeof ftp).handle(command, (res) => (got = res));
    return got!;
  };
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

  it.each(["LIST -a /job", "MLSD /job", "NLST /job"])("turns into a 550 for %s, so the folder counts as not listed", async (command) => {
    const got = await clientAnswering({ code: 226, message: VSFTPD_UNREADABLE })(command);
    expect(got).toBeInstanceOf(FTPError);
    expect((got as FTPError).code).toBe(550);
    expect((got as FTPError).message).toContain("failed to open directory");
  });

  it("leaves other commands' replies and ordinary listings as they are", async () => {
    expect(await clientAnswering({ code: 226, message: VSFTPD_UNREADABLE })("RETR /job/a.txt")).toEqual({ code: 226, message: VSFTPD_UNREADABLE });
    expect(await clientAnswering({ code: 226, message: "226 Transfer complete." })("LIST -a /job")).toEqual({ code: 226, message: "226 Transfer complete." });
  });
});
