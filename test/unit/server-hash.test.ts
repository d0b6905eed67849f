import { describe, expect, it } from "vitest";
import { parseCapabilities } from "../../src/remote/capabilities.js";
import type { FtpsConnection } from "../../src/protocol/connect.js";
import { ReplyError } from "../../src/protocol/engine/reply-error.js";
import { chooseHashMethod, parseHashReply, parseXHashReply, serverHash } from "../../src/protocol/server-hash.js";

const SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const MD5 = "098f6bcd4621d373cade4e832627b4f6";
const SHA1 = "a94a8fe5ccb19ba61c4c0873d391e987982fbbd3";

const caps = (feat: [string, string][]) => parseCapabilities(new Map(feat));

describe("which hash a server offers", () => {
  it("records the X-commands FEAT lists, each a feature of its own (ProFTPD mod_digest, Serv-U)", () => {
    const c = caps([["XCRC", ""], ["XMD5", ""], ["XSHA", ""], ["XSHA1", ""], ["XSHA256", ""], ["MDTM", ""]]);
    expect(c.hashCommands).toEqual(["XSHA256", "XSHA1", "XSHA", "XMD5"]);
    expect(c.hash).toEqual([]);
  });

  it("prefers HASH for the same algorithm", () => {
    expect(chooseHashMethod(caps([["HASH", "SHA-256*;MD5"], ["XSHA256", ""]]))).toMatchObject({ command: "HASH", algorithm: "SHA-256" });
  });

  it("prefers the stronger algorithm: XSHA256 over HASH offering only MD5", () => {
    expect(chooseHashMethod(caps([["HASH", "MD5;CRC32"], ["XSHA256", ""]]))).toMatchObject({ command: "XSHA256", algorithm: "SHA-256", nodeName: "sha256" });
  });

  const cases: { feat: [string, string][]; best: { command: string; algorithm: string } }[] = [
    { feat: [["XMD5", ""]], best: { command: "XMD5", algorithm: "MD5" } },
    { feat: [["XSHA", ""], ["XMD5", ""]], best: { command: "XSHA", algorithm: "SHA-1" } },
    { feat: [["XSHA1", ""], ["XSHA", ""]], best: { command: "XSHA1", algorithm: "SHA-1" } },
    { feat: [["XSHA512", ""], ["XSHA1", ""]], best: { command: "XSHA512", algorithm: "SHA-512" } },
    { feat: [["HASH", "CRC32"], ["XMD5", ""]], best: { command: "XMD5", algorithm: "MD5" } },
  ];
  it.each(cases)("picks $best.command from $feat", ({ feat, best }) => {
    expect(chooseHashMethod(caps(feat))).toMatchObject(best);
  });

  it("is none for a server with only CRC (XCRC, HASH CRC32) or nothing", () => {
    expect(chooseHashMethod(caps([["XCRC", ""], ["HASH", "CRC32"]]))).toBeUndefined();
    expect(chooseHashMethod(caps([]))).toBeUndefined();
    expect(chooseHashMethod(undefined)).toBeUndefined();
  });
});

describe("X-command replies", () => {
  it.each([
    ["250 hex", `250 ${SHA256}`],
    ["213 hex", `213 ${SHA256}`],
    ["ProFTPD's two lines, upper case", `250-Computing SHA256 digest\r\n250 ${SHA256.toUpperCase()}`],
    ["the name appended", `250 ${SHA256} /job/a.txt`],
    ["the name first", `250 /job/a.txt ${SHA256}`],
    ["the algorithm named", `213 SHA256 ${SHA256}`],
  ])("takes the hash from %s", (_name, reply) => {
    expect(parseXHashReply(reply, "SHA-256", "/job/a.txt")).toBe(SHA256);
  });

  it.each([
    ["a hash of another length (MD5 for SHA-256)", `250 ${MD5}`],
    ["a hex string one digit short", `250 ${SHA256.slice(1)}`],
    ["not hex", `250 ${"g".repeat(64)}`],
    ["an error reply", `550 ${SHA256}`],
    ["no hash at all", "250 Computing..."],
    ["an empty reply", ""],
  ])("takes nothing from %s", (_name, reply) => {
    expect(parseXHashReply(reply, "SHA-256", "/job/a.txt")).toBeUndefined();
  });

  it("does not take the file's own name for its hash, when the name looks like one", () => {
    expect(parseXHashReply(`250 ${MD5} ${SHA1}`, "MD5", `/job/${MD5}`)).toBeUndefined();
    expect(parseXHashReply(`250 ${SHA256} ${MD5}`, "MD5", `/job/${SHA256}`)).toBe(MD5);
  });
});

