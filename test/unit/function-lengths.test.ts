import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { API } from "typescript/unstable/sync";
import { isFunctionLikeDeclaration } from "typescript/unstable/ast/is";
import type { Node, SourceFile } from "typescript/unstable/ast";
import { describe, expect, it } from "vitest";

/** The bound: no function in the sync phases or the planner longer than about 80 lines. */
const MAX_LINES = 80;
const REPO = join(import.meta.dirname, "../..");
const FOLDERS = ["src/sync/", "src/plan/"];

interface Measured {
  name: string;
  lines: number;
}

/**
 * Every function with a body (declarations, methods, arrows, function expressions) in the files of
 * a TypeScript project whose path starts with one of `under`, with its length in lines: from its
 * first token (comments before it not counted) to its last, nested functions included.
 * TypeScript 7 parses in its own process: the API asks it for the project's syntax trees.
 */
function functionLengths(projectDir: string, under: string[]): Measured[] {
  const api = new API({ cwd: projectDir });
  try {
    const project = api.updateSnapshot({ openProjects: [join(projectDir, "tsconfig.json")] }).getProjects()[0];
    const found: Measured[] = [];
    for (const file of project.program.getSourceFileNames()) {
      const rel = relative(projectDir, file);
      if (!under.some((u) => rel.startsWith(u))) continue;
      const source = project.program.getSourceFile(file) as SourceFile;
      const lineOf = (pos: number) => source.text.slice(0, pos).split("\n").length;
      const visit = (node: Node): undefined => {
        if (isFunctionLikeDeclaration(node) && node.body) {
          const first = lineOf(node.getStart(source));
          const named = (node as { name?: { text?: unknown } }).name?.text;
          const name = typeof named === "string" ? named : `(anonymous at line ${first})`;
          found.push({ name: `${rel}: ${name}`, lines: lineOf(node.end) - first + 1 });
        }
        node.forEachChild(visit);
      };
      source.forEachChild(visit);
    }
    return found;
  } finally {
    api.close();
  }
}

describe("function lengths in src/sync and src/plan", () => {
  it("measures each function from its first line to its closing brace, comments before it left out and nested functions counted apart", () => {
    const dir = mkdtempSync(join(tmpdir(), "fn-lengths-"));
    try {
      writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ files: ["x.ts"] }));
      const text = ["/** A comment", " * before. */", "function outer() {", "  const inner = () => {", "    return 1;", "  };", "  return inner();", "}", "class C {", "  m() {", "    return 2;", "  }", "}"];
      writeFileSync(join(dir, "x.ts"), text.join("\n") + "\n");
      expect(functionLengths(dir, ["x.ts"])).toEqual([
        { name: "x.ts: outer", lines: 6 },
        { name: "x.ts: (anonymous at line 4)", lines: 3 },
        { name: "x.ts: m", lines: 3 },
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it(`has no function longer than ${MAX_LINES} lines`, () => {
    const measured = functionLengths(REPO, FOLDERS);
    expect(measured.length).toBeGreaterThan(50);
    const tooLong = measured.filter((m) => m.lines > MAX_LINES).map((m) => `${m.name} (${m.lines} lines)`);
    expect(tooLong).toEqual([]);
  });
});
