/**
 * What a GEMM backend is: the call it implements and the interface the registry (backend.ts)
 * holds it by. The backends (gemm-ts.ts, gemm-wasm.ts, node/native-gemm.ts) import only this.
 * @module
 */
import type { KernelFit } from "../node/blas-kernel.js";

/** Names of the GEMM backends, fastest first. */
export type BackendName = "native" | "wasm" | "ts";

/** A Float64Array or Float32Array (GEMM works on floats only). */
export type FloatArray = Float64Array | Float32Array;

/**
 * One row-major GEMM call, C = alpha * op(A) * op(B) + beta * C, in BLAS terms: op(A) is m x k,
 * op(B) is k x n. A transposed operand is stored as its transpose with leading dimension `ld`
 * (the element step between its stored rows). `a`, `b` and `c` are all the same array type.
 */
export interface GemmArgs {
  transA: boolean;
  transB: boolean;
  m: number;
  n: number;
  k: number;
  alpha: number;
  a: FloatArray;
  offA: number;
  lda: number;
  b: FloatArray;
  offB: number;
  ldb: number;
  beta: number;
  c: FloatArray;
  offC: number;
  ldc: number;
}

/** A GEMM implementation. */
export interface GemmBackend {
  readonly name: BackendName;
  gemm(args: GemmArgs): void;
  /** Sets the number of threads the backend may use (native only). */
  setThreads?(n: number): void;
  /** The number of threads the backend uses. */
  getThreads?(): number;
  /** The BLAS library and kernel under the backend (native only). */
  readonly blas?: BlasInfo;
}

/** The BLAS library under the native backend, and the kernel it runs. */
export interface BlasInfo {
  /** The library file (as the dynamic loader resolved it). */
  library: string;
  /** Its version (`0.3.21`), when it says. */
  version: string | undefined;
  /** `openblas_get_config()`: version, build options and kernel. */
  config: string | undefined;
  /** The kernel it runs (`openblas_get_corename()`: `SkylakeX`, `Haswell`, `Prescott`…). */
  kernel: string | undefined;
  /** How that kernel fits this CPU (`generic` means a slow fallback). */
  fit: KernelFit;
  /**
   * The OPENBLAS_CORETYPE in force while the library started, and who chose it: tsparallel (from
   * the CPU's flags), or the user (OPENBLAS_CORETYPE or TSPARALLEL_BLAS_CORETYPE).
   */
  coreType: { value: string; chosenBy: "tsparallel" | "user" } | undefined;
  /** The CPU as the loader saw it. */
  cpu: { vendor: string; model: string; vectors: string };
  /** Set when the kernel is not the best for this CPU: what is wrong and what to do. */
  warning: string | undefined;
}
