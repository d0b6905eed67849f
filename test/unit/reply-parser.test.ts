// The control connection's bytes cut into replies (src/protocol/engine/reply-parser.ts).
import { describe, expect, it } from "vitest";
import { MAX_REPLY_BYTES, ReplyParser, ReplyTooLong, type Reply } from "../../src/protocol/engine/reply-parser.js";

/** Every reply the parser completes from `chunks`, pushed in order. */
function parse(chunks: (Buffer | string)[], parser = new ReplyParser()): Reply[] {
  return chunks.flatMap((c) => parser.push(c));
}

describe("ReplyParser: single-line and multi-line replies", () => {
  it("reads a single-line reply, its code and its whole text", () => {
    expect(parse(["220 Service ready\r\n"])).toEqual([{ code: 220, message: "220 Service ready" }]);
  });

  it("reads a code alone as a reply", () => {
    expect(parse(["200\r\n"])).toEqual([{ code: 200, message: "200" }]);
  });

  it("reads a multi-line reply as one, its lines joined by a line feed", () => {
    const feat = "211-Features:\r\n MDTM\r\n SIZE\r\n211 End\r\n";
    expect(parse([feat])).toEqual([{ code: 211, message: "211-Features:\n MDTM\n SIZE\n211 End" }]);
  });

  it("reads lines ended by LF alone as those ended by CRLF", () => {
    expect(parse(["211-Features:\n MDTM\n211 End\n200 ok\n"])).toEqual([
      { code: 211, message: "211-Features:\n MDTM\n211 End" },
      { code: 200, message: "200 ok" },
    ]);
  });

  it("keeps inside a multi-line reply the lines that start with another code, or with its own code and a dash", () => {
    const stat = "213-Status of /job:\r\n150 looks like a code\r\n200 so does this\r\n213-still inside\r\n 213 indented\r\n213 End of status\r\n";
    expect(parse([stat])).toEqual([
      { code: 213, message: "213-Status of /job:\n150 looks like a code\n200 so does this\n213-still inside\n 213 indented\n213 End of status" },
    ]);
  });

  it("ends a multi-line reply at its code alone on a line", () => {
    expect(parse(["230-Welcome\r\n230\r\n"])).toEqual([{ code: 230, message: "230-Welcome\n230" }]);
  });

  it("returns several replies that arrive in one chunk, in order", () => {
    expect(parse(["331 Password required\r\n230-Hi\r\n230 Logged in\r\n200 Type set\r\n"]).map((r) => r.code)).toEqual([331, 230, 200]);
  });

  it("skips blank lines and stray lines outside a reply", () => {
    const noisy = "\r\n\r\nwelcome banner without a code\r\n   \r\n1234 not a code\r\n200 ok\r\n\n";
    expect(parse([noisy])).toEqual([{ code: 200, message: "200 ok" }]);
  });

  it("keeps the blank lines inside a multi-line reply out of its text", () => {
    expect(parse(["211-a\r\n\r\n b\r\n211 End\r\n"])).toEqual([{ code: 211, message: "211-a\n b\n211 End" }]);
  });
});

describe("ReplyParser: replies split across chunks", () => {
  const text = '257-"/Müller/日本" created\r\n ünïcödé line\r\n257 done ✓\r\n226 Übertragung abgeschlossen\r\n';
  const bytes = Buffer.from(text, "utf8");
  const whole = parse([bytes]);

  it("reads the same replies whole", () => {
    expect(whole).toEqual([
      { code: 257, message: '257-"/Müller/日本" created\n ünïcödé line\n257 done ✓' },
      { code: 226, message: "226 Übertragung abgeschlossen" },
    ]);
  });

  it("reads the same replies split in two at every byte, inside a UTF-8 character and between CR and LF included", () => {
    for (let i = 1; i < bytes.length; i++) {
      expect(parse([bytes.subarray(0, i), bytes.subarray(i)]), `split at byte ${i}`).toEqual(whole);
    }
  });

  it("reads the same replies a byte at a time", () => {
    const parser = new ReplyParser();
    const got: Reply[] = [];
    for (let i = 0; i < bytes.length; i++) got.push(...parser.push(bytes.subarray(i, i + 1)));
    expect(got).toEqual(whole);
    expect(parser.pending).toBe(false);
  });

  it("completes nothing until a reply's last line ends, and says bytes are pending meanwhile", () => {
    const parser = new ReplyParser();
    expect(parser.push("211-Features:\r\n MDTM\r\n211 En")).toEqual([]);
    expect(parser.pending).toBe(true);
    expect(parser.push("d\r\n")).toEqual([{ code: 211, message: "211-Features:\n MDTM\n211 End" }]);
    expect(parser.pending).toBe(false);
  });
});

describe("ReplyParser: a reply too long", () => {
  it("refuses a line longer than 64 KiB that never ends", () => {
    const parser = new ReplyParser();
    expect(() => parser.push("200 " + "x".repeat(MAX_REPLY_BYTES))).toThrow(ReplyTooLong);
  });

  it("refuses a multi-line reply longer than 64 KiB, whether it comes in one chunk or in many", () => {
    const line = " " + "y".repeat(999) + "\r\n";
    expect(() => new ReplyParser().push("213-Status\r\n" + line.repeat(70))).toThrow(ReplyTooLong);
    const parser = new ReplyParser();
    expect(() => {
      parser.push("213-Status\r\n");
      for (let i = 0; i < 70; i++) parser.push(line);
    }).toThrow(/longer than 64 KiB/);
  });

  it("accepts replies up to the limit, one after another", () => {
    const line = " " + "z".repeat(99) + "\r\n";
    const big = "213-Status\r\n" + line.repeat(600) + "213 End\r\n"; // about 60 KiB
    expect(parse([big, big]).map((r) => r.code)).toEqual([213, 213]);
  });

  it("does not count a finished reply against the next one that starts in the same chunk", () => {
    // About 59 KiB of a multi-line reply, then in one chunk its end and 10 KiB of the next reply:
    // each under 64 KiB, together over it.
    const parser = new ReplyParser();
    const line = " " + "a".repeat(99) + "\r\n";
    expect(parser.push("213-Status\r\n" + line.repeat(590))).toEqual([]);
    expect(parser.push("213 End\r\n200 " + "b".repeat(10_000)).map((r) => r.code)).toEqual([213]);
    expect(parser.push("\r\n")).toEqual([{ code: 200, message: "200 " + "b".repeat(10_000) }]);
  });
});
