// WebAssembly SIMD GEMM kernels for tsparallel/ndarray, compiled with AssemblyScript (`npm run build:wasm`).
//
// C = alpha * op(A) * op(B) + beta * C, row-major, where op(X) is X or its transpose. All pointers are
// byte addresses in this module's memory; the JS side (ndarray/linalg/gemm-wasm.ts) copies operands in,
// provides a scratch area for packing, and copies C out.
//
// Structure (Goto/BLIS): for each NC-wide column block of B and KC-deep slice of k, B is packed into
// NR-wide panels; for each MC-tall row block of A, A is packed into MR-tall panels (with alpha folded
// in); a register-blocked micro-kernel then updates every MR x NR tile of C from one A panel and one
// B panel. Packing turns every access in the micro-kernel into a unit-stride stream, and handles the
// transpose flags, so the kernel itself never sees lda/ldb.
//
// float64: MR x NR = 4 x 4 (eight f64x2 accumulators). float32: 4 x 8 (eight f32x4 accumulators).
// Larger tiles spill registers in V8 and run slower.

const D_MC: i32 = 64;
const D_KC: i32 = 256;
const D_NC: i32 = 2048;
const S_MC: i32 = 128;
const S_KC: i32 = 256;
const S_NC: i32 = 2048;

/** Bytes of scratch `dgemm` needs at `work`. */
export function dgemmWorkBytes(): i32 {
  return (D_MC * D_KC + D_KC * (D_NC + 4)) * 8;
}

/** Bytes of scratch `sgemm` needs at `work`. */
export function sgemmWorkBytes(): i32 {
  return (S_MC * S_KC + S_KC * (S_NC + 8)) * 4;
}

// ---------------------------------------------------------------------------------------------
// float64

function dAt(p: usize, trans: i32, ld: i32, row: i32, col: i32): f64 {
  return load<f64>(p + ((<usize>(trans ? col * ld + row : row * ld + col)) << 3));
}

function dScaleC(m: i32, n: i32, beta: f64, c: usize, ldc: i32): void {
  for (let i = 0; i < m; i++) {
    const row = c + ((<usize>(i * ldc)) << 3);
    for (let j = 0; j < n; j++) {
      const p = row + ((<usize>j) << 3);
      store<f64>(p, beta === 0 ? 0 : beta * load<f64>(p));
    }
  }
}

/** Packs op(B)[pc:pc+kc, jc:jc+nc] into 4-wide panels, zero-padding the last one. */
function dPackB(kc: i32, nc: i32, b: usize, trans: i32, ldb: i32, pc: i32, jc: i32, out: usize): void {
  let q = out;
  for (let j = 0; j < nc; j += 4) {
    const w = min(4, nc - j);
    for (let p = 0; p < kc; p++) {
      for (let t = 0; t < 4; t++) {
        store<f64>(q, t < w ? dAt(b, trans, ldb, pc + p, jc + j + t) : 0);
        q += 8;
      }
    }
  }
}

/** Packs alpha * op(A)[ic:ic+mc, pc:pc+kc] into 4-tall panels, zero-padding the last one. */
function dPackA(
  mc: i32,
  kc: i32,
  a: usize,
  trans: i32,
  lda: i32,
  ic: i32,
  pc: i32,
  alpha: f64,
  out: usize,
): void {
  let q = out;
  for (let i = 0; i < mc; i += 4) {
    const h = min(4, mc - i);
    for (let p = 0; p < kc; p++) {
      for (let t = 0; t < 4; t++) {
        store<f64>(q, t < h ? alpha * dAt(a, trans, lda, ic + i + t, pc + p) : 0);
        q += 8;
      }
    }
  }
}

