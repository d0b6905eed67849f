// Downloads verified before they are published, in the fast tier: after the last byte the size and
// exact time are read again, and a file that changed during its transfer, or that arrived short of
// the size the listing announced, is discarded instead of renamed into place. Against the scripted
// hostile server on loopback (no root, no real server).
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeWorkspace } from "../helpers/workspace.js";
import { generateCert, type GeneratedCert } from "../servers/certs.js";
import { startHostileServer, type HostileOptions } from "../servers/hostile-ftps.js";
import { testTempDir } from "../helpers/temp-dir.js";

const V1 = "version one, as listed";
const V2 = "VERSION TWO, rewritten";
const listing = (modify: string, size = V1.length) => `type=file;size=${size};modify=${modify}; doc.txt\r\n`;

describe("a download is published only once it is proven to be the version listed, whole", () => {
  let cert: GeneratedCert;
  const cleanups: (() => Promise<void> | void)[] = [];
  beforeAll(async () => {
    expect(V1.length).toBe(V2.length);
    cert = await generateCert(testTempDir("verified-certs"), { name: "verified" });
  });
  afterAll(async () => {
    for (const c of cleanups) await c();
  });

  const setup = async (opts: Omit<HostileOptions, "cert" | "key">) => {
    const s = await startHostileServer({ cert: cert.certPem, key: cert.keyPem, ...opts });
    const ws = makeWorkspace({ host: "127.0.0.1", port: s.port, user: "alice", password: "verified-pw-5Tn" }, { fingerprint: cert.fingerprint, timeoutSeconds: 5 });
    cleanups.push(() => ws.cleanup(), () => s.stop());
    const local = ws.folder("local");
    ws.writeJob("job", { remote: "srv", remotePath: "/job", local, direction: "download", retries: { attempts: 2, initialDelay: "50ms", maxDelay: "100ms" } });
    return { s, ws, local };
  };

  it("a file rewritten on the server during its download (same size, new time) is discarded, and the next run fetches the new version", async () => {
    const { ws, local } = await setup({
      listings: { "/job": listing("20240101120000") },
      files: { "/job/doc.txt": V1 },
      rewriteDuringRetr: { "/job/doc.txt": { content: V2, listing: listing("20240101120500") } },
    });
    const first = await ws.cli(["sync", "job"]);
    expect(first.stdout + first.stderr).toContain("changed on the server while it was being downloaded");
    // Nothing under the real name, and no temporary file left behind.
    expect(readdirSync(local)).toEqual([]);

    const second = await ws.cli(["sync", "job"]);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    expect(readFileSync(join(local, "doc.txt"), "utf8")).toBe(V2);
  });

  it("a download that ends short of the listed size (226 after half the bytes) is not published, and nothing is left of it", async () => {
    const { ws, local } = await setup({ listings: { "/job": listing("20240101120000") }, files: { "/job/doc.txt": V1 }, truncateRetr: ["/job/doc.txt"] });
    const r = await ws.cli(["sync", "job"]);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout + r.stderr).toContain(`received ${Math.floor(V1.length / 2)} bytes, the listing said ${V1.length}`);
    expect(existsSync(join(local, "doc.txt"))).toBe(false);
    expect(readdirSync(local)).toEqual([]);
  });

  it("a download over an existing file that fails half-way leaves the existing file as it was (the bytes go to a temporary name)", async () => {
    const { ws, local } = await setup({ listings: { "/job": listing("20240101120000") }, files: { "/job/doc.txt": V1 }, truncateRetr: ["/job/doc.txt"] });
    writeFileSync(join(local, "doc.txt"), "the local version, kept");
    const r = await ws.cli(["sync", "job"]);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(readdirSync(local)).toEqual(["doc.txt"]);
    expect(readFileSync(join(local, "doc.txt"), "utf8")).toBe("the local version, kept");
  });
});
