/**
 * Loads the N-API addon (ndarray/native, built by `npm install` when libopenblas is present) and
 * wraps it as the `native` GEMM backend. Node only; it reaches Node's modules through a
 * `NodeHost` rather than static imports, so importing this file is harmless elsewhere.
 * @module
 */
import type { GemmArgs, GemmBackend } from "../linalg/backend.js";
import { type NodeHost, nodeHost } from "./node-host.js";

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
function candidates(host: NodeHost): string[] {
  return [`../../../ndarray/${ADDON}`, `../${ADDON}`].map((rel) =>
    host.fileURLToPath(new URL(rel, import.meta.url)),
  );
}

/**
 * Loads the addon and returns the backend, or throws an Error explaining why it is unavailable.
 * On load, OpenBLAS is limited to one thread unless OPENBLAS_NUM_THREADS is set, so engine
 * processes (one per core) do not oversubscribe the machine.
 */
export function loadNativeBackend(host: NodeHost | null = nodeHost()): GemmBackend {
  if (!host) throw new Error("the OpenBLAS addon needs Node (>= 20.16, or import tsparallel/ndarray first)");
  const path = candidates(host).find((p) => host.existsSync(p));
  if (!path)
    throw new Error("OpenBLAS addon not built (apt-get install libopenblas-dev, then npm run build:native)");
  const addon = host.createRequire(import.meta.url)(path) as GemmAddon;
  if (!process.env.OPENBLAS_NUM_THREADS) addon.setThreads(1);
  return {
    name: "native",
    gemm(g: GemmArgs): void {
      addon.gemm(
        g.c.BYTES_PER_ELEMENT === 8,
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
