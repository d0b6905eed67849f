import { readFileSync } from "node:fs";

/**
 * This process's peak resident memory in bytes. On Linux, VmHWM from /proc/self/status: the
 * high-water mark of this process's own memory. Not `resourceUsage().maxRSS`: Linux carries that
 * figure over exec, so a process started by a big parent reports the parent's size (a benchmark
 * holding 200 MB made every run it timed look 200 MB big).
 */
export function peakRssBytes(): number {
  try {
    const kib = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"))?.[1];
    if (kib !== undefined) return Number(kib) * 1024;
  } catch {
    // not Linux: fall through
  }
  return process.resourceUsage().maxRSS * 1024;
}
