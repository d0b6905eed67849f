import { execFileSync } from "node:child_process";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";

const MODULE = pathToFileURL(resolve(import.meta.dirname, "../../dist/cli/peak-rss.js")).href;
const MiB = 2 ** 20;

describe.runIf(process.platform === "linux")("peakRssBytes", () => {
  it("is the process's own peak, not its parent's size carried over exec", () => {
    const ballast = Buffer.alloc(300 * MiB, 1); // resident in this (parent) process
    const out = execFileSync(process.execPath, [
      "--input-type=module",
      "-e",
      `import { peakRssBytes } from ${JSON.stringify(MODULE)}; console.log(JSON.stringify({ own: peakRssBytes(), maxRSS: process.resourceUsage().maxRSS * 1024 }))`,
    ]);
    expect(ballast[ballast.length - 1]).toBe(1);
    const { own, maxRSS } = JSON.parse(out.toString()) as { own: number; maxRSS: number };
    expect(maxRSS).toBeGreaterThan(300 * MiB); // what the old figure said
    expect(own).toBeGreaterThan(10 * MiB);
    expect(own).toBeLessThan(150 * MiB);
  });
});
