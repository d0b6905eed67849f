import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

const SYNC = join(import.meta.dirname, "../../src/sync");
/**
 * The protocol library and the FTPS code (ftps/, the pool, and the functions that take one of its
 * connections): the sync core reaches a server only through RemoteFolder.
 */
const FORBIDDEN = [/^basic-ftp(\/|$)/, /\/ftps\//, /remote\/(pool|ops|list-tree|stat-file|stat-listing|exact-times|server-hash|pipelined)(\.js)?$/];

/** Every module specifier a file imports or re-exports, static or dynamic. */
function specifiers(source: string): string[] {
  const found: string[] = [];
  for (const m of source.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)["']([^"']+)["']/g)) found.push(m[1]);
  return found;
}

describe("the sync core and the protocol", () => {
  it("finds the import specifiers of static, type-only, side-effect and dynamic imports", () => {
    const src = `import { a } from "basic-ftp";\nimport type { B } from "../ftps/connect.js";\nimport "../remote/pool.js";\nconst o = await import("../remote/ops.js");\nexport { c } from "./x.js";`;
    expect(specifiers(src)).toEqual(["basic-ftp", "../ftps/connect.js", "../remote/pool.js", "../remote/ops.js", "./x.js"]);
  });

  it("imports neither basic-ftp nor the FTPS modules (ftps/, remote/pool, remote/ops and the other per-connection functions) anywhere in src/sync/", () => {
    const files = readdirSync(SYNC).filter((f) => f.endsWith(".ts"));
    expect(files.length).toBeGreaterThan(3);
    const offending = files.flatMap((f) =>
      specifiers(readFileSync(join(SYNC, f), "utf8"))
        .filter((s) => FORBIDDEN.some((re) => re.test(s)))
        .map((s) => `${f}: ${s}`),
    );
    expect(offending).toEqual([]);
  });
});
