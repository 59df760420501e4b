import { constants, PerformanceObserver } from "node:perf_hooks";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

let gc: (() => void) | undefined;
let lastFull = Number.NEGATIVE_INFINITY;
let watching: PerformanceObserver | undefined;

/**
 * Runs a full garbage collection now, so that what user code dropped is finalized (and store
 * blocks it held are released) without waiting for memory pressure. V8 exposes `gc` only to
 * contexts made after `--expose-gc` is set, so a fresh context lends it; the engine's own global
 * does not get a `gc` user code could see.
 */
export function collectGarbage(): void {
  if (!gc) {
    setFlagsFromString("--expose-gc");
    gc = runInNewContext("gc") as () => void;
  }
  gc();
  lastFull = performance.now();
}

/**
 * When the last full collection ended (`performance.now()` time), whether V8 ran it by itself (a
 * large mapping counts as memory pressure) or {@link collectGarbage} did. The first call starts
 * watching; collections before it are not seen.
 */
export function lastFullCollection(): number {
  if (!watching) {
    watching = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        const kind = (e as unknown as { detail?: { kind?: number } }).detail?.kind;
        if (kind === constants.NODE_PERFORMANCE_GC_MAJOR)
          lastFull = Math.max(lastFull, e.startTime + e.duration);
      }
    });
    watching.observe({ entryTypes: ["gc"] });
  }
  return lastFull;
}
