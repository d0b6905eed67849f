import type { TLSSocket } from "node:tls";
import { beforeEach, describe, expect, it } from "vitest";
import { forgetGroups, groupsFor, learnGroup } from "../../src/protocol/key-share.js";

const socketWith = (info: object | null) => ({ getEphemeralKeyInfo: () => info }) as unknown as TLSSocket;

describe("key-exchange groups per server", () => {
  beforeEach(() => forgetGroups());

  it("offers a server's chosen group first, then the usual ones, without repeating it", () => {
    expect(learnGroup("a:21", socketWith({ type: "ECDH", name: "prime256v1", size: 256 }))).toBe(true);
    expect(groupsFor("a:21")).toBe("prime256v1:X25519:secp384r1:secp521r1");
    expect(groupsFor("b:21")).toBeUndefined();
  });

  it("changes nothing for a server that takes the default's first group, or that was learnt already", () => {
    expect(learnGroup("a:21", socketWith({ type: "ECDH", name: "X25519", size: 253 }))).toBe(false);
    expect(groupsFor("a:21")).toBeUndefined();
    learnGroup("a:21", socketWith({ type: "ECDH", name: "secp384r1", size: 384 }));
    expect(learnGroup("a:21", socketWith({ type: "ECDH", name: "secp384r1", size: 384 }))).toBe(false);
    expect(groupsFor("a:21")).toBe("secp384r1:X25519:prime256v1:secp521r1");
  });

  it("ignores what is not a named ECDH group (finite-field DH, a resumed session's empty info, odd names)", () => {
    expect(learnGroup("a:21", socketWith({ type: "DH", size: 2048 }))).toBe(false);
    expect(learnGroup("a:21", socketWith({}))).toBe(false);
    expect(learnGroup("a:21", socketWith(null))).toBe(false);
    expect(learnGroup("a:21", socketWith({ type: "ECDH", name: "P-256:evil" }))).toBe(false);
    expect(groupsFor("a:21")).toBeUndefined();
  });
});
