/**
 * Reductions over all elements or along axes: sum, prod, mean, min, max, var, std, argmax, argmin.
 * Without an axis they return a plain number (numpy returns a scalar); with one they return an
 * NDArray, keeping the reduced axes as length 1 when `keepdims` is true.
 * @module
 */
import { allocate, type DType, floatResultType, isFloat } from "./dtype.js";
import * as ew from "./elementwise.js";
import { ValueError } from "./errors.js";
import { accumulateRun, type FoldOp, foldRun } from "./loop-compiler.js";
import { NDArray } from "./ndarray.js";
import { normalizeAxes, normalizeAxis, sizeOf, stridesFor } from "./shape.js";
import { stridedLoop } from "./strided-loop.js";

/** An axis argument: one axis, several, or null for all. */
export type AxisLike = number | readonly number[] | null;

const SUM: FoldOp = { name: "sum", combine: "t + a", identity: 0 };
const SUM_SQUARES: FoldOp = { name: "sum_squares", combine: "t + a * a", merge: "t + u", identity: 0 };
const PROD: FoldOp = { name: "prod", combine: "t * a", identity: 1 };
const MAX: FoldOp = { name: "max", combine: "Math.max(t, a)", identity: Number.NEGATIVE_INFINITY };
const MIN: FoldOp = { name: "min", combine: "Math.min(t, a)", identity: Number.POSITIVE_INFINITY };

/**
 * Folds `a` along `axes` into a float64 accumulator shaped like the result with kept axes. The
 * input is walked in its own memory order, so reducing axis 0 of a C array streams through rows
 * (an elementwise accumulate per row) and reducing the last axis folds each row into one number.
 */
function fold(a: NDArray, axes: readonly number[], op: FoldOp): NDArray {
  const keptShape = a.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const acc = new NDArray(new Float64Array(sizeOf(keptShape)).fill(op.identity), keptShape);
  const accStrides = acc.strides.map((s, i) => (axes.includes(i) ? 0 : s));
  const z = acc.data;
  const x = a.data;
  const foldRow = foldRun(op, a.dtype);
  const accumulate = accumulateRun(op, a.dtype);
  stridedLoop(a.shape, [{ strides: accStrides, offset: 0 }, a], (n, o, s) => {
    const p = o[0]!;
    if (s[0] === 0) z[p] = foldRow(n, x, o[1]!, s[1]!, z[p]!);
    else accumulate(n, x, o[1]!, s[1]!, z, p, s[0]!);
  });
  return acc;
}

/** Converts a kept-dims accumulator to the result dtype and drops the reduced axes unless kept. */
function finish(acc: NDArray, axes: readonly number[], keepdims: boolean, dtype: DType): NDArray {
  const out = acc.astype(dtype);
  return keepdims ? out : out.squeeze(axes);
}

function reduce(
  name: string,
  a: NDArray,
  axis: AxisLike | undefined,
  keepdims: boolean,
  op: FoldOp,
  dtype: DType,
  needsElements: boolean,
): number | NDArray {
  const axes = normalizeAxes(axis ?? null, a.ndim);
  if (needsElements && axes.some((ax) => a.shape[ax] === 0)) {
    throw new ValueError(`zero-size array to reduction operation ${name} which has no identity`);
  }
  const acc = fold(a, axes, op);
  if (axis === undefined) return acc.data[0]!;
  return finish(acc, axes, keepdims, dtype);
}

function sumType(d: DType): DType {
  return isFloat(d) ? d : "int32";
}

/** Sum of all elements (a number), or along `axis` (an array). Integer sums give int32 arrays. */
export function sum(a: NDArray): number;
/** `sum` along `axis` (one axis, several, or null for all), as an array; `keepdims` keeps reduced axes as length 1. */
export function sum(a: NDArray, axis: AxisLike, keepdims?: boolean): NDArray;
export function sum(a: NDArray, axis?: AxisLike, keepdims = false): number | NDArray {
  return reduce("add", a, axis, keepdims, SUM, sumType(a.dtype), false);
}

/** Product of all elements (a number), or along `axis` (an array). */
export function prod(a: NDArray): number;
/** `prod` along `axis` (one axis, several, or null for all), as an array; `keepdims` keeps reduced axes as length 1. */
export function prod(a: NDArray, axis: AxisLike, keepdims?: boolean): NDArray;
export function prod(a: NDArray, axis?: AxisLike, keepdims = false): number | NDArray {
  return reduce("multiply", a, axis, keepdims, PROD, sumType(a.dtype), false);
}

/** Largest element (a number), or largest along `axis`. NaN propagates; empty input throws. */
export function max(a: NDArray): number;
/** `max` along `axis` (one axis, several, or null for all), as an array; `keepdims` keeps reduced axes as length 1. */
export function max(a: NDArray, axis: AxisLike, keepdims?: boolean): NDArray;
export function max(a: NDArray, axis?: AxisLike, keepdims = false): number | NDArray {
  return reduce("maximum", a, axis, keepdims, MAX, a.dtype, true);
}

/** Smallest element (a number), or smallest along `axis`. NaN propagates; empty input throws. */
export function min(a: NDArray): number;
/** `min` along `axis` (one axis, several, or null for all), as an array; `keepdims` keeps reduced axes as length 1. */
export function min(a: NDArray, axis: AxisLike, keepdims?: boolean): NDArray;
export function min(a: NDArray, axis?: AxisLike, keepdims = false): number | NDArray {
  return reduce("minimum", a, axis, keepdims, MIN, a.dtype, true);
}

