import { describe, expect, it } from "vitest";
import { isTempName, tempNameFor } from "../../src/local/temp-names.js";

const bytes = (s: string) => Buffer.byteLength(s);

describe("temporary names", () => {
  it("keep a short name readable inside the temporary name", () => {
    const t = tempNameFor("report.pdf");
    expect(t).toMatch(/^\.ftps-sync\.report\.pdf\.[0-9a-f]{8}\.part$/);
    expect(isTempName(t)).toBe(true);
  });

  it.each([
    ["an ASCII name of 250 bytes", "n".repeat(246) + ".txt"],
    ["a name of 255 bytes", "m".repeat(251) + ".txt"],
    ["a name of 250 bytes in two-byte characters", "é".repeat(123) + ".txt"],
    ["a name of 232 bytes in four-byte characters", "😀".repeat(57) + ".txt"],
  ])("fit in 255 bytes for %s, and are still recognised", (_what, name) => {
    expect(bytes(name)).toBeGreaterThan(230);
    const t = tempNameFor(name);
    expect(bytes(t)).toBeLessThanOrEqual(255);
    expect(isTempName(t)).toBe(true);
    expect(t).not.toContain("/");
  });

  it("differ between two attempts at the same long name, and between two long names", () => {
    const a = "a".repeat(250);
    const b = "a".repeat(249) + "b";
    expect(tempNameFor(a)).not.toBe(tempNameFor(a));
    expect(tempNameFor(a).slice(0, 28)).not.toBe(tempNameFor(b).slice(0, 28));
  });

  it("still recognise the temporary names earlier versions left, and nothing else", () => {
    expect(isTempName(".ftps-sync." + "x".repeat(200) + ".0a1b2c3d.part")).toBe(true);
    expect(isTempName(".ftps-sync.notes.txt.0a1b2c3d.part")).toBe(true);
    expect(isTempName("notes.txt")).toBe(false);
    expect(isTempName(".ftps-sync.notes.txt.part")).toBe(false);
  });
});
