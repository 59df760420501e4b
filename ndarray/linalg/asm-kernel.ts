/**
 * The TypeScript backend's inner loops, written in the asm.js subset of the language.
 *
 * asm.js is ordinary JavaScript with integer and double types spelled out (`x | 0`, `+x`, `0.0`
 * literals) over one `ArrayBuffer` heap. Engines that validate it (V8 does, by default) compile
 * the module ahead of time through their WebAssembly pipeline: typed locals kept in registers and
 * no bounds check on each load, which a typed-array loop in plain TypeScript pays 8 times per
 * step. It is still scalar code (no SIMD), and where asm.js is not validated it simply runs as
 * JavaScript. Measured here: ~6 GFLOP/s for a whole GEMM, against ~3.3 for the plain TypeScript 4x4
 * kernel it replaced (the same 4x4 loop as asm.js alone ran ~1.5x faster than as TypeScript).
 *
 * The heap holds the packed operands and one block of the result, so packing writes straight
 * into it (views {@link KernelSpace.packA}, `packB`, `block`).
 * @module
 */

/** Rows of a packed A panel and columns of a packed B panel (the register block). */
export const MR = 4;
export const NR = 2;

/** Largest block sizes the heap is laid out for (see gemm-ts.ts). */
export const MC = 64;
export const KC = 256;
export const NC = 4096;

const A_BYTES = MC * KC * 8;
const B_BYTES = KC * NC * 8;
const BLOCK_BYTES = MC * NC * 8;
/** asm.js heaps are a power of two (or a multiple of 16 MiB): 16 MiB holds the three regions. */
const HEAP_BYTES = 1 << 24;

interface AsmStdlib {
  Float64Array: Float64ArrayConstructor;
  Math: { imul(a: number, b: number): number };
}

// biome-ignore format: asm.js needs its type annotations (`| 0`, `+`, `0.0`) exactly as written
function kernelModule(stdlib: AsmStdlib, _foreign: unknown, heap: ArrayBuffer) {
  "use asm";
  var H = new stdlib.Float64Array(heap);
  var imul = stdlib.Math.imul;

  // block[mcp x ncp] = A[mcp x kc] * B[kc x ncp]. A in 4-row panels at byte pa (each panel kc
  // steps of 4 values), B in 2-column panels at byte pb (kc steps of 2), block row-major at byte
  // pc with row stride ncp. mcp is a multiple of 4, ncp of 2 (packing pads with zeros).
  function macro(mcp: number, ncp: number, kc: number, pa: number, pb: number, pc: number) {
    mcp = mcp | 0; ncp = ncp | 0; kc = kc | 0; pa = pa | 0; pb = pb | 0; pc = pc | 0;
    var i = 0, j = 0, p = 0, qa = 0, qb = 0, o = 0, rs = 0;
    var c00 = 0.0, c01 = 0.0, c10 = 0.0, c11 = 0.0, c20 = 0.0, c21 = 0.0, c30 = 0.0, c31 = 0.0;
    var a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0, b = 0.0;
    rs = ncp << 3;
    for (j = 0; (j | 0) < (ncp | 0); j = (j + 2) | 0) {
      for (i = 0; (i | 0) < (mcp | 0); i = (i + 4) | 0) {
        qa = (pa + (imul(i, kc) << 3)) | 0;
        qb = (pb + (imul(j, kc) << 3)) | 0;
        c00 = 0.0; c01 = 0.0; c10 = 0.0; c11 = 0.0; c20 = 0.0; c21 = 0.0; c30 = 0.0; c31 = 0.0;
        for (p = 0; (p | 0) < (kc | 0); p = (p + 1) | 0) {
          a0 = +H[qa >> 3]; a1 = +H[(qa + 8) >> 3]; a2 = +H[(qa + 16) >> 3]; a3 = +H[(qa + 24) >> 3];
          b = +H[qb >> 3];
          c00 = c00 + a0 * b; c10 = c10 + a1 * b; c20 = c20 + a2 * b; c30 = c30 + a3 * b;
          b = +H[(qb + 8) >> 3];
          c01 = c01 + a0 * b; c11 = c11 + a1 * b; c21 = c21 + a2 * b; c31 = c31 + a3 * b;
          qa = (qa + 32) | 0;
          qb = (qb + 16) | 0;
        }
        o = (pc + ((imul(i, ncp) + j) << 3)) | 0;
        H[o >> 3] = c00; H[(o + 8) >> 3] = c01; o = (o + rs) | 0;
        H[o >> 3] = c10; H[(o + 8) >> 3] = c11; o = (o + rs) | 0;
        H[o >> 3] = c20; H[(o + 8) >> 3] = c21; o = (o + rs) | 0;
        H[o >> 3] = c30; H[(o + 8) >> 3] = c31;
      }
    }
  }

  return { macro: macro };
}

/** The kernel and the heap regions packing writes into. */
export interface KernelSpace {
  /** Packed A: 4-row panels, up to MC x KC values. */
  packA: Float64Array;
  /** Packed B: 2-column panels, up to KC x NC values. */
  packB: Float64Array;
  /** The product of the packed operands, row-major with row stride ncp. */
  block: Float64Array;
  /** block = packA · packB for an mcp x kc by kc x ncp product (mcp % 4 = 0, ncp % 2 = 0). */
  multiply(mcp: number, ncp: number, kc: number): void;
}

let space: KernelSpace | undefined;

/** The kernel with its 16 MiB heap, made on first use (pages are touched only as needed). */
export function kernelSpace(): KernelSpace {
  if (space) return space;
  const heap = new ArrayBuffer(HEAP_BYTES);
  const { macro } = kernelModule(globalThis as unknown as AsmStdlib, undefined, heap) as unknown as {
    macro(mcp: number, ncp: number, kc: number, pa: number, pb: number, pc: number): void;
  };
  space = {
    packA: new Float64Array(heap, 0, MC * KC),
    packB: new Float64Array(heap, A_BYTES, KC * NC),
    block: new Float64Array(heap, A_BYTES + B_BYTES, BLOCK_BYTES / 8),
    multiply: (mcp, ncp, kc) => macro(mcp, ncp, kc, 0, A_BYTES, A_BYTES + B_BYTES),
  };
  return space;
}
