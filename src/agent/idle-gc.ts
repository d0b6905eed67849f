import { getHeapStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

/**
 * Why the agent collects its garbage itself once its runs are over: V8 collects when the program
 * allocates, and an idle agent hardly does. A run over a large tree leaves most of its heap as
 * garbage (its scan, listing and state rows, its plan), and without a collection the process
 * kept it for as long as it stayed idle: measured on a watch job over 20 000 files, 117 MiB of
 * RSS idle, 81 MiB after one full collection (heap 58 -> 22 MB, live data back to the agent's
 * own 12 MB); at 100 000 files the same garbage held the idle agent above 150 MiB.
 */

/** How long no run may go before the collection: runs set off one after another (watch events) share one. */
export const IDLE_GC_QUIET_MS = 2_000;

/**
 * The second collection, this long after the first: V8 gives back its young generation (32 MB
 * once a run has grown it) only in a collection that finds the program allocating slowly over
 * the last seconds, which the first, right after the runs, does not (measured on Node 20: a
 * collection 1 or 3 s after the last one kept it, one 6 s after gave it back).
 */
export const IDLE_GC_SHRINK_MS = 6_000;

/**
 * V8's full, compacting collection (what `--expose-gc` gives as `gc()`): taken from a new
 * context after setting the flag, then the flag is set back, so that nothing else sees a `gc`.
 * Undefined where V8 does not give it.
 */
export function fullCollection(): (() => void) | undefined {
  const existing = (globalThis as { gc?: unknown }).gc;
  if (typeof existing === "function") return existing as () => void;
  try {
    setFlagsFromString("--expose-gc");
    const gc: unknown = runInNewContext("gc");
    setFlagsFromString("--no-expose-gc");
    return typeof gc === "function" ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}

export interface CollectionResult {
  ms: number;
  /** V8's heap (total_heap_size), before and after, in bytes. */
  heapBefore: number;
  heapAfter: number;
}

export interface IdleCollectorOptions {
  /** The collection; `fullCollection()` in the agent. Without one the collector does nothing. */
  collect: (() => void) | undefined;
  quietMs?: number;
  shrinkMs?: number;
  /** Told after each collection (the agent logs it at debug). */
  onCollected?: (r: CollectionResult) => void;
}

/**
 * Full collections once the agent's runs are over and none started for `quietMs`, and again
 * `shrinkMs` later (IDLE_GC_SHRINK_MS): told of each run's start and end by the runner. Never
 * during a run (a run's data is live then, and a collection would only cost it time), and no
 * more without a run in between (an idle agent makes little garbage: V8's own collections see to it).
 */
export class IdleCollector {
  private running = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly quietMs: number;
  private readonly shrinkMs: number;

  constructor(private readonly opts: IdleCollectorOptions) {
    this.quietMs = opts.quietMs ?? IDLE_GC_QUIET_MS;
    this.shrinkMs = opts.shrinkMs ?? IDLE_GC_SHRINK_MS;
  }

  runStarted(): void {
    this.running++;
    this.cancel();
  }

  runEnded(): void {
    this.running = Math.max(0, this.running - 1);
    if (this.running > 0 || !this.opts.collect) return;
    this.later(this.quietMs, () => {
      this.collectNow();
      this.later(this.shrinkMs, () => this.collectNow());
    });
  }

  stop(): void {
    this.cancel();
  }

  private cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** `fn` after `ms`, unless a run starts first; replaces what was pending. */
  private later(ms: number, fn: () => void): void {
    this.cancel();
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.running === 0) fn();
    }, ms);
    this.timer.unref();
  }

  private collectNow(): void {
    const collect = this.opts.collect;
    if (!collect) return;
    const heapBefore = getHeapStatistics().total_heap_size;
    const t0 = performance.now();
    collect();
    this.opts.onCollected?.({ ms: performance.now() - t0, heapBefore, heapAfter: getHeapStatistics().total_heap_size });
  }
}
