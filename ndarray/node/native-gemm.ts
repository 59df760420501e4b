/**
 * Node-only: loads the N-API addon (ndarray/native, built by `npm install` when libopenblas is
 * present) and wraps it as the `native` GEMM backend.
 * @module
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import type { GemmArgs, GemmBackend } from "../linalg/backend.js";

interface GemmAddon {
  gemm(
    is64: boolean,
    transA: boolean,
    transB: boolean,
    m: number,
    n: number,
    k: number,
    alpha: number,
    a: Float64Array | Float32Array,
    offA: number,
    lda: number,
    b: Float64Array | Float32Array,
    offB: number,
    ldb: number,
    beta: number,
    c: Float64Array | Float32Array,
    offC: number,
    ldc: number,
  ): void;
  setThreads(n: number): void;
  getThreads(): number;
}

const ADDON = "native/build/Release/tsparallel_gemm.node";

/** Where the compiled addon may be: next to the sources (from dist/ndarray/node or ndarray/node). */
function candidates(): string[] {
  return [`../../../ndarray/${ADDON}`, `../${ADDON}`].map((rel) =>
    fileURLToPath(new URL(rel, import.meta.url)),
  );
}

/**
 * Loads the addon and returns the backend, or throws an Error explaining why it is unavailable.
 * On load, OpenBLAS is limited to one thread unless OPENBLAS_NUM_THREADS is set, so engine
 * processes (one per core) do not oversubscribe the machine.
 */
export function loadNativeBackend(): GemmBackend {
  const path = candidates().find((p) => existsSync(p));
  if (!path)
    throw new Error("OpenBLAS addon not built (apt-get install libopenblas-dev, then npm run build:native)");
  const addon = createRequire(import.meta.url)(path) as GemmAddon;
  if (!process.env.OPENBLAS_NUM_THREADS) addon.setThreads(1);
  return {
    name: "native",
    gemm(g: GemmArgs): void {
      addon.gemm(
        g.c instanceof Float64Array,
        g.transA,
        g.transB,
        g.m,
        g.n,
        g.k,
        g.alpha,
        g.a,
        g.offA,
        g.lda,
        g.b,
        g.offB,
        g.ldb,
        g.beta,
        g.c,
        g.offC,
        g.ldc,
      );
    },
    setThreads: (n) => addon.setThreads(n),
    getThreads: () => addon.getThreads(),
  };
}
