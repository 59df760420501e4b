/**
 * The pure TypeScript GEMM backend: cache-blocked and packed, with a 4x2 register-blocked
 * macro-kernel written in the asm.js subset (asm-kernel.ts), which V8 compiles ahead of time. No
 * SIMD is available to it, so it tops out around 6 GFLOP/s; it exists so that matmul works
 * everywhere, and as a reference for the faster backends.
 *
 * Large products (m, n and k all at least the crossover) go through Strassen-Winograd recursion
 * (7 half-size products and 15 additions per level) down to that packed kernel: with the kernel at
 * its scalar limit, fewer multiplications is the remaining lever. `setStrassen` in backend.ts (or
 * TSPARALLEL_STRASSEN=0) turns it off for bitwise reproducibility with the classical loop order.
 * @module
 */
import { KC, type KernelSpace, kernelSpace, MC, MR, NC, NR } from "./asm-kernel.js";
import type { GemmArgs, GemmBackend } from "./gemm-backend.js";

function scaleC(g: GemmArgs): void {
  const { c, m, n, beta, ldc, offC } = g;
  if (beta === 1) return;
  for (let i = 0; i < m; i++) {
    const row = offC + i * ldc;
    for (let j = 0; j < n; j++) c[row + j] = beta === 0 ? 0 : beta * c[row + j]!;
  }
}

/** Packs op(B)[pc:pc+kc, jc:jc+nc] into 2-wide panels (zero-padded) in `out`. */
function packPanelsB(out: Float64Array, g: GemmArgs, pc: number, kc: number, jc: number, nc: number): void {
  const { b, offB, ldb, transB } = g;
  // Element (p, j) of op(B) sits at offB + p*rs + j*cs.
  const rs = transB ? 1 : ldb;
  const cs = transB ? ldb : 1;
  let q = 0;
  for (let j = 0; j < nc; j += NR) {
    let base = offB + pc * rs + (jc + j) * cs;
    if (nc - j >= NR) {
      for (let p = 0; p < kc; p++, base += rs, q += 2) {
        out[q] = b[base]!;
        out[q + 1] = b[base + cs]!;
      }
    } else {
      for (let p = 0; p < kc; p++, base += rs, q += 2) {
        out[q] = b[base]!;
        out[q + 1] = 0;
      }
    }
  }
}

/** Packs alpha * op(A)[ic:ic+mc, pc:pc+kc] into 4-tall panels (zero-padded) in `out`. */
function packPanelsA(out: Float64Array, g: GemmArgs, ic: number, mc: number, pc: number, kc: number): void {
  const { a, offA, lda, transA, alpha } = g;
  const rs = transA ? 1 : lda;
  const cs = transA ? lda : 1;
  let q = 0;
  for (let i = 0; i < mc; i += MR) {
    const h = Math.min(MR, mc - i);
    if (h === MR) {
      for (let p = 0, base = offA + (ic + i) * rs + pc * cs; p < kc; p++, base += cs, q += 4) {
        out[q] = alpha * a[base]!;
        out[q + 1] = alpha * a[base + rs]!;
        out[q + 2] = alpha * a[base + 2 * rs]!;
        out[q + 3] = alpha * a[base + 3 * rs]!;
      }
      continue;
    }
    for (let p = 0; p < kc; p++) {
      const base = offA + (ic + i) * rs + (pc + p) * cs;
      for (let t = 0; t < MR; t++) out[q++] = t < h ? alpha * a[base + t * rs]! : 0;
    }
  }
}

/** C[ic:ic+mc, jc:jc+nc] += the kernel's block (row stride ncp). */
function addBlock(
  g: GemmArgs,
  block: Float64Array,
  ic: number,
  mc: number,
  jc: number,
  nc: number,
  ncp: number,
): void {
  const { c, offC, ldc } = g;
  for (let i = 0; i < mc; i++) {
    const row = offC + (ic + i) * ldc + jc;
    const from = i * ncp;
    for (let j = 0; j < nc; j++) c[row + j] += block[from + j]!;
  }
}

/** Settings of the Strassen-Winograd path (see `setStrassen` in backend.ts). */
export interface StrassenSettings {
  /** Whether large products use Strassen-Winograd recursion. */
  enabled: boolean;
  /** Recurse while m, n and k are all at least this; leaves are classical products. */
  crossover: number;
}

