/**
 * `matmul` and `dot`: matrix products for 1-D and 2-D arrays (and stacks of matrices for
 * `matmul`). Float operands go to the selected GEMM backend; strided and transposed views are
 * described to it with a leading dimension and a transpose flag instead of being copied, which
 * covers C order, F order, `.T` and sub-blocks like `A.slice(":n/2", ":n/2")`. Only views with no
 * unit stride (or with negative/zero strides) are copied first, as numpy does.
 * @module
 */
import { asarray } from "../creation.js";
import { allocate, type DType, isFloat, promoteTypes } from "../dtype.js";
import { multiply } from "../elementwise.js";
import { formatShape, ShapeError, ValueError } from "../errors.js";
import { type ArrayLike, NDArray } from "../ndarray.js";
import { broadcastShapes, sizeOf, stridesFor } from "../shape.js";
import { type FloatArray, gemmBackend } from "./backend.js";

/** How a 2-D view reaches GEMM: the typed array, offset, leading dimension and transpose flag. */
export interface GemmOperand {
  data: FloatArray;
  offset: number;
  ld: number;
  trans: boolean;
}

/**
 * Describes a 2-D float view as a GEMM operand without copying when one of its axes has unit
 * stride; otherwise returns a C-contiguous copy's description.
 */
export function gemmOperand(x: NDArray): GemmOperand {
  const [r, c] = x.shape as [number, number];
  const [s0, s1] = x.strides as [number, number];
  // Row-major: unit column stride, rows at least `c` apart (a length-1 axis may have any stride).
  if ((c === 1 || s1 === 1) && (r === 1 || s0 >= Math.max(c, 1))) {
    return { data: x.data as FloatArray, offset: x.offset, ld: r === 1 ? Math.max(c, 1) : s0, trans: false };
  }
  // Column-major: the transpose of a row-major (c x r) matrix.
  if ((r === 1 || s0 === 1) && (c === 1 || s1 >= Math.max(r, 1))) {
    return { data: x.data as FloatArray, offset: x.offset, ld: c === 1 ? Math.max(r, 1) : s1, trans: true };
  }
  const packed = x.copy("C");
  return { data: packed.data as FloatArray, offset: 0, ld: Math.max(c, 1), trans: false };
}

/** C = A · B for 2-D float arrays of one dtype, into a new C-order array. */
function gemm2d(a: NDArray, b: NDArray, dtype: DType): NDArray {
  const m = a.shape[0]!;
  const n = b.shape[1]!;
  const out = new NDArray(allocate(dtype, m * n), [m, n], [n, 1], 0, dtype);
  gemmInto(a, b, out, 1, 0);
  return out;
}

/**
 * General matrix multiply into an existing 2-D float array: `out = alpha * a·b + beta * out`.
 * `out` must be row-major with unit column stride (any row stride, so a block of a larger
 * C-order matrix works). All three must share one float dtype.
 */
export function gemmInto(a: NDArray, b: NDArray, out: NDArray, alpha = 1, beta = 0): void {
  if (a.ndim !== 2 || b.ndim !== 2 || out.ndim !== 2)
    throw new ValueError("gemmInto: all operands must be 2-D");
  const [m, k] = a.shape as [number, number];
  const [k2, n] = b.shape as [number, number];
  if (k !== k2 || out.shape[0] !== m || out.shape[1] !== n) {
    throw new ShapeError(
      `gemmInto: shapes ${formatShape(a.shape)} · ${formatShape(b.shape)} -> ${formatShape(out.shape)} do not match`,
    );
  }
  if (!isFloat(a.dtype) || a.dtype !== b.dtype || a.dtype !== out.dtype) {
    throw new ValueError(
      `gemmInto: operands must share one float dtype (got ${a.dtype}, ${b.dtype}, ${out.dtype})`,
    );
  }
  const ldc = m <= 1 ? Math.max(n, 1) : out.strides[0]!;
  if ((n > 1 && out.strides[1] !== 1) || ldc < n) {
    throw new ValueError("gemmInto: out must be row-major with unit column stride");
  }
  if (m === 0 || n === 0) return;
  if (k === 0) {
    if (beta !== 1) out.assign(out.multiply(beta));
    return;
  }
  const A = gemmOperand(a);
  const B = gemmOperand(b);
  gemmBackend().gemm({
    transA: A.trans,
    transB: B.trans,
    m,
    n,
    k,
    alpha,
    a: A.data,
    offA: A.offset,
    lda: A.ld,
    b: B.data,
    offB: B.offset,
    ldb: B.ld,
    beta,
    c: out.data as FloatArray,
    offC: out.offset,
    ldc,
  });
}

