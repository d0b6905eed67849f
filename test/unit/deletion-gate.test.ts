import { describe, expect, it } from "vitest";
import { RemoteError } from "../../src/errors.js";
import { ReplyError } from "../../src/protocol/engine/reply-error.js";
import { toRemoteError } from "../../src/protocol/ftps-folder.js";
import { confinedToPath, DeletionGate, onSameBranch } from "../../src/sync/deletion-gate.js";

/** A server's reply as the sync core gets it: translated by the FTPS folder. */
const reply = (code: number) => toRemoteError(new ReplyError({ code, message: `${code} refused` }));
const fsError = (code: string) => Object.assign(new Error(`${code}: something`), { code });

describe("which failures are confined to their path", () => {
  it.each<[string, unknown, boolean]>([
    ["a refused file name (553)", reply(553), true],
    ["a file not found or not allowed (550)", reply(550), true],
    ["an unreadable local file (EACCES)", fsError("EACCES"), true],
    ["a local folder where a file should be (EISDIR)", fsError("EISDIR"), true],
    ["a temporary server failure (451) that outlived its retries", reply(451), false],
    ["a data connection that could not open (425)", reply(425), false],
    ["a full server (552)", reply(552), false],
    ["a lost login (530)", reply(530), false],
    ["a command the server does not know (500)", reply(500), false],
    ["a connection reset", fsError("ECONNRESET"), false],
    ["a connection reset, as the FTPS folder hands it over", toRemoteError(fsError("ECONNRESET")), false],
    ["a full local disk (ENOSPC)", fsError("ENOSPC"), false],
    ["a local I/O error (EIO)", fsError("EIO"), false],
    ["a timeout", new Error("Timeout (data socket)"), false],
    ["an error we do not recognise", new Error("something unexpected"), false],
    ["a size mismatch after a transfer", new RemoteError("holds 3 bytes, expected 5", { kind: "transient", phase: "operation" }), false],
    ["a refused name wrapped by the agent", new RemoteError("refused", { code: 553, kind: "path", phase: "operation" }), true],
  ])("%s: %s", (_name, err, confined) => {
    expect(confinedToPath(err)).toBe(confined);
  });
});

describe("onSameBranch", () => {
  it.each<[string, string, boolean]>([
    ["a/b.txt", "a/b.txt", true],
    ["a", "a/b/c.txt", true],
    ["a/b/c.txt", "a", true],
    ["a/b.txt", "a/c.txt", false],
    ["ab", "a", false],
    ["a/b", "a/bc", false],
  ])("%s and %s: %s", (a, b, expected) => {
    expect(onSameBranch(a, b)).toBe(expected);
  });
});

describe("the deletion gate", () => {
  it("allows every deletion when nothing failed", () => {
    expect(new DeletionGate().allows("a/b.txt")).toBe(true);
  });

  it("a path-confined failure holds back deletions at, below and above its path only", () => {
    const gate = new DeletionGate();
    gate.failed("docs/locked/new.txt", reply(553));
    expect(gate.blocksAll).toBe(false);
    expect(gate.allows("docs/locked/new.txt")).toBe(false);
    expect(gate.allows("docs/locked")).toBe(false);
    expect(gate.allows("docs")).toBe(false);
    expect(gate.allows("docs/locked/new.txt/inner")).toBe(false);
    expect(gate.allows("docs/other.txt")).toBe(true);
    expect(gate.allows("docs/locked-not.txt")).toBe(true);
    expect(gate.allows("elsewhere/old.txt")).toBe(true);
  });

  it.each<[string, unknown]>([
    ["a temporary failure", reply(421)],
    ["a connection failure", fsError("ECONNRESET")],
    ["an unknown error", new Error("bug")],
  ])("%s blocks every deletion", (_name, err) => {
    const gate = new DeletionGate();
    gate.failed("a/one.txt", err);
    expect(gate.blocksAll).toBe(true);
    expect(gate.allows("elsewhere/old.txt")).toBe(false);
  });

  it("blockAll (a listing failure, a stopped run) blocks every deletion, whatever else failed", () => {
    const gate = new DeletionGate();
    gate.failed("a/one.txt", reply(553));
    gate.blockAll();
    expect(gate.allows("b/two.txt")).toBe(false);
  });
});