/** C[0:mr, 0:nr] += Apanel * Bpanel over kc steps. */
function dKernel(kc: i32, ap: usize, bp: usize, c: usize, ldc: i32, mr: i32, nr: i32): void {
  let c00 = f64x2.splat(0),
    c01 = f64x2.splat(0);
  let c10 = f64x2.splat(0),
    c11 = f64x2.splat(0);
  let c20 = f64x2.splat(0),
    c21 = f64x2.splat(0);
  let c30 = f64x2.splat(0),
    c31 = f64x2.splat(0);
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let a = v128.load64_splat(ap);
    c00 = f64x2.add(c00, f64x2.mul(a, b0));
    c01 = f64x2.add(c01, f64x2.mul(a, b1));
    a = v128.load64_splat(ap, 8);
    c10 = f64x2.add(c10, f64x2.mul(a, b0));
    c11 = f64x2.add(c11, f64x2.mul(a, b1));
    a = v128.load64_splat(ap, 16);
    c20 = f64x2.add(c20, f64x2.mul(a, b0));
    c21 = f64x2.add(c21, f64x2.mul(a, b1));
    a = v128.load64_splat(ap, 24);
    c30 = f64x2.add(c30, f64x2.mul(a, b0));
    c31 = f64x2.add(c31, f64x2.mul(a, b1));
    ap += 32;
    bp += 32;
  }
  const rs = (<usize>ldc) << 3;
  if (mr === 4 && nr === 4) {
    let r = c;
    v128.store(r, f64x2.add(v128.load(r), c00));
    v128.store(r, f64x2.add(v128.load(r, 16), c01), 16);
    r += rs;
    v128.store(r, f64x2.add(v128.load(r), c10));
    v128.store(r, f64x2.add(v128.load(r, 16), c11), 16);
    r += rs;
    v128.store(r, f64x2.add(v128.load(r), c20));
    v128.store(r, f64x2.add(v128.load(r, 16), c21), 16);
    r += rs;
    v128.store(r, f64x2.add(v128.load(r), c30));
    v128.store(r, f64x2.add(v128.load(r, 16), c31), 16);
    return;
  }
  // Edge tile: spill the accumulators to a 4x4 staging area at address 0 and add the valid part.
  v128.store(0, c00);
  v128.store(16, c01);
  v128.store(32, c10);
  v128.store(48, c11);
  v128.store(64, c20);
  v128.store(80, c21);
  v128.store(96, c30);
  v128.store(112, c31);
  for (let i = 0; i < mr; i++) {
    for (let j = 0; j < nr; j++) {
      const p = c + <usize>i * rs + ((<usize>j) << 3);
      store<f64>(p, load<f64>(p) + load<f64>(<usize>(i * 32 + j * 8)));
    }
  }
}

/**
 * C = alpha * op(A) * op(B) + beta * C for float64. op(A) is m x k, op(B) is k x n, C is m x n; a
 * transposed operand is stored as its transpose (k x m, n x k) with the given leading dimension.
 * `work` must have `dgemmWorkBytes()` bytes, 16-byte aligned.
 */
