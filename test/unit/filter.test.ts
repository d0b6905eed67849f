import { describe, expect, it } from "vitest";
import { makePathFilter } from "../../src/plan/filter.js";

type Row = [string, string[], string[], string, "file" | "dir", boolean];

describe("makePathFilter", () => {
  it.each<Row>([
    ["an empty include list keeps every file", [], [], "a/b/c.txt", "file", true],
    ["an empty include list keeps every folder", [], [], "a/b", "dir", true],
    ["**/* matches dotfiles at the root", ["**/*"], [], ".bashrc", "file", true],
    ["**/* matches dotfiles in folders", ["**/*"], [], "a/.env", "file", true],
    ["a file that matches no include pattern is dropped", ["**/*.md"], [], "src/a.ts", "file", false],
    ["a file that matches an include pattern is kept", ["**/*.md"], [], "docs/a.md", "file", true],
    ["folders are kept when an include pattern could match below them", ["**/*.md"], [], "src", "dir", true],
    ["a folder on the way to an include base is kept", ["docs/guide/**"], [], "docs", "dir", true],
    ["a folder inside an include base is kept", ["docs/**"], [], "docs/a/b", "dir", true],
    ["a folder off every include branch is dropped", ["docs/**"], [], "src", "dir", false],
    ["a file off every include branch is dropped", ["docs/**"], [], "src/a.md", "file", false],
    ["exclude X/** drops folder X itself", [], ["node_modules/**"], "node_modules", "dir", false],
    ["exclude X/** drops files below X", [], ["node_modules/**"], "node_modules/a/index.js", "file", false],
    ["exclude **/.git drops a nested .git folder", [], ["**/.git"], "a/.git", "dir", false],
    ["exclude **/.git drops files below a .git folder too", [], ["**/.git"], "a/.git/config", "file", false],
    ["exclude wins over include", ["**/*"], ["**/*.tmp"], "a/b.tmp", "file", false],
    ["the default include keeps a file in a folder whose name has a line break", ["**/*"], [], "a\nb/c.txt", "file", true],
    ["** beside other include patterns keeps everything", ["**/*.md", "**"], [], "src/a.ts", "file", true],
    ["an exclude pattern does not drop a sibling with a longer name", [], ["build"], "build2/a.txt", "file", true],
    ["a leading ./ in a pattern is ignored", ["./docs/**"], [], "docs/a.md", "file", true],
    ["decomposed (NFD) patterns match NFC paths", ["caf\u0065\u0301/**"], [], "caf\u00e9/menu.txt", "file", true],
    ["a decomposed (NFD) path is matched as NFC", [], ["caf\u00e9/**"], "caf\u0065\u0301/menu.txt", "file", false],
  ])("%s", (_name, include, exclude, path, type, expected) => {
    expect(makePathFilter(include, exclude)(path, type)).toBe(expected);
  });
});