function countOf(a: NDArray, axes: readonly number[]): number {
  return axes.reduce((n, ax) => n * a.shape[ax]!, 1);
}

/** Arithmetic mean (a number), or along `axis`. Integer input gives float64. */
export function mean(a: NDArray): number;
/** `mean` along `axis` (one axis, several, or null for all), as an array; `keepdims` keeps reduced axes as length 1. */
export function mean(a: NDArray, axis: AxisLike, keepdims?: boolean): NDArray;
export function mean(a: NDArray, axis?: AxisLike, keepdims = false): number | NDArray {
  const axes = normalizeAxes(axis ?? null, a.ndim);
  const acc = fold(a, axes, SUM);
  const n = countOf(a, axes);
  const z = acc.data;
  for (let i = 0; i < z.length; i++) z[i] = z[i]! / n;
  if (axis === undefined) return z[0]!;
  return finish(acc, axes, keepdims, floatResultType(a.dtype));
}

/** Variance with `ddof` delta degrees of freedom (default 0, the population variance). */
export function variance(a: NDArray): number;
/** `variance` along `axis` (one axis, several, or null for all), as an array; `keepdims` keeps reduced axes as length 1. */
export function variance(a: NDArray, axis: AxisLike, keepdims?: boolean, ddof?: number): NDArray;
export function variance(a: NDArray, axis?: AxisLike, keepdims = false, ddof = 0): number | NDArray {
  const axes = normalizeAxes(axis ?? null, a.ndim);
  const m = fold(a, axes, SUM);
  const n = countOf(a, axes);
  for (let i = 0; i < m.data.length; i++) m.data[i] = m.data[i]! / n;
  const dev = ew.subtract(a.astype("float64"), m);
  const acc = fold(dev, axes, SUM_SQUARES);
  const z = acc.data;
  const div = Math.max(n - ddof, 0);
  for (let i = 0; i < z.length; i++) z[i] = z[i]! / div;
  if (axis === undefined) return z[0]!;
  return finish(acc, axes, keepdims, floatResultType(a.dtype));
}

/** Standard deviation with `ddof` delta degrees of freedom (default 0). */
export function std(a: NDArray): number;
/** `std` along `axis` (one axis, several, or null for all), as an array; `keepdims` keeps reduced axes as length 1. */
export function std(a: NDArray, axis: AxisLike, keepdims?: boolean, ddof?: number): NDArray;
export function std(a: NDArray, axis?: AxisLike, keepdims = false, ddof = 0): number | NDArray {
  if (axis === undefined) return Math.sqrt(variance(a, null, false, ddof).data[0]!);
  const v = variance(a, axis, keepdims, ddof);
  const z = v.data;
  for (let i = 0; i < z.length; i++) z[i] = Math.sqrt(z[i]!);
  return v;
}

function argBest(
  a: NDArray,
  axis: number | undefined,
  better: (x: number, best: number) => boolean,
  name: string,
): number | NDArray {
  if (axis === undefined) {
    const flat = a.ravel();
    if (flat.size === 0) throw new ValueError(`attempt to get ${name} of an empty sequence`);
    return (argBest(flat, 0, better, name) as NDArray).data[0]!;
  }
  const ax = normalizeAxis(axis, a.ndim);
  const len = a.shape[ax]!;
  if (len === 0) throw new ValueError(`attempt to get ${name} of an empty sequence`);
  const outShape = a.shape.filter((_, i) => i !== ax);
  const out = new NDArray(allocate("int32", sizeOf(outShape)), outShape, stridesFor(outShape), 0, "int32");
  const rest = { strides: a.strides.filter((_, i) => i !== ax), offset: a.offset };
  const step = a.strides[ax]!;
  const x = a.data;
  const z = out.data;
  stridedLoop(outShape, [out, rest], (n, o, s) => {
    for (let i = 0; i < n; i++) {
      let q = o[1]! + i * s[1]!;
      let best = x[q]!;
      let at = 0;
      for (let j = 1; j < len && !Number.isNaN(best); j++) {
        q += step;
        const v = x[q]!;
        if (Number.isNaN(v) || better(v, best)) {
          best = v;
          at = j;
        }
      }
      z[o[0]! + i * s[0]!] = at;
    }
  });
  return out;
}

/** Index of the largest element (flat, C order), or indices along `axis` as an int32 array. The first NaN wins. */
export function argmax(a: NDArray): number;
/** `argmax` along `axis`: an int32 array of indices. */
export function argmax(a: NDArray, axis: number): NDArray;
export function argmax(a: NDArray, axis?: number): number | NDArray {
  return argBest(a, axis, (v, b) => v > b, "argmax");
}

/** Index of the smallest element (flat, C order), or indices along `axis` as an int32 array. The first NaN wins. */
export function argmin(a: NDArray): number;
/** `argmin` along `axis`: an int32 array of indices. */
export function argmin(a: NDArray, axis: number): NDArray;
export function argmin(a: NDArray, axis?: number): number | NDArray {
  return argBest(a, axis, (v, b) => v < b, "argmin");
}
