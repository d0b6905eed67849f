// One policy for unsafe names on both sides, listings that keep a name with a line break whole,
// and names that differ only in Unicode normalisation (twins), held back on every side.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { scanLocal } from "../../src/local/scan.js";
import { withoutTwins } from "../../src/plan/name-twins.js";
import type { LocalEntry, RemoteEntry, StateEntry } from "../../src/plan/types.js";
import { parseListKeepingSplitNames } from "../../src/protocol/listing-lines.js";
import { parseListing } from "../../src/protocol/listing-parse.js";
import { escapeName, twinWarning, unsafeNameReason } from "../../src/plan/names.js";

const repo = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
const WORKER = join(repo, "dist", "local", "scan-worker.js");
const work = mkdtempSync(join(tmpdir(), "ftps-sync-names-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));
import { UNSAFE_NAMES } from "../helpers/unsafe-names.js";

const NFC = "caf\u00e9.txt";
const NFD = "cafe\u0301.txt";

describe("unsafe names", () => {
  it.each(UNSAFE_NAMES)("refuses %j (%s)", (name, why) => {
    expect(unsafeNameReason(name)).toBe(why);
  });

  it.each([["caf\u00e9"], ["\u65e5\u672c\u8a9e.txt"], ["emoji \u{1f600}.png"], ["arabic \u0627\u0644\u0639\u0631\u0628\u064a\u0629"], ["nbsp\u00a0x"]])("accepts %j", (name) => {
    expect(unsafeNameReason(name)).toBeUndefined();
  });

  it("escapes what a terminal would act on, and nothing a reader needs", () => {
    expect(escapeName("a\x1b[2Jb\x07\x7f\x9b\u202e\u2066\n\r\0\\c\u2028caf\u00e9\u{e0041}")).toBe(
      "a\\x1b[2Jb\\x07\\x7f\\x9b\\u202e\\u2066\\x0a\\x0d\\x00\\\\c\\u2028caf\u00e9\\u{e0041}",
    );
    expect(escapeName("plain name.txt")).toBe("plain name.txt");
  });
});

describe("listings with a name that holds a line break", () => {
  const mlsd = (name: string) => `type=file;size=5;modify=20240101120000; ${name}`;
  const unix = (name: string) => `-rw-r--r--    1 ftp      ftp             5 Jan 01 12:00 ${name}`;

  it("reads an ordinary listing as the line-by-line parser does", () => {
    for (const raw of [[mlsd("a.txt"), mlsd("b c.txt"), "type=dir;modify=20240101120000; sub"].join("\r\n") + "\r\n", ["total 8", unix("a.txt"), unix("b c.txt")].join("\n") + "\n"]) {
      expect(parseListKeepingSplitNames(raw)).toEqual(parseListing(raw));
    }
    expect(parseListKeepingSplitNames("")).toEqual([]);
  });

  it.each([
    ["MLSD, a bare LF in a CRLF listing", [mlsd("good.txt"), mlsd("bad\nname.txt"), mlsd("z.txt")].join("\r\n") + "\r\n", "bad\nname.txt"],
    ["MLSD, a CRLF in the name", [mlsd("good.txt"), mlsd("bad\r\nname.txt"), mlsd("z.txt")].join("\r\n") + "\r\n", "bad\r\nname.txt"],
    ["MLSD, the name is the last line", [mlsd("good.txt"), mlsd("z.txt"), mlsd("bad\r\nname.txt")].join("\r\n") + "\r\n", "bad\r\nname.txt"],
    ["MLSD, a name ending in LF", [mlsd("good.txt"), mlsd("bad\n"), mlsd("z.txt")].join("\r\n") + "\r\n", "bad\n"],
    ["MLSD, a fragment that starts with a space", [mlsd("good.txt"), mlsd("bad\r\n name.txt"), mlsd("z.txt")].join("\r\n") + "\r\n", "bad\r\n name.txt"],
    ["LIST, LF-only lines", [unix("good.txt"), unix("bad\nname.txt"), unix("z.txt")].join("\n") + "\n", "bad\nname.txt"],
    ["LIST, CRLF lines", [unix("good.txt"), unix("bad\nname.txt"), unix("z.txt")].join("\r\n") + "\r\n", "bad\nname.txt"],
  ])("%s: the name comes out whole, never cut at the break", (_what, raw, whole) => {
    const names = parseListKeepingSplitNames(raw).map((f) => f.name);
    expect(names.sort()).toEqual(["good.txt", whole, "z.txt"].sort());
    expect(unsafeNameReason(whole)).toBe("contains CR or LF");
    // what a line-by-line reading (basic-ftp's, and parseListing) makes of it: a truncated name, or no listing at all
    let before: string[] | Error;
    try {
      before = parseListing(raw).map((f) => f.name);
    } catch (err) {
      before = err as Error;
    }
    expect(before instanceof Error || !before.includes(whole)).toBe(true);
  });
});

describe("names that differ only in Unicode normalisation", () => {
  const filter = { include: [], exclude: [], skip: [] };

  it("a local scan reports both as twins, names both, and walks neither twin folder", async () => {
    const root = join(work, "twins");
    mkdirSync(join(root, "d", "caf\u00e9"), { recursive: true });
    mkdirSync(join(root, "d", "cafe\u0301"));
    writeFileSync(join(root, "d", "caf\u00e9", "in-nfc.txt"), "1");
    writeFileSync(join(root, "d", "cafe\u0301", "in-nfd.txt"), "2");
    writeFileSync(join(root, NFC), "nfc");
    writeFileSync(join(root, NFD), "nfd");
    writeFileSync(join(root, "plain.txt"), "p");
    for (const parallel of [false, true]) {
      const warned: string[] = [];
      const scan = await scanLocal(root, { filter, followSymlinks: false, parallel, logger: { warn: (m) => warned.push(m) } }, { workerFile: WORKER, waitForWorker: true });
      // one entry per twin path (for the guards: the folder is not empty), nothing below a twin folder
      expect([...scan.entries.keys()].sort()).toEqual(["caf\u00e9.txt", "d", "d/caf\u00e9", "plain.txt"]);
      expect([...(scan.twins ?? [])].sort()).toEqual(["caf\u00e9.txt", "d/caf\u00e9"]);
      expect(scan.nameProblems).toHaveLength(2);
      expect(scan.nameProblems!.join("\n")).toContain("(caf\\u00e9.txt)");
      expect(scan.nameProblems!.join("\n")).toContain("(cafe\\u0301.txt)");
      expect(warned.sort()).toEqual([...scan.nameProblems!].sort());
    }
  });

  it("the warning names both spellings, each spelled out", () => {
    const w = twinWarning("remote", "/job", NFD, NFC);
    expect(w).toBe(`two remote names in /job differ only in Unicode normalisation: "${NFD}" (cafe\\u0301.txt) and "${NFC}" (caf\\u00e9.txt); neither is synced or deleted until one of them is renamed`);
  });

  it("the diff's inputs lose the twin paths and what is below them, on every side", () => {
    const l = (path: string): [string, LocalEntry] => [path, { path, type: "file", size: 1, mtimeMs: 1 }];
    const r = (path: string): [string, RemoteEntry] => [path, { path, type: "file", size: 1, precision: "second" }];
    const s = (path: string): [string, StateEntry] => [path, { path, type: "file", localSize: 1, localMtimeMs: 1, remoteSize: 1, remotePrecision: "second", placedLocal: true, placedRemote: false }];
    const paths = [NFC, "d/x\u00e9", "d/x\u00e9/in.txt", "d/x\u00e9-not-below.txt", "other.txt"];
    const local = new Map(paths.map(l));
    const remote = { entries: new Map(paths.map(r)), complete: true, failedDirs: [] };
    const state = new Map(paths.map(s));
    const held = withoutTwins([NFC, "d/x\u00e9"], local, remote, state);
    for (const m of [held.local, held.remote.entries, held.state]) expect([...m.keys()]).toEqual(["d/x\u00e9-not-below.txt", "other.txt"]);
    expect(held.remote.complete).toBe(true);
    expect(local.size).toBe(5); // the inputs are not changed
    expect(withoutTwins([], local, remote, state).local).toBe(local);
  });
});
