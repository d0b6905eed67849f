import { afterEach, describe, expect, it, vi } from "vitest";
import { humanEta, plainProgressLine, progressLine } from "../../src/cli/format.js";
import { progressPrinter, type ProgressStream } from "../../src/cli/progress-printer.js";
import type { Progress } from "../../src/sync/run-job.js";

/** A terminal (or a pipe) that keeps what is written to it. */
function fakeStream(isTTY: boolean, columns = 100): ProgressStream & { text: string } {
  const s = { isTTY, columns, text: "", write: (t: string) => void (s.text += t) };
  return s;
}

const MiB = 1024 * 1024;
const transferring = (bytes: number, over: Partial<Progress> = {}): Progress => ({ phase: "transferring", done: 0, total: 1, bytes, totalBytes: 300 * MiB, current: "big.iso", ...over });

describe("the progress line", () => {
  it("shows the bytes done of the total, the rate and the ETA, and the bar follows the bytes of one big file", () => {
    const line = progressLine(transferring(100 * MiB), 200, 10_000);
    expect(line).toMatch(/^transferring \[#{7}-{13}\] 0\/1  100 MiB of 300 MiB  10 MiB\/s  ETA 20\.0 s  big\.iso$/);
    expect(humanEta(100, 300, 10_000)).toBe("ETA 20.0 s");
    expect(humanEta(0, 300, 10_000)).toBe("");
  });

  it("a plain line names the file, its size and time, with a name's control characters escaped", () => {
    expect(plainProgressLine({ what: "uploaded", path: "a.txt", bytes: 4096, ms: 12 }, 3, 40)).toBe("[3/40] uploaded a.txt (4.0 KiB, 12 ms)");
    expect(plainProgressLine({ what: "uploaded", path: "evil\n\x1b[2Jname", bytes: 1, ms: 1 }, 1, 1)).toBe("[1/1] uploaded evil\\x0a\\x1b[2Jname (1 B, 1 ms)");
  });
});

describe("the progress printer", () => {
  afterEach(() => vi.useRealTimers());

  it("prints nothing off a terminal unless asked for", () => {
    const pipe = fakeStream(false);
    expect(progressPrinter("auto", pipe)).toBeUndefined();
    expect(progressPrinter("none", fakeStream(true))).toBeUndefined();
    const tty = progressPrinter("tty", pipe);
    tty!(transferring(MiB));
    expect(pipe.text).toContain("1.0 MiB of 300 MiB");
  });

  it("redraws in place at most five times a second, draws the last state after a quiet spell, and clears the line at the end", () => {
    vi.useFakeTimers();
    const tty = fakeStream(true);
    const print = progressPrinter("auto", tty, () => Date.now())!;
    for (let i = 1; i <= 50; i++) {
      print(transferring(i * MiB));
      vi.advanceTimersByTime(10); // 50 updates in half a second
    }
    const draws = tty.text.split("\r\x1b[2K").filter(Boolean);
    expect(draws.length).toBeGreaterThanOrEqual(2);
    expect(draws.length).toBeLessThanOrEqual(4);
    vi.advanceTimersByTime(500);
    expect(tty.text.split("\r\x1b[2K").filter(Boolean).at(-1)).toContain("50 MiB of 300 MiB");
    print({ phase: "done", done: 1, total: 1, bytes: 300 * MiB });
    expect(tty.text.endsWith("\r\x1b[2K")).toBe(true);
  });

  it("clears its line before another line is written (a warning of the log), and draws it again after", async () => {
    vi.useFakeTimers();
    const tty = fakeStream(true);
    const print = progressPrinter("tty", tty, () => Date.now())!;
    print(transferring(MiB));
    tty.write("12:00:00 warn  a.txt: retrying\n");
    expect(tty.text).toMatch(/1\.0 MiB of 300 MiB  big\.iso\r\x1b\[2K12:00:00 warn {2}a\.txt: retrying\n$/);
    vi.advanceTimersByTime(250);
    expect(tty.text).toMatch(/retrying\n\r\x1b\[2Ktransferring .*1\.0 MiB of 300 MiB/);
    print({ phase: "done", done: 1, total: 1, bytes: MiB });
    tty.write("after\n");
    expect(tty.text.endsWith("\r\x1b[2Kafter\n")).toBe(true); // cleared once at the end, then left alone
  });

  it("--progress plain prints one line per file done, nothing for the steps in between", () => {
    const pipe = fakeStream(false);
    const print = progressPrinter("plain", pipe)!;
    print({ phase: "listing", done: 0, total: 0, bytes: 0 });
    print(transferring(MiB));
    print(transferring(MiB, { done: 1, finished: { what: "uploaded", path: "big.iso", bytes: 300 * MiB, ms: 2500 } }));
    expect(pipe.text).toBe("[1/1] uploaded big.iso (300 MiB, 2.5 s)\n");
  });
});
