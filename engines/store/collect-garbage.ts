import { constants, PerformanceObserver } from "node:perf_hooks";
import { getHeapSpaceStatistics, getHeapStatistics, setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";

type Gc = (options?: { type: "major" | "minor"; execution: "sync" }) => void;

let gc: Gc | undefined;
let lastFull = Number.NEGATIVE_INFINITY;
let watching: PerformanceObserver | undefined;

/**
 * Runs a full garbage collection now, so that what user code dropped is finalized (and store
 * blocks it held are released) without waiting for memory pressure. V8 exposes `gc` only to
 * contexts made after `--expose-gc` is set, so a fresh context lends it; the engine's own global
 * does not get a `gc` user code could see.
 */
export function collectGarbage(): void {
  exposedGc()();
  lastFull = performance.now();
}

/** Live heap up to which {@link collectAndCompact} compacts: moving 213 MB took 290 ms here. */
const COMPACT_UP_TO_BYTES = 256 * 2 ** 20;

/**
 * A full collection that also moves live objects off sparse pages, when the live heap is small
 * enough for that to be quick. A plain one frees whole pages and compacts a few: with nine objects
 * in ten dropped from 84 MiB of old space it left 42 MiB, and only later collections, which an
 * idle process does not run, got it to 11. V8 reads its flag to compact on every full collection
 * at each one, so it is set for this one alone.
 */
export function collectAndCompact(): void {
  const compact = getHeapStatistics().used_heap_size <= COMPACT_UP_TO_BYTES;
  if (compact) setFlagsFromString("--compact-on-every-full-gc");
  try {
    collectGarbage();
  } finally {
    if (compact) setFlagsFromString("--no-compact-on-every-full-gc");
  }
}

function exposedGc(): Gc {
  if (!gc) {
    setFlagsFromString("--expose-gc");
    gc = runInNewContext("gc") as Gc;
  }
  return gc;
}

/** The bytes V8 has reserved for its young generation (both semi-spaces). */
export function youngGenerationBytes(): number {
  return getHeapSpaceStatistics().find((s) => s.space_name === "new_space")?.space_size ?? 0;
}

/** What V8 reserves for an idle young generation; more means a burst grew it. */
const IDLE_YOUNG_BYTES = 4 * 2 ** 20;

/**
 * Gives back the young generation a burst grew (to 32 MiB on 64-bit Node), or says it is already
 * small. V8 shrinks it only at a collection that finds the allocation rate low over its last
 * seconds of measurement, and a full collection right after a burst does not: the memory stays
 * until some later collection, which an idle process may never run. A minor collection is cheap
 * (about a millisecond when little survives), so it is tried until the young generation shrinks.
 * Returns true once it is small.
 */
export function shrinkYoungGeneration(): boolean {
  if (youngGenerationBytes() <= IDLE_YOUNG_BYTES) return true;
  exposedGc()({ type: "minor", execution: "sync" });
  return youngGenerationBytes() <= IDLE_YOUNG_BYTES;
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
