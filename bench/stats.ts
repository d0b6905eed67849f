// Numbers and their formatting, shared by the loopback and WAN tables of the benchmark.

/** One timed command. */
export interface Sample {
  ms: number;
  rss: number;
  note?: string;
  /** user + system CPU seconds of the command and its children (bash's `times`), when measured */
  cpuS?: number;
  /** busy CPU seconds of the whole machine while it ran (the tool, the server, the kernel), when measured */
  machineCpuS?: number;
  /** round trips the client waited for, counted by the delay proxy (WAN rows only) */
  roundTrips?: number;
  /** of those, the ones before the first byte of data (its first listing's, usually): see ProxyCounts */
  firstDataRoundTrips?: number;
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** The median of one field over samples that have it (undefined when none has). */
export function medianOf(samples: Sample[] | undefined, field: "ms" | "cpuS" | "machineCpuS" | "roundTrips" | "firstDataRoundTrips"): number | undefined {
  const xs = (samples ?? []).map((s) => s[field]).filter((x): x is number => typeof x === "number");
  return xs.length ? median(xs) : undefined;
}

export const secs = (ms?: number) => (ms === undefined ? "-" : ms < 10_000 ? (ms / 1000).toFixed(2) + " s" : (ms / 1000).toFixed(1) + " s");

/** The agent's time vs a peer's: >1 means the agent is faster. */
export function ratio(agentMs: number | undefined, peerMs: number | undefined): number | undefined {
  return agentMs && peerMs ? peerMs / agentMs : undefined;
}
