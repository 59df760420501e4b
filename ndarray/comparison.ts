/**
 * Whole-array comparisons: `isclose`, `allclose` and `arrayEqual`.
 * @module
 */
import { asarray } from "./creation.js";
import { allocate } from "./dtype.js";
import type { ArrayLike, NDArray } from "./ndarray.js";
import { NDArray as NDArrayClass } from "./ndarray.js";
import { broadcastShapes, broadcastStrides, sizeOf, stridesFor } from "./shape.js";
import { stridedLoop } from "./strided-loop.js";

/** Tolerances for `isclose`/`allclose` (numpy's defaults: rtol 1e-5, atol 1e-8, NaNs unequal). */
export interface CloseOptions {
  rtol?: number;
  atol?: number;
  equalNan?: boolean;
}

function toArr(x: ArrayLike): NDArray {
  if (typeof x === "number") return new NDArrayClass(new Float64Array([x]), []);
  if (typeof x === "boolean") return new NDArrayClass(new Uint8Array([x ? 1 : 0]), [], [], 0, "bool");
  return asarray(x);
}

/**
 * Elementwise `|a - b| <= atol + rtol * |b|` with broadcasting (bool array). Infinities are close
 * only to the same infinity; NaNs only when `equalNan` is set. Mismatched shapes throw a ShapeError.
 */
export function isclose(a: ArrayLike, b: ArrayLike, options: CloseOptions = {}): NDArray {
  const rtol = options.rtol ?? 1e-5;
  const atol = options.atol ?? 1e-8;
  const equalNan = options.equalNan ?? false;
  const x = toArr(a);
  const y = toArr(b);
  const shape = broadcastShapes(x.shape, y.shape);
  const out = new NDArrayClass(allocate("bool", sizeOf(shape)), shape, stridesFor(shape), 0, "bool");
  const xv = { strides: broadcastStrides(x.shape, x.strides, shape), offset: x.offset };
  const yv = { strides: broadcastStrides(y.shape, y.strides, shape), offset: y.offset };
  const [xd, yd, z] = [x.data, y.data, out.data];
  stridedLoop(shape, [out, xv, yv], (n, o, s) => {
    for (let i = 0; i < n; i++) {
      const p = xd[o[1]! + i * s[1]!]!;
      const q = yd[o[2]! + i * s[2]!]!;
      let close: boolean;
      if (Number.isNaN(p) || Number.isNaN(q)) close = equalNan && Number.isNaN(p) && Number.isNaN(q);
      else if (!Number.isFinite(p) || !Number.isFinite(q)) close = p === q;
      else close = Math.abs(p - q) <= atol + rtol * Math.abs(q);
      z[o[0]! + i * s[0]!] = close ? 1 : 0;
    }
  });
  return out;
}

/** True when every pair of elements is close (see `isclose`); shapes must broadcast. */
export function allclose(a: ArrayLike, b: ArrayLike, options: CloseOptions = {}): boolean {
  const c = isclose(a, b, options);
  for (let i = 0; i < c.data.length; i++) if (c.data[i] === 0) return false;
  return true;
}

/** True when both have the same shape and equal elements (NaN equals NaN only with `equalNan`). */
export function arrayEqual(a: ArrayLike, b: ArrayLike, equalNan = false): boolean {
  const x = toArr(a);
  const y = toArr(b);
  if (x.ndim !== y.ndim || x.shape.some((d, i) => d !== y.shape[i])) return false;
  let same = true;
  stridedLoop(x.shape, [x, y], (n, o, s) => {
    for (let i = 0; i < n && same; i++) {
      const p = x.data[o[0]! + i * s[0]!]!;
      const q = y.data[o[1]! + i * s[1]!]!;
      if (p !== q && !(equalNan && Number.isNaN(p) && Number.isNaN(q))) same = false;
    }
  });
  return same;
}
