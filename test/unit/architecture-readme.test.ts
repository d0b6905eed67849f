// The README's architecture section is the map a new contributor reads first: it must name every
// folder and every module of src/, and name none that does not exist.
import { readdirSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { describe, expect, it } from "vitest";

const repo = join(import.meta.dirname, "../..");
const src = join(repo, "src");

function architectureSection(): string {
  const readme = readFileSync(join(repo, "README.md"), "utf8");
  const start = readme.indexOf("\n## Architecture\n");
  expect(start).toBeGreaterThan(0);
  const end = readme.indexOf("\n## ", start + 5);
  return readme.slice(start, end < 0 ? undefined : end);
}

const modules = readdirSync(src, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"));
const folders = readdirSync(src, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);

describe("the README's architecture section", () => {
  const text = architectureSection();

  it("names every folder of src/", () => {
    expect(folders.length).toBeGreaterThan(5);
    expect(folders.filter((f) => !text.includes(`\`src/${f}/\``))).toEqual([]);
  });

  it("names every module of src/ by its file name", () => {
    expect(modules.length).toBeGreaterThan(50);
    expect(modules.filter((m) => !text.includes(basename(m))).sort()).toEqual([]);
  });

  it("names no folder of src/ and no module that does not exist", () => {
    const namedFolders = [...text.matchAll(/`src\/([a-z-]+)\/`/g)].map((m) => m[1]);
    expect(namedFolders.filter((f) => !folders.includes(f))).toEqual([]);
    // What the section may name besides src/: tests, scripts, the bench, and the built CLI (the
    // fast tier builds it before any test runs).
    const elsewhere = ["test", "scripts", "bench", "deploy", "dist/bin"].flatMap((d) => readdirSync(join(repo, d), { recursive: true, encoding: "utf8" }));
    const existing = new Set([...modules, ...elsewhere].map((f) => basename(f)));
    const named = [...text.matchAll(/(?<![\w.-])([a-z][\w.-]*\.(?:ts|mjs|js|cjs))\b/g)].map((m) => m[1]);
    expect(named.filter((n) => !existing.has(n))).toEqual([]);
  });
});
