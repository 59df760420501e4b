/**
 * Where values meet tsparallel/ndarray: NDArrays travel as Arrow frames through ndarray's own
 * conversion (ndarray/arrow.ts), and a gather's NDArray parts are joined by ndarray's
 * concatenate (ndarray/joining.ts). Both are loaded on first use, so an engine or client that
 * never handles an NDArray never loads ndarray or Apache Arrow; a client starts loading the
 * conversion when it connects ({@link preloadNDArrays}), so its first NDArray is copied once.
 * @module
 */

/** ndarray's Arrow conversion. */
export type NDArrayConversion = typeof import("../../../ndarray/arrow.js");
/** ndarray's memory layouts: the sender's copy, and views of shared memory (no Arrow). */
export type NDArrayMemory = typeof import("../../../ndarray/memory-layout.js");
/** ndarray's joining functions. */
export type NDArrayJoining = typeof import("../../../ndarray/joining.js");

let conversion: Promise<NDArrayConversion> | undefined;
let loaded: NDArrayConversion | undefined;
let memory: Promise<NDArrayMemory> | undefined;
let memoryLoaded: NDArrayMemory | undefined;
let joining: Promise<NDArrayJoining> | undefined;

/** ndarray's Arrow conversion, loaded on first call. */
export function ndarrayConversion(): Promise<NDArrayConversion> {
  conversion ??= import("../../../ndarray/arrow.js").then((m) => {
    loaded = m;
    return m;
  });
  return conversion;
}

/** The conversion if it has loaded already (a sender copies an NDArray synchronously). */
export function loadedNDArrayConversion(): NDArrayConversion | undefined {
  return loaded;
}

/** ndarray's memory layouts, loaded on first call. */
export function ndarrayMemory(): Promise<NDArrayMemory> {
  memory ??= import("../../../ndarray/memory-layout.js").then((m) => {
    memoryLoaded = m;
    return m;
  });
  return memory;
}

/** The memory layouts if they have loaded already (a sender copies an NDArray synchronously). */
export function loadedNDArrayMemory(): NDArrayMemory | undefined {
  return memoryLoaded;
}

/** Starts loading the conversion and the layouts in the background. */
export function preloadNDArrays(): void {
  ndarrayMemory().catch(() => {});
  ndarrayConversion().catch(() => {});
}

/** ndarray's joining functions (concatenate, joinAdjacent), loaded on first call. */
export function ndarrayJoining(): Promise<NDArrayJoining> {
  joining ??= import("../../../ndarray/joining.js");
  return joining;
}
