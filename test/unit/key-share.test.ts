import type { TLSSocket } from "node:tls";
import { beforeEach, describe, expect, it } from "vitest";
import { forgetGroups, groupsFor, learnGroup, withKnownGroup } from "../../src/protocol/key-share.js";

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

describe("a login with what the server's profile knows of its group", () => {
  beforeEach(() => forgetGroups());

  const chose = (name: string) => socketWith({ type: "ECDH", name, size: 256 });

  it("offers the profile's group first during the login, and saves nothing when the server chose it again", async () => {
    const saved: string[] = [];
    const knowledge = { known: "prime256v1", onLearnt: (g: string) => saved.push(g) };
    const offered = await withKnownGroup("a:21", knowledge, async () => {
      const groups = groupsFor("a:21"); // what the handshake offers
      learnGroup("a:21", chose("prime256v1"));
      return groups;
    });
    expect(offered).toBe("prime256v1:X25519:secp384r1:secp521r1");
    expect(saved).toEqual([]);
    expect(knowledge.known).toBe("prime256v1");
  });

  it("saves the group a login learnt, once, and keeps it as known so that the next login saves nothing", async () => {
    const saved: string[] = [];
    const knowledge: { known?: string; onLearnt: (g: string) => void } = { onLearnt: (g) => saved.push(g) };
    await withKnownGroup("a:21", knowledge, async () => learnGroup("a:21", chose("secp384r1")));
    expect(saved).toEqual(["secp384r1"]);
    expect(knowledge.known).toBe("secp384r1");
    await withKnownGroup("a:21", knowledge, async () => learnGroup("a:21", chose("secp384r1")));
    expect(saved).toEqual(["secp384r1"]);
  });

  it("saves the server's new choice when it differs from the profile's", async () => {
    const saved: string[] = [];
    // learnt in this process already (another job's login), the profile still has the old one
    learnGroup("a:21", chose("secp521r1"));
    await withKnownGroup("a:21", { known: "prime256v1", onLearnt: (g) => saved.push(g) }, async () => undefined);
    expect(saved).toEqual(["secp521r1"]);
  });

  it("saves nothing when the login fails, and passes its error on", async () => {
    const saved: string[] = [];
    const login = withKnownGroup("a:21", { onLearnt: (g) => saved.push(g) }, async () => {
      throw new Error("530 Login incorrect");
    });
    await expect(login).rejects.toThrow("530 Login incorrect");
    expect(saved).toEqual([]);
  });
});
