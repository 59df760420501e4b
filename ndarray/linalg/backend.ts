/**
 * Matrix-multiply backends and the registry that picks one. Backends are tried fastest first:
 * `native` (our N-API addon over OpenBLAS, when built), `wasm` (SIMD kernels compiled from
 * AssemblyScript, shipped prebuilt), and `ts` (a packed TypeScript kernel, always available).
 *
 * The registry knows all three by itself and loads each on first use, so any NDArray's `dot` or
 * `matmul` finds them no matter which module of the package was imported first (an engine may
 * only ever load `arrow.ts` to decode arrays off the wire). `registerBackend` replaces a loader.
 * @module
 */
import { BackendUnavailableError } from "../errors.js";
import { loadNativeBackend } from "../node/native-gemm.js";
import { nodeHost, preferOptimizedWasm } from "../node/node-host.js";
import type { BackendName, BlasInfo, FloatArray, GemmArgs, GemmBackend } from "./gemm-backend.js";
import { configureStrassen, type StrassenSettings, strassenSettings, tsBackend } from "./gemm-ts.js";
import { wasmAvailable, wasmBackend } from "./gemm-wasm.js";
import { threadsChosenByUser } from "./thread-advisor.js";

/** All backend names in preference order. */
export const BACKENDS: readonly BackendName[] = ["native", "wasm", "ts"];

/** Loads a backend on first use; returns null (or throws) when it is not available here. */
export type BackendLoader = () => GemmBackend | null;

const loaders = new Map<BackendName, BackendLoader>([
  ["native", () => loadNativeBackend()],
  [
    "wasm",
    () => {
      preferOptimizedWasm(nodeHost());
      return wasmAvailable() ? wasmBackend : null;
    },
  ],
  ["ts", () => tsBackend],
]);
const loaded = new Map<BackendName, GemmBackend | null>();
const failures = new Map<BackendName, string>();
let forced: BackendName | null = null;

/** Registers how to load a backend (used by the wasm, TypeScript and Node-only native modules). */
export function registerBackend(name: BackendName, loader: BackendLoader): void {
  loaders.set(name, loader);
  loaded.delete(name);
  failures.delete(name);
}

function load(name: BackendName): GemmBackend | null {
  if (loaded.has(name)) return loaded.get(name)!;
  const loader = loaders.get(name);
  let b: GemmBackend | null = null;
  if (!loader) failures.set(name, "not registered in this environment");
  else {
    try {
      b = loader();
      if (!b) failures.set(name, "not available");
    } catch (e) {
      failures.set(name, e instanceof Error ? e.message : String(e));
    }
  }
  loaded.set(name, b);
  return b;
}

/** Names of the backends that can run in this process, fastest first. */
export function availableBackends(): BackendName[] {
  return BACKENDS.filter((n) => load(n) !== null);
}

/** The backend `matmul` and `dot` use now: the forced one, or the fastest available. */
export function backend(): BackendName {
  return gemmBackend().name;
}

/**
 * Forces a backend (`"native"`, `"wasm"`, `"ts"`), or `"auto"` to go back to the fastest
 * available. Forcing an unavailable backend throws a BackendUnavailableError saying why.
 */
export function setBackend(name: BackendName | "auto"): void {
  if (name === "auto") {
    forced = null;
    return;
  }
  if (!BACKENDS.includes(name)) {
    throw new BackendUnavailableError(
      `unknown backend "${name}"; expected one of ${BACKENDS.join(", ")} or "auto"`,
    );
  }
  if (!load(name))
    throw new BackendUnavailableError(`backend "${name}" is not available: ${failures.get(name)}`);
  forced = name;
}

/** Why a backend could not be loaded, or undefined when it loaded (or was never tried). */
export function backendError(name: BackendName): string | undefined {
  load(name);
  return failures.get(name);
}

/** The GEMM implementation currently selected. */
export function gemmBackend(): GemmBackend {
  if (forced) return load(forced)!;
  for (const n of BACKENDS) {
    const b = load(n);
    if (b) return b;
  }
  throw new BackendUnavailableError("no GEMM backend is available");
}

/** What {@link backendInfo} reports. */
export interface BackendInfo {
  /** The backend `matmul` and `dot` use now. */
  backend: BackendName;
  /** The backends that can run here, fastest first. */
  available: BackendName[];
  /** Why each other backend cannot run here. */
  unavailable: Partial<Record<BackendName, string>>;
  /**
   * The BLAS library under the native backend: its file, version, the kernel it runs and how
   * that kernel fits this CPU (`fit: "generic"` is the slow fallback; `warning` says what to do).
   */
  blas: BlasInfo | undefined;
  /** BLAS threads of the native backend (1 without it). */
  threads: number;
}

/**
 * Which GEMM backend runs and why: the library, version and kernel under the native backend, and
 * why any faster backend is unavailable.
 *
 * ```ts
 * nd.backendInfo().blas  // { library: "/usr/lib/…/libopenblas.so.0", version: "0.3.21", kernel: "SkylakeX", fit: "best", … }
 * ```
 */
export function backendInfo(): BackendInfo {
  const available = availableBackends();
  const unavailable: Partial<Record<BackendName, string>> = {};
  for (const n of BACKENDS) if (!available.includes(n)) unavailable[n] = failures.get(n) ?? "not available";
  return { backend: backend(), available, unavailable, blas: load("native")?.blas, threads: blasThreads() };
}

/**
 * Sets the number of BLAS threads of the native backend (OpenBLAS). Engines default to 1 unless
 * the OPENBLAS_NUM_THREADS environment variable says otherwise. No effect without the addon.
 */
export function setBlasThreads(n: number): void {
  threadsChosenByUser();
  load("native")?.setThreads?.(n);
}

/** The number of BLAS threads the native backend uses (1 when the addon is not available). */
export function blasThreads(): number {
  return load("native")?.getThreads?.() ?? 1;
}

export type { BackendName, BlasInfo, FloatArray, GemmArgs, GemmBackend, StrassenSettings };

/**
 * Turns the TypeScript backend's Strassen-Winograd path on or off, or sets its crossover.
 *
 * Products with m, n and k all at least `crossover` (default 256) recurse into 7 half-size
 * products instead of 8: ~1.25x faster at n = 1024 and ~1.4x at 2048. The result differs from
 * the classical loop in the last bits (a normwise, not elementwise, error bound; measured
 * max |ΔC| / max(|A||B|) up to 5e-15 in float64, unchanged ~5e-8 in float32; see
 * test/ndarray/matmul.test.ts), and infinities in the inputs can turn into NaN through its sums.
 * `setStrassen(false)` gives the classical result bit for bit. The default comes from the
 * environment: TSPARALLEL_STRASSEN=0 (or off/false/no) disables it, an integer >= 2 sets the
 * crossover. Other backends (native, wasm) ignore this.
 */
export function setStrassen(options: boolean | Partial<StrassenSettings>): void {
  configureStrassen(typeof options === "boolean" ? { enabled: options } : options);
}

/** The TypeScript backend's Strassen-Winograd settings: `{ enabled, crossover }`. */
export function strassen(): StrassenSettings {
  return strassenSettings();
}