/** Integer (and bool) matrix product by a plain triple loop, in int32. */
function intMatmul(a: NDArray, b: NDArray): NDArray {
  const [m, k] = a.shape as [number, number];
  const n = b.shape[1]!;
  const out = new NDArray(new Int32Array(m * n), [m, n]);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const x = a.get(i, p);
      if (x === 0) continue;
      for (let j = 0; j < n; j++)
        out.data[i * n + j] = (out.data[i * n + j]! + Math.imul(x, b.get(p, j))) | 0;
    }
  }
  return out;
}

function product2d(a: NDArray, b: NDArray): NDArray {
  const dtype = promoteTypes(a.dtype, b.dtype);
  if (!isFloat(dtype)) return intMatmul(a, b);
  return gemm2d(a.astype(dtype, { copy: false }), b.astype(dtype, { copy: false }), dtype);
}

function alignedError(a: NDArray, b: NDArray): ShapeError {
  const ka = a.shape[a.ndim - 1]!;
  const kb = b.shape[Math.max(b.ndim - 2, 0)]!;
  return new ShapeError(
    `shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} not aligned: ${ka} (dim ${a.ndim - 1}) != ${kb} (dim ${Math.max(b.ndim - 2, 0)})`,
  );
}

/**
 * Matrix product like numpy's `a @ b`: 2-D · 2-D is a matrix; a 1-D operand is treated as a row
 * (left) or column (right) vector and that axis is removed from the result; N-D operands are
 * stacks of matrices broadcast over the leading axes. Scalars are rejected, as in numpy.
 */
export function matmul(x: ArrayLike, y: ArrayLike): NDArray {
  const a = asarray(typeof x === "number" || typeof x === "boolean" ? [x] : x);
  const b = asarray(typeof y === "number" || typeof y === "boolean" ? [y] : y);
  if (typeof x === "number" || typeof y === "number" || a.ndim === 0 || b.ndim === 0) {
    throw new ValueError("matmul: input operands must be at least 1-D (use multiply for scalars)");
  }
  const a2 = a.ndim === 1 ? a.reshape(1, a.shape[0]!) : a;
  const b2 = b.ndim === 1 ? b.reshape(b.shape[0]!, 1) : b;
  if (a2.shape[a2.ndim - 1] !== b2.shape[b2.ndim - 2]) throw alignedError(a, b);
  let out: NDArray;
  if (a2.ndim === 2 && b2.ndim === 2) out = product2d(a2, b2);
  else {
    const batch = broadcastShapes(a2.shape.slice(0, -2), b2.shape.slice(0, -2));
    const [m, n] = [a2.shape[a2.ndim - 2]!, b2.shape[b2.ndim - 1]!];
    const k = a2.shape[a2.ndim - 1]!;
    const aB = a2.broadcastTo([...batch, m, k]);
    const bB = b2.broadcastTo([...batch, k, n]);
    const dtype = promoteTypes(a.dtype, b.dtype);
    const shape = [...batch, m, n];
    out = new NDArray(allocate(isFloat(dtype) ? dtype : "int32", sizeOf(shape)), shape, stridesFor(shape));
    const count = sizeOf(batch);
    for (let t = 0; t < count; t++) {
      const idx: number[] = [];
      let rest = t;
      for (let ax = batch.length - 1; ax >= 0; ax--) {
        idx.unshift(rest % batch[ax]!);
        rest = Math.floor(rest / batch[ax]!);
      }
      out.slice(...idx).assign(product2d(aB.slice(...idx), bB.slice(...idx)));
    }
  }
  if (a.ndim === 1) out = out.squeeze(out.ndim - 2);
  if (b.ndim === 1) out = out.squeeze(out.ndim - 1);
  return out;
}

/**
 * numpy's `dot` for the cases the lessons use: 1-D · 1-D is the inner product (a number), 2-D ·
 * 2-D the matrix product, 2-D · 1-D and 1-D · 2-D matrix-vector products; a scalar operand
 * multiplies elementwise. Mismatched inner dimensions throw a ShapeError naming both shapes.
 */
export function dot(x: ArrayLike, y: ArrayLike): NDArray | number {
  if (typeof x === "number" || typeof y === "number") return multiply(x, y);
  const a = asarray(x);
  const b = asarray(y);
  if (a.ndim === 1 && b.ndim === 1) {
    if (a.shape[0] !== b.shape[0]) throw alignedError(a, b);
    let s = 0;
    const [sa, sb] = [a.strides[0]!, b.strides[0]!];
    for (let i = 0, p = a.offset, q = b.offset; i < a.shape[0]!; i++, p += sa, q += sb)
      s += a.data[p]! * b.data[q]!;
    return a.dtype === "float32" && b.dtype === "float32" ? Math.fround(s) : s;
  }
  if (a.ndim > 2 || b.ndim > 2)
    throw new ValueError("dot: only 1-D and 2-D operands are supported; use matmul for stacks");
  return matmul(a, b);
}
