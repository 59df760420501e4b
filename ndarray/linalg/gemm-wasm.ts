/**
 * The WebAssembly SIMD GEMM backend. The module (ndarray/wasm/assembly/gemm.ts, prebuilt and
 * embedded as base64) works in its own linear memory, so operands are copied in (one memcpy per
 * stored row, or one for a packed operand; transposes stay transposes and are resolved while
 * packing) and C is copied out.
 *
 * Memory grows to fit the largest call; after a call that needed more than 256 MiB the instance
 * is dropped so that memory can be reclaimed, and a fresh one is made on the next call.
 * @module
 */
import { GEMM_WASM_BASE64 } from "../wasm/gemm-wasm-bytes.js";
import type { FloatArray, GemmArgs, GemmBackend } from "./gemm-backend.js";

// Minimal typings for the WebAssembly global (tsconfig's lib has no DOM, and @types/node 20 omits it).
interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
interface WasmModule {
  readonly __brand?: "WebAssembly.Module";
}
declare const WebAssembly: {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: object };
  validate(bytes: Uint8Array): boolean;
};

interface GemmExports {
  memory: WasmMemory;
  dgemm: (...args: number[]) => void;
  sgemm: (...args: number[]) => void;
  dgemmWorkBytes: () => number;
  sgemmWorkBytes: () => number;
}

const KEEP_BYTES = 256 * 1024 * 1024;
const PAGE = 65536;

let compiled: WasmModule | null = null;
let inst: GemmExports | null = null;

/** The raw bytes of the embedded GEMM module. */
export function gemmWasmBytes(): Uint8Array {
  const bin = atob(GEMM_WASM_BASE64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function instance(): GemmExports {
  if (!inst) {
    compiled ??= new WebAssembly.Module(gemmWasmBytes());
    inst = new WebAssembly.Instance(compiled, {}).exports as unknown as GemmExports;
  }
  return inst;
}

function align(x: number): number {
  return Math.ceil(x / 64) * 64;
}

/**
 * Copies the stored rows of an operand into wasm memory at byte `at`, compacting gaps between
 * rows. Returns the leading dimension of the copy.
 */
function copyIn(
  heap: FloatArray,
  at: number,
  src: FloatArray,
  off: number,
  rows: number,
  cols: number,
  ld: number,
): number {
  const base = at / heap.BYTES_PER_ELEMENT;
  if (ld === cols || rows <= 1) {
    heap.set(src.subarray(off, off + rows * cols), base);
  } else {
    for (let r = 0; r < rows; r++) heap.set(src.subarray(off + r * ld, off + r * ld + cols), base + r * cols);
  }
  return Math.max(cols, 1);
}

/** Runs one GEMM with the wasm kernels. */
export function gemmWasm(g: GemmArgs): void {
  const { m, n, k } = g;
  if (m === 0 || n === 0) return;
  const is64 = g.c.BYTES_PER_ELEMENT === 8;
  const es = is64 ? 8 : 4;
  let ex = instance();
  // Stored shapes: A is m x k (or k x m transposed), B is k x n (or n x k).
  const [ar, ac] = g.transA ? [k, m] : [m, k];
  const [br, bc] = g.transB ? [n, k] : [k, n];
  const work = PAGE;
  const aAt = align(work + (is64 ? ex.dgemmWorkBytes() : ex.sgemmWorkBytes()));
  const bAt = align(aAt + ar * ac * es);
  const cAt = align(bAt + br * bc * es);
  const end = cAt + m * n * es;
  if (end > ex.memory.buffer.byteLength) {
    ex.memory.grow(Math.ceil((end - ex.memory.buffer.byteLength) / PAGE));
  }
  const heap: FloatArray = is64 ? new Float64Array(ex.memory.buffer) : new Float32Array(ex.memory.buffer);
  const lda = copyIn(heap, aAt, g.a, g.offA, ar, ac, g.lda);
  const ldb = copyIn(heap, bAt, g.b, g.offB, br, bc, g.ldb);
  if (g.beta !== 0) copyIn(heap, cAt, g.c, g.offC, m, n, g.ldc);
  const f = is64 ? ex.dgemm : ex.sgemm;
  f(g.transA ? 1 : 0, g.transB ? 1 : 0, m, n, k, g.alpha, aAt, lda, bAt, ldb, g.beta, cAt, n, work);
  const cBase = cAt / es;
  if (g.ldc === n) g.c.set(heap.subarray(cBase, cBase + m * n), g.offC);
  else
    for (let r = 0; r < m; r++)
      g.c.set(heap.subarray(cBase + r * n, cBase + (r + 1) * n), g.offC + r * g.ldc);
  if (ex.memory.buffer.byteLength > KEEP_BYTES) {
    inst = null;
    ex = null as unknown as GemmExports;
  }
}

/** True when this JS engine can compile the module (WebAssembly with SIMD). */
export function wasmAvailable(): boolean {
  const wasm = (globalThis as { WebAssembly?: typeof WebAssembly }).WebAssembly;
  return wasm?.validate(gemmWasmBytes()) ?? false;
}

/** The WebAssembly backend. */
export const wasmBackend: GemmBackend = { name: "wasm", gemm: gemmWasm };
