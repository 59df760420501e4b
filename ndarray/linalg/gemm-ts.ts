/**
 * The pure TypeScript GEMM backend: cache-blocked and packed, with a 4x4 register-blocked
 * micro-kernel. No SIMD is available to JS, so this tops out around 5 GFLOP/s; it exists so that
 * matmul works everywhere, and as a reference for the faster backends.
 * @module
 */
import type { GemmArgs, GemmBackend } from "./backend.js";

const MC = 64;
const KC = 256;
const NC = 4096;

let packA = new Float64Array(MC * KC);
let packB = new Float64Array(0);
const edge = new Float64Array(16);

function scaleC(g: GemmArgs): void {
  const { c, m, n, beta, ldc, offC } = g;
  if (beta === 1) return;
  for (let i = 0; i < m; i++) {
    const row = offC + i * ldc;
    for (let j = 0; j < n; j++) c[row + j] = beta === 0 ? 0 : beta * c[row + j]!;
  }
}

/** Packs op(B)[pc:pc+kc, jc:jc+nc] into 4-wide panels (zero-padded). */
function packPanelsB(g: GemmArgs, pc: number, kc: number, jc: number, nc: number): void {
  const { b, offB, ldb, transB } = g;
  // Element (p, j) of op(B) sits at offB + p*rs + j*cs.
  const rs = transB ? 1 : ldb;
  const cs = transB ? ldb : 1;
  let q = 0;
  for (let j = 0; j < nc; j += 4) {
    const w = Math.min(4, nc - j);
    for (let p = 0; p < kc; p++) {
      const base = offB + (pc + p) * rs + (jc + j) * cs;
      for (let t = 0; t < 4; t++) packB[q++] = t < w ? b[base + t * cs]! : 0;
    }
  }
}

/** Packs alpha * op(A)[ic:ic+mc, pc:pc+kc] into 4-tall panels (zero-padded). */
function packPanelsA(g: GemmArgs, ic: number, mc: number, pc: number, kc: number): void {
  const { a, offA, lda, transA, alpha } = g;
  const rs = transA ? 1 : lda;
  const cs = transA ? lda : 1;
  let q = 0;
  for (let i = 0; i < mc; i += 4) {
    const h = Math.min(4, mc - i);
    for (let p = 0; p < kc; p++) {
      const base = offA + (ic + i) * rs + (pc + p) * cs;
      for (let t = 0; t < 4; t++) packA[q++] = t < h ? alpha * a[base + t * rs]! : 0;
    }
  }
}

function kernel(
  kc: number,
  pa: number,
  pb: number,
  c: GemmArgs["c"],
  o: number,
  ldc: number,
  mr: number,
  nr: number,
): void {
  const A = packA;
  const B = packB;
  let c00 = 0,
    c01 = 0,
    c02 = 0,
    c03 = 0;
  let c10 = 0,
    c11 = 0,
    c12 = 0,
    c13 = 0;
  let c20 = 0,
    c21 = 0,
    c22 = 0,
    c23 = 0;
  let c30 = 0,
    c31 = 0,
    c32 = 0,
    c33 = 0;
  for (let p = 0; p < kc; p++, pa += 4, pb += 4) {
    const a0 = A[pa]!,
      a1 = A[pa + 1]!,
      a2 = A[pa + 2]!,
      a3 = A[pa + 3]!;
    const b0 = B[pb]!,
      b1 = B[pb + 1]!,
      b2 = B[pb + 2]!,
      b3 = B[pb + 3]!;
    c00 += a0 * b0;
    c01 += a0 * b1;
    c02 += a0 * b2;
    c03 += a0 * b3;
    c10 += a1 * b0;
    c11 += a1 * b1;
    c12 += a1 * b2;
    c13 += a1 * b3;
    c20 += a2 * b0;
    c21 += a2 * b1;
    c22 += a2 * b2;
    c23 += a2 * b3;
    c30 += a3 * b0;
    c31 += a3 * b1;
    c32 += a3 * b2;
    c33 += a3 * b3;
  }
  if (mr === 4 && nr === 4) {
    c[o] += c00;
    c[o + 1] += c01;
    c[o + 2] += c02;
    c[o + 3] += c03;
    o += ldc;
    c[o] += c10;
    c[o + 1] += c11;
    c[o + 2] += c12;
    c[o + 3] += c13;
    o += ldc;
    c[o] += c20;
    c[o + 1] += c21;
    c[o + 2] += c22;
    c[o + 3] += c23;
    o += ldc;
    c[o] += c30;
    c[o + 1] += c31;
    c[o + 2] += c32;
    c[o + 3] += c33;
    return;
  }
  edge.set([c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33]);
  for (let i = 0; i < mr; i++) for (let j = 0; j < nr; j++) c[o + i * ldc + j] += edge[i * 4 + j]!;
}

