import { readdirSync, readFileSync } from "node:fs";
import { join, relative, sep } from "node:path";
import { transformSync } from "esbuild";
import { describe, expect, it } from "vitest";
import { openState } from "../../src/state/index.js";
import { REPO } from "../helpers/cli.js";
import { testTempDir } from "../helpers/temp-dir.js";

const SRC = join(REPO, "src");

// What SQL looks like in this code base: statements in string literals (upper-case keywords, as
// every statement in src/state/ is written), better-sqlite3's statement API, and the database
// module itself. Read from the code with its comments removed, so prose about SQL is allowed.
const SQL_IN_CODE: [RegExp, string][] = [
  [/\bSELECT\s[^"'`]*?\bFROM\b/, "SELECT ... FROM"],
  [/\bINSERT\s+(?:OR\s+[A-Z]+\s+)?INTO\b/, "INSERT INTO"],
  [/\bDELETE\s+FROM\b/, "DELETE FROM"],
  [/\bUPDATE\s+\w+\s+SET\b/, "UPDATE ... SET"],
  [/\b(?:CREATE|DROP|ALTER)\s+(?:TABLE|INDEX|TRIGGER|VIEW)\b/, "schema statement"],
  [/\bBEGIN\s+(?:IMMEDIATE|EXCLUSIVE|DEFERRED|TRANSACTION)\b/, "BEGIN"],
  [/\.(?:prepare|transaction|pragma)\s*\(/, "database call .prepare/.transaction/.pragma"],
  [/\.exec\s*\(\s*["'`]/, "database call .exec with a statement"],
];
// Checked on the source as written: esbuild drops imports that are only types.
const SQL_IMPORTS: [RegExp, string][] = [
  [/["']better-sqlite3["']/, "imports better-sqlite3"],
  [/import\s+(?:type\s+)?\{[^}]*\bDb\b[^}]*\}\s*from\s*["'][^"']*\bstate\/db(?:\.js)?["']/, "imports the raw database type Db"],
];

/** Why `source` (a TypeScript file) holds SQL or reaches the database directly; empty when it does not. */
function sqlFindings(source: string): string[] {
  const code = transformSync(source, { loader: "ts", legalComments: "none" }).code;
  return [
    ...SQL_IN_CODE.filter(([re]) => re.test(code)).map(([, what]) => what),
    ...SQL_IMPORTS.filter(([re]) => re.test(source)).map(([, what]) => what),
  ];
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => f.endsWith(".ts"))
    .map((f) => join(dir, f))
    .sort();
}

const inState = (file: string) => relative(SRC, file).startsWith(`state${sep}`);

describe("SQL lives in src/state/ only", () => {
  it("finds no SQL, no better-sqlite3 and no raw database handle in any source file outside src/state/", () => {
    const files = sourceFiles(SRC).filter((f) => !inState(f));
    expect(files.length).toBeGreaterThan(50); // the walk did find the code base
    const offenders = files
      .map((f) => ({ file: relative(REPO, f), found: sqlFindings(readFileSync(f, "utf8")) }))
      .filter((o) => o.found.length > 0)
      .map((o) => `${o.file}: ${o.found.join(", ")} (move it into a store in src/state/)`);
    expect(offenders).toEqual([]);
  });

  it("recognises the SQL that src/state/ does hold, so the check above can fail", () => {
    const stores = ["runs.ts", "partials.ts", "entries.ts", "run-queue.ts", "job-locks.ts", "agents.ts"];
    for (const name of stores) {
      expect(sqlFindings(readFileSync(join(SRC, "state", name), "utf8")), name).not.toEqual([]);
    }
    expect(sqlFindings('import Database from "better-sqlite3";\n')).toEqual(["imports better-sqlite3"]);
    expect(sqlFindings('import type { Db } from "../state/db.js";\n')).toEqual(["imports the raw database type Db"]);
    expect(sqlFindings("db.exec(`DELETE FROM x`);")).toEqual(["DELETE FROM", "database call .exec with a statement"]);
    // Prose and regular expressions are not SQL.
    expect(sqlFindings("// SELECT the oldest row FROM the queue, then DELETE FROM it\nconst m = /^(\\d+)$/.exec(text);\n")).toEqual([]);
  });

  it("the state store hands out its stores, not its database handle", () => {
    const state = openState(testTempDir("sql-boundary"));
    try {
      expect(Object.keys(state)).not.toContain("db");
      expect(Object.keys(state)).toEqual(expect.arrayContaining(["runQueue", "jobLocks", "agents"]));
    } finally {
      state.close();
    }
  });
});