/**
 * Measured on the 2-core dev machine with the asm.js kernel (~6 GFLOP/s classical), speed-up over
 * classical at n = 1024 / 2048: crossover 256: 1.02-1.11 / 1.18-1.25, 512: 1.14-1.16 / 1.25-1.30,
 * 1024: 1.09 / 1.18-1.28; at n = 512 all are within noise of classical. Below that the 15 additions
 * (memory-bound, ~1-5 ns per element) cost more than the product they save.
 */
export const DEFAULT_STRASSEN_CROSSOVER = 512;

function strassenFromEnv(): StrassenSettings {
  const v = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env
    ?.TSPARALLEL_STRASSEN;
  const off = v !== undefined && /^(0|off|false|no)$/i.test(v.trim());
  const n = Number(v);
  return {
    enabled: !off,
    crossover: !off && Number.isInteger(n) && n >= 2 ? n : DEFAULT_STRASSEN_CROSSOVER,
  };
}

const strassen: StrassenSettings = strassenFromEnv();

/** The current Strassen-Winograd settings (a copy). */
export function strassenSettings(): StrassenSettings {
  return { ...strassen };
}

/** Changes the Strassen-Winograd settings; omitted fields keep their value. */
export function configureStrassen(s: Partial<StrassenSettings>): void {
  if (s.crossover !== undefined) {
    if (!Number.isInteger(s.crossover) || s.crossover < 2)
      throw new RangeError(`Strassen crossover must be an integer >= 2 (got ${s.crossover})`);
    strassen.crossover = s.crossover;
  }
  if (s.enabled !== undefined) strassen.enabled = s.enabled;
}

/**
 * Runs one GEMM with the TypeScript kernel. Arithmetic is in float64 throughout.
 *
 * float32: op(A) and op(B) are first copied into packed float64 matrices (O(n²) next to the n³
 * product), so the packing routines and the micro-kernel only ever see Float64Array and stay
 * monomorphic (V8 loads from Float32Array are slower, and one shared packing routine reading
 * both types was deoptimised back and forth); C is rounded to float32 once at the end. The
 * float32 product therefore runs at the float64 kernel's speed, and is more accurate than a
 * float32-accumulating BLAS. The Strassen path keeps this: its sums and products are float64 too.
 */
