/**
 * Selecting, placing and repeating elements: `take`, `put`, `repeat` and `tile`.
 * @module
 */
import { asarray } from "./creation.js";
import { allocate } from "./dtype.js";
import { IndexError, ShapeError, ValueError } from "./errors.js";
import { concatenate } from "./joining.js";
import { type ArrayLike, copyInto, NDArray } from "./ndarray.js";
import { normalizeAxis, sizeOf, stridesFor } from "./shape.js";

/**
 * Elements at `indices` along `axis` (of the flattened array when no axis is given), like
 * numpy's `take`. Negative indices count from the end; out-of-range ones throw an IndexError.
 */
export function take(a: NDArray, indices: ArrayLike, axis?: number): NDArray {
  const src = axis === undefined ? a.ravel() : a;
  const ax = axis === undefined ? 0 : normalizeAxis(axis, a.ndim);
  const idx = asarray(typeof indices === "number" ? [indices] : indices);
  const len = src.shape[ax]!;
  const flat = idx.ravel();
  const k = flat.size;
  const pre = src.shape.slice(0, ax);
  const post = src.shape.slice(ax + 1);
  const shape = [...pre, ...(typeof indices === "number" ? [] : idx.shape), ...post];
  const out = new NDArray(allocate(a.dtype, sizeOf(shape)), shape, stridesFor(shape), 0, a.dtype);
  const outView = out.reshape([...pre, k, ...post]);
  const step = src.strides[ax]!;
  const dropAx = <T>(xs: readonly T[]): T[] => xs.filter((_, j) => j !== ax);
  for (let j = 0; j < k; j++) {
    const raw = flat.data[flat.offset + j * flat.strides[0]!]!;
    const i = raw < 0 ? raw + len : raw;
    if (!Number.isInteger(i) || i < 0 || i >= len) {
      throw new IndexError(`index ${raw} is out of bounds for axis ${ax} with size ${len}`);
    }
    if (src.ndim === 1) {
      out.data[j] = src.data[src.offset + i * step]!;
      continue;
    }
    const from = new NDArray(
      src.data,
      dropAx(src.shape),
      dropAx(src.strides),
      src.offset + i * step,
      src.dtype,
    );
    const to = new NDArray(
      out.data,
      dropAx(outView.shape),
      dropAx(outView.strides),
      outView.offset + j * outView.strides[ax]!,
      out.dtype,
    );
    copyInto(to, from);
  }
  return out;
}

/**
 * Repeats each element `repeats` times along `axis` (of the flattened array when no axis is
 * given): `repeat(arange(3), 2)` is `[0, 0, 1, 1, 2, 2]`. `repeats` may give one count per element.
 */
export function repeat(a: NDArray, repeats: number | readonly number[], axis?: number): NDArray {
  const src = axis === undefined ? a.ravel() : a;
  const ax = axis === undefined ? 0 : normalizeAxis(axis, a.ndim);
  const len = src.shape[ax]!;
  const counts = typeof repeats === "number" ? new Array<number>(len).fill(repeats) : [...repeats];
  if (counts.length !== len) {
    throw new ShapeError(`repeat: ${counts.length} repeat counts for an axis of length ${len}`);
  }
  if (counts.some((c) => !Number.isInteger(c) || c < 0))
    throw new ValueError("repeat: counts must be integers >= 0");
  const index: number[] = [];
  counts.forEach((c, i) => {
    for (let k = 0; k < c; k++) index.push(i);
  });
  return take(src, index, ax);
}

/** Builds an array by repeating `a` `reps` times along each axis, like numpy's `tile`. */
export function tile(a: NDArray, reps: number | readonly number[]): NDArray {
  const r = typeof reps === "number" ? [reps] : [...reps];
  const nd = Math.max(a.ndim, r.length);
  while (r.length < nd) r.unshift(1);
  let out = a;
  while (out.ndim < nd) out = out.expandDims(0);
  for (let ax = 0; ax < nd; ax++) {
    const n = r[ax]!;
    if (!Number.isInteger(n) || n < 0) throw new ValueError("tile: repetitions must be integers >= 0");
    if (n === 0) {
      const shape = out.shape.map((d, i) => (i === ax ? 0 : d));
      out = new NDArray(allocate(a.dtype, 0), shape, stridesFor(shape), 0, a.dtype);
    } else if (n !== 1) out = concatenate(new Array<NDArray>(n).fill(out), ax);
  }
  return out === a ? a.copy() : out;
}

/**
 * Writes `values` at the flat (C-order) positions `indices` of `a`, in place, like numpy's `put`;
 * `values` repeats if shorter. `C[i, j] = v` with index arrays `i`, `j` over a C-order matrix is
 * `put(C, i * n + j, v)`.
 */
export function put(a: NDArray, indices: ArrayLike, values: ArrayLike): void {
  const idx = asarray(typeof indices === "number" ? [indices] : indices).ravel();
  const vals = asarray(typeof values === "number" || typeof values === "boolean" ? [values] : values).ravel();
  if (vals.size === 0) return;
  const size = a.size;
  const strides = a.strides;
  for (let k = 0; k < idx.size; k++) {
    const raw = idx.data[idx.offset + k * idx.strides[0]!]!;
    let rest = raw < 0 ? raw + size : raw;
    if (!Number.isInteger(rest) || rest < 0 || rest >= size) {
      throw new IndexError(`index ${raw} is out of bounds for size ${size}`);
    }
    let o = a.offset;
    for (let ax = a.ndim - 1; ax >= 0; ax--) {
      const d = a.shape[ax]!;
      o += (rest % d) * strides[ax]!;
      rest = Math.floor(rest / d);
    }
    const v = vals.data[vals.offset + (k % vals.size) * vals.strides[0]!]!;
    a.data[o] = a.dtype === "bool" ? (v ? 1 : 0) : v;
  }
}