/**
 * Runs one GEMM with the TypeScript kernel. Arithmetic is in float64 throughout.
 *
 * float32: op(A) and op(B) are first copied into packed float64 matrices (O(n²) next to the n³
 * product), so the packing routines and the micro-kernel only ever see Float64Array and stay
 * monomorphic (V8 loads from Float32Array are slower, and one shared packing routine reading
 * both types was deoptimised back and forth); C is rounded to float32 once at the end. The
 * float32 product therefore runs at the float64 kernel's speed, and is more accurate than a
 * float32-accumulating BLAS.
 */
export function gemmTs(g: GemmArgs): void {
  if (g.c.BYTES_PER_ELEMENT === 4) gemmF32(g);
  else gemmF64(g);
}

/** op(X) (rows x cols) as a packed row-major Float64Array. */
function toFloat64(
  x: GemmArgs["a"],
  off: number,
  ld: number,
  trans: boolean,
  rows: number,
  cols: number,
): Float64Array {
  const out = new Float64Array(rows * cols);
  if (!trans) {
    for (let i = 0; i < rows; i++) {
      const p = off + i * ld;
      const q = i * cols;
      for (let j = 0; j < cols; j++) out[q + j] = x[p + j]!;
    }
  } else {
    // Stored transposed: element (i, j) of op(X) is at off + j*ld + i.
    for (let j = 0; j < cols; j++) {
      const p = off + j * ld;
      for (let i = 0; i < rows; i++) out[i * cols + j] = x[p + i]!;
    }
  }
  return out;
}

function baseGemm(
  m: number,
  n: number,
  k: number,
  a: { data: Float64Array; off: number; ld: number },
  b: { data: Float64Array; off: number; ld: number },
  c: { data: Float64Array; off: number; ld: number },
): void {
  gemmF64({
    transA: false,
    transB: false,
    m,
    n,
    k,
    alpha: 1,
    a: a.data,
    offA: a.off,
    lda: a.ld,
    b: b.data,
    offB: b.off,
    ldb: b.ld,
    beta: 0,
    c: c.data,
    offC: c.off,
    ldc: c.ld,
  });
}

function gemmF32(g: GemmArgs): void {
  const { m, n, k, alpha, beta, c, offC, ldc } = g;
  if (m === 0 || n === 0) return;
  const a64 = toFloat64(g.a, g.offA, g.lda, g.transA, m, k);
  const b64 = toFloat64(g.b, g.offB, g.ldb, g.transB, k, n);
  const t = new Float64Array(m * n);
  if (k > 0 && alpha !== 0)
    baseGemm(m, n, k, { data: a64, off: 0, ld: k }, { data: b64, off: 0, ld: n }, { data: t, off: 0, ld: n });
  for (let i = 0; i < m; i++) {
    const row = offC + i * ldc;
    for (let j = 0; j < n; j++) {
      const ab = alpha * t[i * n + j]!;
      c[row + j] = beta === 0 ? ab : ab + beta * c[row + j]!;
    }
  }
}

function gemmF64(g: GemmArgs): void {
  scaleC(g);
  const { m, n, k, alpha } = g;
  if (k === 0 || alpha === 0 || m === 0 || n === 0) return;
  for (let jc = 0; jc < n; jc += NC) {
    const nc = Math.min(NC, n - jc);
    const need = KC * (Math.ceil(nc / 4) * 4);
    if (packB.length < need) packB = new Float64Array(need);
    for (let pc = 0; pc < k; pc += KC) {
      const kc = Math.min(KC, k - pc);
      packPanelsB(g, pc, kc, jc, nc);
      for (let ic = 0; ic < m; ic += MC) {
        const mc = Math.min(MC, m - ic);
        if (packA.length < MC * KC) packA = new Float64Array(MC * KC);
        packPanelsA(g, ic, mc, pc, kc);
        for (let jr = 0; jr < nc; jr += 4) {
          for (let ir = 0; ir < mc; ir += 4) {
            const o = g.offC + (ic + ir) * g.ldc + jc + jr;
            kernel(
              kc,
              ir * kc,
              jr * kc,
              g.c as Float64Array,
              o,
              g.ldc,
              Math.min(4, mc - ir),
              Math.min(4, nc - jr),
            );
          }
        }
      }
    }
  }
}

/** The TypeScript backend. */
export const tsBackend: GemmBackend = { name: "ts", gemm: gemmTs };
