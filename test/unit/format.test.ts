import { describe, expect, it } from "vitest";
import { fitLeft, humanBytes, humanDuration, humanRate, planTable, progressBar, progressLine, type PlanRow } from "../../src/cli/format.js";

describe("human numbers", () => {
  it.each([
    [0, "0 B"],
    [1023, "1023 B"],
    [1024, "1.0 KiB"],
    [1536, "1.5 KiB"],
    [10 * 1024 * 1024, "10 MiB"],
    [3.5 * 1024 ** 3, "3.5 GiB"],
  ])("humanBytes(%d) = %s", (n, text) => expect(humanBytes(n)).toBe(text));

  it.each([
    [0, "0 ms"],
    [999.6, "1000 ms"],
    [1500, "1.5 s"],
    [59_940, "59.9 s"],
    [60_000, "1 min 0 s"],
    [119_600, "2 min 0 s"], // never "1 min 60 s"
    [3_725_000, "1 h 2 min"],
  ])("humanDuration(%d) = %s", (ms, text) => expect(humanDuration(ms)).toBe(text));

  it("humanRate says nothing until it means something", () => {
    expect(humanRate(0, 5000)).toBe("");
    expect(humanRate(10_000, 100)).toBe("");
    expect(humanRate(10 * 1024 * 1024, 2000)).toBe("5.0 MiB/s");
  });
});

describe("progress", () => {
  it("draws ASCII bars within their width, clamping the fraction", () => {
    expect(progressBar(0, 12)).toBe("[----------]");
    expect(progressBar(0.5, 12)).toBe("[#####-----]");
    expect(progressBar(1, 12)).toBe("[##########]");
    expect(progressBar(7, 12)).toBe("[##########]");
    expect(progressBar(Number.NaN, 12)).toBe("[----------]");
  });

  it("cuts paths from the left so the file name stays visible", () => {
    expect(fitLeft("a/b/c.txt", 20)).toBe("a/b/c.txt");
    expect(fitLeft("very/long/folder/name/file.txt", 12)).toBe("…me/file.txt");
    expect(fitLeft("abc", 1)).toBe("…");
  });

  it("fits one line, without control characters, in the terminal width", () => {
    const p = { phase: "transferring" as const, done: 12, total: 40, bytes: 3 * 1024 * 1024, current: "reports/2024/quarterly/very-long-name-of-a-file.csv" };
    for (const columns of [20, 40, 80, 200]) {
      const line = progressLine(p, columns, 1000);
      expect(line.length).toBeLessThanOrEqual(columns - 1);
      // eslint-disable-next-line no-control-regex
      expect(line).not.toMatch(/[\x00-\x1f\x7f]/);
    }
    const wide = progressLine(p, 200, 1000);
    expect(wide).toMatch(/^transferring \[#+-+\] 12\/40  3\.0 MiB  3\.0 MiB\/s  reports\/2024/);
    expect(progressLine(p, 0, 1000).length).toBe(79); // a terminal that reports no width
    expect(progressLine({ phase: "listing", done: 0, total: 0, bytes: 0 }, 80, 0)).toBe("listing both sides...");
  });
});

describe("planTable", () => {
  const file = (size: number) => ({ type: "file", size });
  const plan: PlanRow[] = [
    { kind: "mkdir-remote", path: "reports", reason: "new folder on local" },
    { kind: "upload", path: "reports/q3.csv", reason: "new on local", local: file(2048) },
    { kind: "upload", path: "notes.md", reason: "changed on local since last sync", local: file(100), remote: file(90) },
    { kind: "delete-remote", path: "old.txt", reason: "deleted on local; delete=tracked" },
    { kind: "adopt", path: "same.txt", reason: "same on both sides", local: file(1), remote: file(1) },
    { kind: "conflict", path: "both.txt", reason: "changed on both sides", local: file(5), remote: file(6), resolution: "keep-both", conflictName: "both (conflict).txt" },
  ];

  it("lists actions with sizes and a total line, hiding what needs no work", () => {
    const lines = planTable(plan).split("\n");
    expect(lines).toHaveLength(7);
    expect(lines[0]).toMatch(/^mkdir remote {3}reports {2,}new folder on local$/);
    expect(lines[1]).toBe("upload         reports/q3.csv  2.0 KiB  new on local");
    expect(lines[2]).toBe("upload         notes.md          100 B  changed on local since last sync");
    expect(lines[3]).toMatch(/^delete remote  old\.txt {2,}deleted on local; delete=tracked$/);
    expect(lines[4]).toBe("conflict       both.txt            5 B  changed on both sides -> keep-both (remote copy kept as both (conflict).txt)");
    // The reasons line up in one column.
    const column = lines[1].indexOf("new on local");
    expect(lines[0].indexOf("new folder")).toBe(column);
    expect(lines[3].indexOf("deleted on local")).toBe(column);
    expect(lines[5]).toBe("5 action(s): 2 to upload (2.1 KiB), 1 conflict(s), 1 to delete on the server, 1 folder(s) to create");
    expect(lines[6]).toBe("");
  });

  it("shows a compare with the conflict it becomes, and the paths it leaves alone, each counted", () => {
    const text = planTable([
      { kind: "compare", path: "later.txt", reason: "changed on both sides, same size: contents compared at the sync", local: file(10), remote: file(10), ifDifferent: { resolution: "keep-both", conflictName: "later.c.txt" } },
      { kind: "held-delete", path: "theirs.txt", reason: "deleted on local; delete=tracked keeps the remote copy" },
      { kind: "needs-user", path: "x", reason: "type mismatch: file on local, folder on remote" },
    ]);
    const lines = text.split("\n");
    expect(lines[0]).toMatch(/^compare\s+later\.txt\s+changed on both sides, same size: contents compared at the sync; if they differ -> keep-both \(remote copy kept as later\.c\.txt\)$/);
    expect(lines[1]).toMatch(/^kept\s+theirs\.txt\s+deleted on local; delete=tracked keeps the remote copy$/);
    expect(lines[2]).toMatch(/^needs you\s+x\s+type mismatch/);
    expect(lines[3]).toBe("3 action(s): 1 to compare, 1 deletion(s) held back, 1 path(s) for you to settle");
  });

  it("says so when there is nothing to do", () => {
    expect(planTable([{ kind: "adopt", path: "x", reason: "same" }])).toBe("nothing to do: both sides agree\n");
  });

  it("keeps long paths to half the width, cut from the left", () => {
    const long = "a/".repeat(60) + "file.txt";
    const text = planTable([{ kind: "download", path: long, reason: "new on remote", remote: file(1) }], 80);
    const line = text.split("\n")[0];
    expect(line).toContain("…");
    expect(line).toContain("file.txt");
    expect(line.length).toBeLessThan(80);
  });
});