export function dgemm(
  transA: i32,
  transB: i32,
  m: i32,
  n: i32,
  k: i32,
  alpha: f64,
  a: usize,
  lda: i32,
  b: usize,
  ldb: i32,
  beta: f64,
  c: usize,
  ldc: i32,
  work: usize,
): void {
  if (beta !== 1) dScaleC(m, n, beta, c, ldc);
  if (k === 0 || alpha === 0) return;
  const packA = work;
  const packB = work + ((<usize>(D_MC * D_KC)) << 3);
  for (let jc = 0; jc < n; jc += D_NC) {
    const nc = min(D_NC, n - jc);
    for (let pc = 0; pc < k; pc += D_KC) {
      const kc = min(D_KC, k - pc);
      dPackB(kc, nc, b, transB, ldb, pc, jc, packB);
      for (let ic = 0; ic < m; ic += D_MC) {
        const mc = min(D_MC, m - ic);
        dPackA(mc, kc, a, transA, lda, ic, pc, alpha, packA);
        for (let jr = 0; jr < nc; jr += 4) {
          const bp = packB + ((<usize>(jr * kc)) << 3);
          for (let ir = 0; ir < mc; ir += 4) {
            const cp = c + ((<usize>((ic + ir) * ldc + jc + jr)) << 3);
            dKernel(kc, packA + ((<usize>(ir * kc)) << 3), bp, cp, ldc, min(4, mc - ir), min(4, nc - jr));
          }
        }
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// float32

function sAt(p: usize, trans: i32, ld: i32, row: i32, col: i32): f32 {
  return load<f32>(p + ((<usize>(trans ? col * ld + row : row * ld + col)) << 2));
}

function sScaleC(m: i32, n: i32, beta: f32, c: usize, ldc: i32): void {
  for (let i = 0; i < m; i++) {
    const row = c + ((<usize>(i * ldc)) << 2);
    for (let j = 0; j < n; j++) {
      const p = row + ((<usize>j) << 2);
      store<f32>(p, beta === 0 ? 0 : beta * load<f32>(p));
    }
  }
}

function sPackB(kc: i32, nc: i32, b: usize, trans: i32, ldb: i32, pc: i32, jc: i32, out: usize): void {
  let q = out;
  for (let j = 0; j < nc; j += 8) {
    const w = min(8, nc - j);
    for (let p = 0; p < kc; p++) {
      for (let t = 0; t < 8; t++) {
        store<f32>(q, t < w ? sAt(b, trans, ldb, pc + p, jc + j + t) : 0);
        q += 4;
      }
    }
  }
}

function sPackA(
  mc: i32,
  kc: i32,
  a: usize,
  trans: i32,
  lda: i32,
  ic: i32,
  pc: i32,
  alpha: f32,
  out: usize,
): void {
  let q = out;
  for (let i = 0; i < mc; i += 4) {
    const h = min(4, mc - i);
    for (let p = 0; p < kc; p++) {
      for (let t = 0; t < 4; t++) {
        store<f32>(q, t < h ? alpha * sAt(a, trans, lda, ic + i + t, pc + p) : 0);
        q += 4;
      }
    }
  }
}

function sKernel(kc: i32, ap: usize, bp: usize, c: usize, ldc: i32, mr: i32, nr: i32): void {
  let c00 = f32x4.splat(0),
    c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0),
    c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0),
    c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0),
    c31 = f32x4.splat(0);
  for (let p = 0; p < kc; p++) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = f32x4.add(c00, f32x4.mul(a, b0));
    c01 = f32x4.add(c01, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 4);
    c10 = f32x4.add(c10, f32x4.mul(a, b0));
    c11 = f32x4.add(c11, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 8);
    c20 = f32x4.add(c20, f32x4.mul(a, b0));
    c21 = f32x4.add(c21, f32x4.mul(a, b1));
    a = v128.load32_splat(ap, 12);
    c30 = f32x4.add(c30, f32x4.mul(a, b0));
    c31 = f32x4.add(c31, f32x4.mul(a, b1));
    ap += 16;
    bp += 32;
  }
  const rs = (<usize>ldc) << 2;
  if (mr === 4 && nr === 8) {
    let r = c;
    v128.store(r, f32x4.add(v128.load(r), c00));
    v128.store(r, f32x4.add(v128.load(r, 16), c01), 16);
    r += rs;
    v128.store(r, f32x4.add(v128.load(r), c10));
    v128.store(r, f32x4.add(v128.load(r, 16), c11), 16);
    r += rs;
    v128.store(r, f32x4.add(v128.load(r), c20));
    v128.store(r, f32x4.add(v128.load(r, 16), c21), 16);
    r += rs;
    v128.store(r, f32x4.add(v128.load(r), c30));
    v128.store(r, f32x4.add(v128.load(r, 16), c31), 16);
    return;
  }
  v128.store(0, c00);
  v128.store(16, c01);
  v128.store(32, c10);
  v128.store(48, c11);
  v128.store(64, c20);
  v128.store(80, c21);
  v128.store(96, c30);
  v128.store(112, c31);
  for (let i = 0; i < mr; i++) {
    for (let j = 0; j < nr; j++) {
      const p = c + <usize>i * rs + ((<usize>j) << 2);
      store<f32>(p, load<f32>(p) + load<f32>(<usize>(i * 32 + j * 4)));
    }
  }
}

/** C = alpha * op(A) * op(B) + beta * C for float32; see `dgemm`. `work` needs `sgemmWorkBytes()` bytes. */
export function sgemm(
  transA: i32,
  transB: i32,
  m: i32,
  n: i32,
  k: i32,
  alpha: f32,
  a: usize,
  lda: i32,
  b: usize,
  ldb: i32,
  beta: f32,
  c: usize,
  ldc: i32,
  work: usize,
): void {
  if (beta !== 1) sScaleC(m, n, beta, c, ldc);
  if (k === 0 || alpha === 0) return;
  const packA = work;
  const packB = work + ((<usize>(S_MC * S_KC)) << 2);
  for (let jc = 0; jc < n; jc += S_NC) {
    const nc = min(S_NC, n - jc);
    for (let pc = 0; pc < k; pc += S_KC) {
      const kc = min(S_KC, k - pc);
      sPackB(kc, nc, b, transB, ldb, pc, jc, packB);
      for (let ic = 0; ic < m; ic += S_MC) {
        const mc = min(S_MC, m - ic);
        sPackA(mc, kc, a, transA, lda, ic, pc, alpha, packA);
        for (let jr = 0; jr < nc; jr += 8) {
          const bp = packB + ((<usize>(jr * kc)) << 2);
          for (let ir = 0; ir < mc; ir += 4) {
            const cp = c + ((<usize>((ic + ir) * ldc + jc + jr)) << 2);
            sKernel(kc, packA + ((<usize>(ir * kc)) << 2), bp, cp, ldc, min(4, mc - ir), min(8, nc - jr));
          }
        }
      }
    }
  }
}
