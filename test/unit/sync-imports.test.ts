import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";

const SRC = join(import.meta.dirname, "../../src");

/** Every module specifier a file imports or re-exports, static or dynamic. */
function specifiers(source: string): string[] {
  const found: string[] = [];
  for (const m of source.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["']([^"']+)["']/g)) found.push(m[1]);
  return found;
}

/** `file: specifier` for every import under `folder` (relative to src/) that matches one of `forbidden`. */
function offending(folder: string, forbidden: RegExp[], skip = (_f: string) => false): string[] {
  const root = join(SRC, folder);
  const files = readdirSync(root, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts") && !skip(f));
  expect(files.length).toBeGreaterThan(2);
  return files.flatMap((f) =>
    specifiers(readFileSync(join(root, f), "utf8"))
      .filter((s) => forbidden.some((re) => re.test(s)))
      .map((s) => `${relative(SRC, join(root, f))}: ${s}`),
  );
}

/** FTP client libraries of npm: the project speaks FTP with its own engine only. */
const PROTOCOL_LIBRARY = /^(basic-ftp|ftp|promise-ftp|jsftp|ftp-ts)(\/|$)/;
/** Our FTPS engine (src/protocol/engine/), as imported from outside src/protocol/ or from inside it. */
const FTP_ENGINE = /(^|\/)protocol\/engine\/|^\.{1,2}\/engine\//;
const PROTOCOL_FOLDER = /(^|\/)protocol\//;

describe("the layers and the protocol", () => {
  it("finds the import specifiers of static, type-only, side-effect and dynamic imports", () => {
    const src = `import { a } from "basic-ftp";\nimport type { B } from "../protocol/connect.js";\nimport "../protocol/pool.js";\nconst o = await import("../protocol/ops.js");\nexport { c } from "./x.js";`;
    expect(specifiers(src)).toEqual(["basic-ftp", "../protocol/connect.js", "../protocol/pool.js", "../protocol/ops.js", "./x.js"]);
  });

  it("speaks FTP only in src/protocol/: no module elsewhere imports the FTPS engine (src/protocol/engine/) or an FTP library", () => {
    expect(offending("", [FTP_ENGINE, PROTOCOL_LIBRARY], (f) => f.startsWith("protocol/"))).toEqual([]);
    // The pattern finds the engine where it is used: src/protocol/ logs in and transfers with it.
    expect(offending("protocol", [FTP_ENGINE], (f) => f.startsWith("engine/")).length).toBeGreaterThan(0);
    expect(FTP_ENGINE.test("../protocol/engine/client.js")).toBe(true);
  });

  it("depends on no FTP client library: package.json lists none, and no module imports one", () => {
    const pkg = JSON.parse(readFileSync(join(SRC, "..", "package.json"), "utf8")) as Record<string, Record<string, string> | undefined>;
    const deps = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})];
    expect(deps.filter((d) => PROTOCOL_LIBRARY.test(d))).toEqual([]);
    expect(offending("", [PROTOCOL_LIBRARY])).toEqual([]);
  });

  it("reaches a server from the sync phases, the plan and the remote-folder layer only through the RemoteFolder interface, never src/protocol/", () => {
    expect([...offending("sync", [PROTOCOL_LIBRARY, PROTOCOL_FOLDER]), ...offending("plan", [PROTOCOL_LIBRARY, PROTOCOL_FOLDER]), ...offending("remote", [PROTOCOL_LIBRARY, PROTOCOL_FOLDER])]).toEqual([]);
  });
});