export function gemmTs(g: GemmArgs): void {
  const { m, n, k, alpha } = g;
  const cut = strassen.crossover;
  if (strassen.enabled && alpha !== 0 && m >= cut && n >= cut && k >= cut) gemmStrassen(g);
  else if (g.c.BYTES_PER_ELEMENT === 4) gemmF32(g);
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

/** A row-major float64 matrix view: element (i, j) is data[off + i*ld + j]. */
interface Mat {
  data: Float64Array;
  off: number;
  ld: number;
}

const sub = (x: Mat, i: number, j: number, ld = x.ld): Mat => ({
  data: x.data,
  off: x.off + i * x.ld + j,
  ld,
});

/** C = A · B (C overwritten) with the classical packed kernel. */
function baseGemm(m: number, n: number, k: number, a: Mat, b: Mat, c: Mat): void {
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

/** C = alpha * T + beta * C for T the m x n float64 product (rounds once for float32 C). */
function finish(g: GemmArgs, t: Float64Array): void {
  const { m, n, alpha, beta, c, offC, ldc } = g;
  for (let i = 0; i < m; i++) {
    const row = offC + i * ldc;
    for (let j = 0; j < n; j++) {
      const ab = alpha * t[i * n + j]!;
      c[row + j] = beta === 0 ? ab : ab + beta * c[row + j]!;
    }
  }
}

function gemmF32(g: GemmArgs): void {
  const { m, n, k, alpha } = g;
  if (m === 0 || n === 0) return;
  const a64 = toFloat64(g.a, g.offA, g.lda, g.transA, m, k);
  const b64 = toFloat64(g.b, g.offB, g.ldb, g.transB, k, n);
  const t = new Float64Array(m * n);
  if (k > 0 && alpha !== 0)
    baseGemm(m, n, k, { data: a64, off: 0, ld: k }, { data: b64, off: 0, ld: n }, { data: t, off: 0, ld: n });
  finish(g, t);
}

/** Z = X + sign·Y over an m x n block (Z may alias X or Y); sign is ±1, so the result is exact. */
function addScaled(m: number, n: number, x: Mat, sign: 1 | -1, y: Mat, z: Mat): void {
  const X = x.data;
  const Y = y.data;
  const Z = z.data;
  for (let i = 0; i < m; i++) {
    const xo = x.off + i * x.ld;
    const yo = y.off + i * y.ld;
    const zo = z.off + i * z.ld;
    for (let j = 0; j < n; j++) Z[zo + j] = X[xo + j]! + sign * Y[yo + j]!;
  }
}

const addTo = (m: number, n: number, x: Mat, y: Mat, z: Mat) => addScaled(m, n, x, 1, y, z);
const subTo = (m: number, n: number, x: Mat, y: Mat, z: Mat) => addScaled(m, n, x, -1, y, z);

/**
 * Winograd's U2..U7 in one pass over the quadrants: on entry C11 = P3, C12 = P6, C21 = P7,
 * C22 = P5 and p1 = P1; on exit C12 = U5, C21 = U3, C22 = U7 (C11 is free again).
 */
function combine(m: number, n: number, p1: Mat, c11: Mat, c12: Mat, c21: Mat, c22: Mat): void {
  const P = p1.data;
  const C = c11.data;
  for (let i = 0; i < m; i++) {
    const po = p1.off + i * p1.ld;
    const o11 = c11.off + i * c11.ld;
    const o12 = c12.off + i * c12.ld;
    const o21 = c21.off + i * c21.ld;
    const o22 = c22.off + i * c22.ld;
    for (let j = 0; j < n; j++) {
      const u2 = P[po + j]! + C[o12 + j]!;
      const p5 = C[o22 + j]!;
      const u3 = u2 + C[o21 + j]!;
      C[o21 + j] = u3;
      C[o22 + j] = u3 + p5;
      C[o12 + j] = u2 + p5 + C[o11 + j]!;
    }
  }
}

/** Float64 elements of workspace `strassenRec` needs below a product of this shape. */
function workspaceSize(m: number, n: number, k: number, cut: number): number {
  let size = 0;
  while (m >= cut && n >= cut && k >= cut) {
    m >>= 1;
    n >>= 1;
    k >>= 1;
    size += m * Math.max(k, n) + k * n;
  }
  return size;
}

/**
 * C = A · B (C overwritten) by Strassen-Winograd, with the schedule of Douglas et al. (1994) /
 * Boyer et al. (2009) that needs only two temporaries per level, X (m/2 x max(k/2, n/2)) and
 * Y (k/2 x n/2), both in `ws` at `wo`; deeper levels use the workspace after them. Odd dimensions
 * are peeled: the even leading part recurses, the last row/column/rank-1 term are fixed up.
 */
function strassenRec(
  m: number,
  n: number,
  k: number,
  A: Mat,
  B: Mat,
  C: Mat,
  ws: Float64Array,
  wo: number,
  cut: number,
): void {
  if (m < cut || n < cut || k < cut) {
    baseGemm(m, n, k, A, B, C);
    return;
  }
  const h = m >> 1;
  const w = n >> 1;
  const d = k >> 1;
  const a11 = A;
  const a12 = sub(A, 0, d);
  const a21 = sub(A, h, 0);
  const a22 = sub(A, h, d);
  const b11 = B;
  const b12 = sub(B, 0, w);
  const b21 = sub(B, d, 0);
  const b22 = sub(B, d, w);
  const c11 = C;
  const c12 = sub(C, 0, w);
  const c21 = sub(C, h, 0);
  const c22 = sub(C, h, w);
  const X: Mat = { data: ws, off: wo, ld: d }; // S1..S4, h x d
  const XP: Mat = { data: ws, off: wo, ld: w }; // P1, h x w (same storage)
  const Y: Mat = { data: ws, off: wo + h * Math.max(d, w), ld: w }; // T1..T4, d x w
  const next = Y.off + d * w;
  subTo(h, d, a11, a21, X); // S3
  subTo(d, w, b22, b12, Y); // T3
  strassenRec(h, w, d, X, Y, c21, ws, next, cut); // P7
  addTo(h, d, a21, a22, X); // S1
  subTo(d, w, b12, b11, Y); // T1
  strassenRec(h, w, d, X, Y, c22, ws, next, cut); // P5
  subTo(h, d, X, a11, X); // S2 = S1 - A11
  subTo(d, w, b22, Y, Y); // T2 = B22 - T1
  strassenRec(h, w, d, X, Y, c12, ws, next, cut); // P6
  subTo(h, d, a12, X, X); // S4 = A12 - S2
  strassenRec(h, w, d, X, b22, c11, ws, next, cut); // P3
  strassenRec(h, w, d, a11, b11, XP, ws, next, cut); // P1
  combine(h, w, XP, c11, c12, c21, c22); // C12 = U5, C21 = U3, C22 = U7
  subTo(d, w, Y, b21, Y); // T4 = T2 - B21
  strassenRec(h, w, d, a22, Y, c11, ws, next, cut); // P4
  subTo(h, w, c21, c11, c21); // C21 = U6 = U3 - P4
  strassenRec(h, w, d, a12, b21, c11, ws, next, cut); // P2
  addTo(h, w, XP, c11, c11); // C11 = U1 = P1 + P2
  peel(m, n, k, h * 2, w * 2, d * 2, A, B, C);
}

/** Fix-ups for odd m, n, k after the even part (me x ne x ke) was multiplied. */
function peel(
  m: number,
  n: number,
  k: number,
  me: number,
  ne: number,
  ke: number,
  A: Mat,
  B: Mat,
  C: Mat,
): void {
  const a = A.data;
  const b = B.data;
  const c = C.data;
  if (ke < k) {
    // C[:me, :ne] += A[:me, k-1] * B[k-1, :ne]
    const bo = B.off + (k - 1) * B.ld;
    for (let i = 0; i < me; i++) {
      const x = a[A.off + i * A.ld + k - 1]!;
      const co = C.off + i * C.ld;
      for (let j = 0; j < ne; j++) c[co + j] += x * b[bo + j]!;
    }
  }
  if (ne < n) {
    // C[:, n-1] = A · B[:, n-1] for every row.
    for (let i = 0; i < m; i++) {
      const ao = A.off + i * A.ld;
      let s = 0;
      for (let p = 0, q = B.off + n - 1; p < k; p++, q += B.ld) s += a[ao + p]! * b[q]!;
      c[C.off + i * C.ld + n - 1] = s;
    }
  }
  if (me < m) {
    // C[m-1, :ne] = A[m-1, :] · B[:, :ne]
    const ao = A.off + (m - 1) * A.ld;
    const co = C.off + (m - 1) * C.ld;
    c.fill(0, co, co + ne);
    for (let p = 0; p < k; p++) {
      const x = a[ao + p]!;
      const bo = B.off + p * B.ld;
      for (let j = 0; j < ne; j++) c[co + j] += x * b[bo + j]!;
    }
  }
}

/**
 * Strassen-Winograd GEMM for either dtype. Operands that are float64 and not transposed are used
 * in place; others are copied to packed float64 (O(n²)). C is written directly when it is float64
 * with alpha = 1 and beta = 0 (plain matmul), else through a float64 product and `finish`. The
 * workspace is allocated per call, not kept, so a long-lived engine does not hold ~n² floats.
 */
function gemmStrassen(g: GemmArgs): void {
  const { m, n, k, alpha, beta } = g;
  const cut = strassen.crossover;
  const A: Mat =
    g.a instanceof Float64Array && !g.transA
      ? { data: g.a, off: g.offA, ld: g.lda }
      : { data: toFloat64(g.a, g.offA, g.lda, g.transA, m, k), off: 0, ld: k };
  const B: Mat =
    g.b instanceof Float64Array && !g.transB
      ? { data: g.b, off: g.offB, ld: g.ldb }
      : { data: toFloat64(g.b, g.offB, g.ldb, g.transB, k, n), off: 0, ld: n };
  const direct = g.c instanceof Float64Array && alpha === 1 && beta === 0;
  const C: Mat = direct
    ? { data: g.c as Float64Array, off: g.offC, ld: g.ldc }
    : { data: new Float64Array(m * n), off: 0, ld: n };
  strassenRec(m, n, k, A, B, C, new Float64Array(workspaceSize(m, n, k, cut)), 0, cut);
  if (!direct) finish(g, C.data);
}

function gemmF64(g: GemmArgs): void {
  scaleC(g);
  const { m, n, k, alpha } = g;
  if (k === 0 || alpha === 0 || m === 0 || n === 0) return;
  const ks: KernelSpace = kernelSpace();
  for (let jc = 0; jc < n; jc += NC) {
    const nc = Math.min(NC, n - jc);
    const ncp = Math.ceil(nc / NR) * NR;
    for (let pc = 0; pc < k; pc += KC) {
      const kc = Math.min(KC, k - pc);
      packPanelsB(ks.packB, g, pc, kc, jc, nc);
      for (let ic = 0; ic < m; ic += MC) {
        const mc = Math.min(MC, m - ic);
        packPanelsA(ks.packA, g, ic, mc, pc, kc);
        ks.multiply(Math.ceil(mc / MR) * MR, ncp, kc);
        addBlock(g, ks.block, ic, mc, jc, nc, ncp);
      }
    }
  }
}

/** The TypeScript backend. */
export const tsBackend: GemmBackend = { name: "ts", gemm: gemmTs };