describe("HASH replies", () => {
  it("takes the hash of the algorithm asked for, from the last line", () => {
    expect(parseHashReply(`213-Computing SHA-256 digest\r\n213 SHA-256 0-4 ${SHA256} /job/a b.txt`, "SHA-256")).toBe(SHA256);
  });
  it.each([
    ["another algorithm", `213 MD5 0-4 ${MD5} a.txt`],
    ["a range not from the start", `213 SHA-256 2-4 ${SHA256} a.txt`],
    ["a hash of the wrong length", `213 SHA-256 0-4 ${MD5} a.txt`],
    ["an error", `550 a.txt: No such file`],
  ])("takes nothing from %s", (_name, reply) => {
    expect(parseHashReply(reply, "SHA-256")).toBeUndefined();
  });
});

/** A connection whose replies come from `answer`; every command is recorded. */
function fakeConnection(feat: [string, string][], answer: (cmd: string) => { code: number; message: string }) {
  const sent: string[] = [];
  const c = {
    capabilities: caps(feat),
    client: {
      sendIgnoringError: async (cmd: string) => {
        sent.push(cmd);
        return answer(cmd);
      },
    },
  } as unknown as FtpsConnection;
  return { c, sent };
}

describe("asking the server", () => {
  it("sends the X-command with the path and returns the algorithm and hash", async () => {
    const { c, sent } = fakeConnection([["XSHA256", ""], ["XMD5", ""]], () => ({ code: 250, message: `250 ${SHA256}` }));
    expect(await serverHash(c, "/job/a.txt")).toEqual({ algorithm: "SHA-256", hex: SHA256, command: "XSHA256" });
    expect(sent).toEqual(["XSHA256 /job/a.txt"]);
  });

  it("quotes a path with spaces, which servers would otherwise read as a byte range", async () => {
    const { c, sent } = fakeConnection([["XMD5", ""]], () => ({ code: 250, message: `250 ${MD5}` }));
    expect(await serverHash(c, "/job/a 0 10")).toMatchObject({ hex: MD5 });
    expect(sent).toEqual(['XMD5 "/job/a 0 10"']);
  });

  it("does not ask for a path with both a space and a quote (no unambiguous way to send it)", async () => {
    const { c, sent } = fakeConnection([["XMD5", ""]], () => ({ code: 250, message: `250 ${MD5}` }));
    expect(await serverHash(c, '/job/say "hi" there')).toBeUndefined();
    expect(sent).toEqual([]);
  });

  it("a refusal (5xx) is no answer; a busy server (4xx) is an error to retry", async () => {
    const refused = fakeConnection([["XSHA256", ""]], () => ({ code: 550, message: "550 /job/a.txt: Operation not permitted" }));
    expect(await serverHash(refused.c, "/job/a.txt")).toBeUndefined();
    const busy = fakeConnection([["XSHA256", ""]], () => ({ code: 450, message: "450 busy" }));
    await expect(serverHash(busy.c, "/job/a.txt")).rejects.toBeInstanceOf(ReplyError);
  });

  it("uses HASH after choosing its algorithm, when offered", async () => {
    const { c, sent } = fakeConnection([["HASH", "SHA-1;MD5"], ["XMD5", ""]], (cmd) =>
      cmd.startsWith("OPTS") ? { code: 200, message: "200 SHA-1" } : { code: 213, message: `213 SHA-1 0-4 ${SHA1} /job/a.txt` },
    );
    expect(await serverHash(c, "/job/a.txt")).toEqual({ algorithm: "SHA-1", hex: SHA1, command: "HASH" });
    expect(sent).toEqual(["OPTS HASH SHA-1", "HASH /job/a.txt"]);
  });

  it("a server that offers nothing is not asked", async () => {
    const { c, sent } = fakeConnection([["MDTM", ""]], () => ({ code: 250, message: `250 ${SHA256}` }));
    expect(await serverHash(c, "/job/a.txt")).toBeUndefined();
    expect(sent).toEqual([]);
  });
});
