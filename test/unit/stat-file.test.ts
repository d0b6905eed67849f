import { describe, expect, it } from "vitest";
import { ReplyError } from "../../src/protocol/engine/reply-error.js";
import type { FtpsConnection } from "../../src/protocol/connect.js";
import { sameRemoteVersion, statRemoteFile, type RemoteFileNow } from "../../src/protocol/stat-file.js";

const file = (size: number, modifyMs: number | undefined, precision: RemoteFileNow["precision"]): RemoteFileNow => ({ type: "file", size, modifyMs, precision });
const T = Date.UTC(2026, 11, 5, 14, 31, 0);

describe("sameRemoteVersion: is the server's file still the version the plan saw?", () => {
  it("absent then and now is the same; appearing or vanishing is not", () => {
    expect(sameRemoteVersion(undefined, undefined)).toBe(true);
    expect(sameRemoteVersion(undefined, file(1, T, "second"))).toBe(false);
    expect(sameRemoteVersion(file(1, T, "second"), undefined)).toBe(false);
  });

  it("a different size or type is another version", () => {
    expect(sameRemoteVersion(file(1, T, "second"), file(2, T, "second"))).toBe(false);
    expect(sameRemoteVersion(file(0, T, "second"), { type: "dir", size: 0, modifyMs: T, precision: "second" })).toBe(false);
  });

  it("times in the same precision must be equal, even at day precision (no day of tolerance)", () => {
    expect(sameRemoteVersion(file(1, T, "second"), file(1, T, "second"))).toBe(true);
    expect(sameRemoteVersion(file(1, T, "second"), file(1, T + 1000, "second"))).toBe(false);
    expect(sameRemoteVersion(file(1, T, "day"), file(1, T + 86_400_000, "day"))).toBe(false);
  });

  it("times in different precisions agree as far as the coarser one tells", () => {
    expect(sameRemoteVersion(file(1, T + 41_000, "second"), file(1, T, "minute"))).toBe(true);
    expect(sameRemoteVersion(file(1, T + 61_000, "second"), file(1, T, "minute"))).toBe(false);
  });

  it("without a time on one side the size is the only evidence", () => {
    expect(sameRemoteVersion(file(5, undefined, "none"), file(5, T, "minute"))).toBe(true);
    expect(sameRemoteVersion(file(5, undefined, "pending"), file(6, T, "minute"))).toBe(false);
  });
});

describe("statRemoteFile: only a 550 means the file is not there", () => {
  const T0 = "Dec 05 14:31";
  /**
   * A connection whose replies come from `answer` (verb -> [code, message]) and whose LIST gives
   * `lines`, as text the way FtpClient.list returns it (the code under test parses it).
   */
  const fake = (mlsd: boolean, answer: Record<string, [number, string]>, lines: string[] | number) =>
    ({
      capabilities: { mlsd },
      client: {
        sendIgnoringError: async (command: string) => {
          const [code, message] = answer[command.split(" ")[0]] ?? [502, "502 Command not implemented"];
          return { code, message };
        },
        list: async () => {
          if (typeof lines === "number") throw new ReplyError({ code: lines, message: `${lines} No such file` });
          return lines.join("\n");
        },
      },
    }) as unknown as FtpsConnection;
  const line = `-rw-r--r-- 1 ftp ftp 42 ${T0} p.txt`;

  it("an MLSD server that refuses MLST (502) is asked with a LIST line, not taken as missing", async () => {
    const now = await statRemoteFile(fake(true, {}, [line]), "/job/p.txt");
    expect(now).toMatchObject({ type: "file", size: 42, precision: "minute" });
  });

  it("550 to MLST, or to LIST, is a file that is not there", async () => {
    expect(await statRemoteFile(fake(true, { MLST: [550, "550 No such file"] }, [line]), "/job/p.txt")).toBeUndefined();
    expect(await statRemoteFile(fake(false, {}, 550), "/job/p.txt")).toBeUndefined();
  });

  it("a transient reply to MLST is an error to retry, never an answer", async () => {
    await expect(statRemoteFile(fake(true, { MLST: [421, "421 Timeout"] }, [line]), "/job/p.txt")).rejects.toMatchObject({ code: 421, errorClass: "transient" });
  });

  it("MLST facts give the exact time", async () => {
    const reply = "250-Listing /job/p.txt\r\n type=file;size=42;modify=20261205143107; /job/p.txt\r\n250 End";
    const now = await statRemoteFile(fake(true, { MLST: [250, reply] }, []), "/job/p.txt");
    expect(now).toEqual({ type: "file", size: 42, modifyMs: Date.UTC(2026, 11, 5, 14, 31, 7), precision: "second" });
  });
});
