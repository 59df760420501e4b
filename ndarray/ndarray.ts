/**
 * The NDArray class: a typed array seen through a shape, element strides and an offset, like a
 * numpy ndarray. Slicing, transposition and (when the layout allows) reshaping return views that
 * share `data`; `copy`, `astype` and arithmetic return new arrays.
 * @module
 */
import { asarray, type NestedArray } from "./creation.js";
import {
  allocate,
  type DType,
  type DTypeLike,
  dtypeOfTypedArray,
  itemSize,
  sameRealmView,
  type TypedArray,
  toDType,
} from "./dtype.js";
import * as ew from "./elementwise.js";
import { formatShape, IndexError, ShapeError, ValueError } from "./errors.js";
import { formatHtml, formatRepr } from "./format.js";
import { applyIndex, type IndexSpec } from "./indexing.js";
import { dot, matmul } from "./linalg/matmul.js";
import { type UnaryOp, unaryRun } from "./loop-compiler.js";
import * as red from "./reductions.js";
import { repeat, take } from "./repetition.js";
import {
  broadcastShapes,
  broadcastStrides,
  isCContiguous,
  isFContiguous,
  normalizeAxis,
  type Order,
  reshapeStrides,
  resolveReshape,
  sizeOf,
  stridesFor,
} from "./shape.js";
import { stridedLoop } from "./strided-loop.js";

/** Brand checked by `isNDArray`; a registered symbol, so it works across two copies of this module. */
export const NDARRAY_BRAND: unique symbol = Symbol.for("tsparallel.NDArray");
const JUPYTER_DISPLAY: unique symbol = Symbol.for("Jupyter.display");
const NODE_INSPECT: unique symbol = Symbol.for("nodejs.util.inspect.custom");

/** Anything elementwise functions accept as an operand: an NDArray, a number, a boolean or nested arrays. */
export type ArrayLike = NDArray | number | boolean | NestedArray;

/** Copy order: `C`, `F`, `A` (F if the source is F-contiguous and not C-contiguous, else C) or `K` (keep the source's layout where possible). */
export type CopyOrder = Order | "A" | "K";

/** Layout flags, like numpy's `a.flags`. */
export interface LayoutFlags {
  readonly c_contiguous: boolean;
  readonly f_contiguous: boolean;
}

/** The MIME bundle Jupyter renders for an array. */
export interface MimeBundle {
  "text/plain": string;
  "text/html"?: string;
}

/** True when `x` is an NDArray from any copy of this module (checks the `tsparallel.NDArray` brand). */
export function isNDArray(x: unknown): x is NDArray {
  return typeof x === "object" && x !== null && (x as { [NDARRAY_BRAND]?: unknown })[NDARRAY_BRAND] === true;
}

/**
 * An n-dimensional array over a typed array.
 *
 * Element `(i0, i1, …)` lives at `data[offset + i0*strides[0] + i1*strides[1] + …]`; strides are in
 * elements and may be negative (reversed views) or zero (broadcast views). Create arrays with
 * `zeros`, `array`, `arange`, `random.random` and friends rather than with the constructor.
 */
export class NDArray {
  /** Element type. */
  readonly dtype: DType;
  /** The backing storage, shared with every view of this array. */
  readonly data: TypedArray;
  /** Length of each axis. */
  readonly shape: readonly number[];
  /** Step in `data` between neighbours along each axis, in elements. */
  readonly strides: readonly number[];
  /** Position in `data` of the first element. */
  readonly offset: number;
  declare readonly [NDARRAY_BRAND]: true;

  /**
   * Wraps `data` without copying. `strides` default to C order; `dtype` defaults to the typed
   * array's own type (pass `"bool"` to read a Uint8Array as booleans). A typed array from another
   * realm (a `vm` context) is re-viewed as this realm's type over the same memory.
   */
  constructor(
    data: TypedArray,
    shape: readonly number[],
    strides?: readonly number[],
    offset = 0,
    dtype?: DType,
  ) {
    this.data = sameRealmView(data);
    // Plain arrays, typed readonly but not frozen: V8 (Node 20) reads elements of frozen arrays
    // through a slow generic path, about 20 ns per access, which made `get(i, j)` cost 25 ns.
    this.shape = [...shape];
    this.strides = strides ? [...strides] : stridesFor(shape);
    this.offset = offset;
    this.dtype = dtype ?? typedArrayDType(data);
    if (this.strides.length !== this.shape.length) {
      throw new ShapeError(
        `strides ${formatShape(this.strides)} do not match shape ${formatShape(this.shape)}`,
      );
    }
  }

  /** Number of axes. */
  get ndim(): number {
    return this.shape.length;
  }

  /** Number of elements. */
  get size(): number {
    return sizeOf(this.shape);
  }

  /** Bytes per element. */
  get itemsize(): number {
    return itemSize(this.dtype);
  }

  /** Bytes the elements would occupy if packed. */
  get nbytes(): number {
    return this.size * this.itemsize;
  }

  /** Contiguity flags. */
  get flags(): LayoutFlags {
    return {
      c_contiguous: isCContiguous(this.shape, this.strides),
      f_contiguous: isFContiguous(this.shape, this.strides),
    };
  }

  /** The transpose (a view with reversed axes), like numpy's `a.T`. */
  get T(): NDArray {
    return this.transpose();
  }

  // ----- element access -------------------------------------------------------------------------

  /** Position in `data` of the element at `index` (one index per axis; negative ones count from the end). */
  flatIndex(index: readonly number[]): number {
    if (index.length !== this.ndim) {
      throw new IndexError(
        `expected ${this.ndim} indices for shape ${formatShape(this.shape)}, got ${index.length}`,
      );
    }
    let o = this.offset;
    for (let ax = 0; ax < index.length; ax++) {
      const len = this.shape[ax]!;
      let i = index[ax]!;
      if (!Number.isInteger(i)) throw new IndexError(`index ${i} for axis ${ax} is not an integer`);
      if (i < 0) i += len;
      if (i < 0 || i >= len)
        throw new IndexError(`index ${index[ax]} is out of bounds for axis ${ax} with size ${len}`);
      o += i * this.strides[ax]!;
    }
    return o;
  }

  /**
   * Reads one element; negative indices count from the end. `a.get(1, 2)` is numpy's `a[1, 2]`.
   *
   * One and two indices on 1-D and 2-D arrays take an allocation-free fast path (a few ns per
   * call). In a hot loop, reading `data` directly is faster still: element `(i, j)` of a 2-D array
   * is `a.data[a.offset + i * a.strides[0] + j * a.strides[1]]` (hoist `data`, `offset` and the
   * strides into locals before the loop; for a fresh C-order array that is `data[i * cols + j]`).
   */
  get(...index: number[]): number {
    const shape = this.shape;
    const argc = index.length;
    if (argc === 2 && shape.length === 2) {
      const r = shape[0]!;
      const c = shape[1]!;
      let p = index[0]!;
      let q = index[1]!;
      if (p < 0) p += r;
      if (q < 0) q += c;
      // (x | 0) === x rejects fractions and NaN; the unsigned compare also rejects negatives.
      if ((p | 0) === p && (q | 0) === q && p >>> 0 < r && q >>> 0 < c) {
        return this.data[this.offset + p * this.strides[0]! + q * this.strides[1]!]!;
      }
    } else if (argc === 1 && shape.length === 1) {
      const len = shape[0]!;
      let p = index[0]!;
      if (p < 0) p += len;
      if ((p | 0) === p && p >>> 0 < len) return this.data[this.offset + p * this.strides[0]!]!;
    }
    // Other ranks, and every error, take the general path.
    return this.data[this.flatIndex(index)]!;
  }

  /**
   * Writes one element: `a.set(1, 2, v)` (or `a.set([1, 2], v)`) is numpy's `a[1, 2] = v`; `v` may
   * be a number, a boolean or a size-1 array. Converts to this array's dtype. Like `get`, the
   * 2-D form with number indices is allocation-free.
   */
  set(index: readonly number[], value: number | boolean | NDArray): this;
  set(i: number, value: number | boolean | NDArray): this;
  set(i: number, j: number, value: number | boolean | NDArray): this;
  set(i: number, j: number, k: number, value: number | boolean | NDArray): this;
  set(...args: (number | readonly number[] | boolean | NDArray)[]): this {
    const argc = args.length;
    const first = args[0];
    if (typeof first === "number") {
      const shape = this.shape;
      const second = args[1];
      const value = args[2];
      if (argc === 3 && shape.length === 2 && typeof second === "number" && typeof value === "number") {
        const r = shape[0]!;
        const c = shape[1]!;
        let p = first;
        let q = second;
        if (p < 0) p += r;
        if (q < 0) q += c;
        if ((p | 0) === p && (q | 0) === q && p >>> 0 < r && q >>> 0 < c) {
          this.data[this.offset + p * this.strides[0]! + q * this.strides[1]!] =
            this.dtype === "bool" ? (value ? 1 : 0) : value;
          return this;
        }
      }
      return this.setAt(args.slice(0, -1) as number[], args[argc - 1] as number | boolean | NDArray);
    }
    if (Array.isArray(first) && argc === 2) return this.setAt(first as readonly number[], args[1] as number);
    throw new IndexError("set: expected number indices then a value, or an index array then a value");
  }

  /** Writes `value` at `index` (any rank, with full checks). */
  setAt(index: readonly number[], value: number | boolean | NDArray): this {
    const o = this.flatIndex(index);
    const v = typeof value === "object" ? value.item() : value;
    this.data[o] = this.dtype === "bool" ? (v ? 1 : 0) : Number(v);
    return this;
  }

  /** The only element of a size-1 array, or the element at `index`, as a number. */
  item(...index: number[]): number {
    if (index.length === 0) {
      if (this.size !== 1) throw new ValueError("can only convert an array of size 1 to a number");
      return this.data[this.offset]!;
    }
    if (index.length === 1 && this.ndim !== 1) {
      // A flat (C-order) index, as numpy's item(i).
      let rest = index[0]!;
      if (rest < 0) rest += this.size;
      if (rest < 0 || rest >= this.size)
        throw new IndexError(`index ${index[0]} is out of bounds for size ${this.size}`);
      const idx = new Array<number>(this.ndim);
      for (let ax = this.ndim - 1; ax >= 0; ax--) {
        idx[ax] = rest % this.shape[ax]!;
        rest = Math.floor(rest / this.shape[ax]!);
      }
      return this.get(...idx);
    }
    return this.get(...index);
  }

  // ----- views ----------------------------------------------------------------------------------

  /**
   * Basic indexing as a view: `a.slice(":2", "1:")` is numpy's `a[:2, 1:]`; `a.slice(0)` is `a[0]`;
   * `a.slice(null, ":")` is `a[np.newaxis, :]`; `a.slice("...", -1)` is `a[..., -1]`;
   * `a.slice("::-1")` reverses. Numbers drop their axis; slices keep it.
   */
  slice(...index: IndexSpec[]): NDArray {
    const g = applyIndex(this.shape, this.strides, this.offset, index);
    return new NDArray(this.data, g.shape, g.strides, g.offset, this.dtype);
  }

  /** Permutes axes (reverses them by default), as a view. */
  transpose(...axes: number[] | [readonly number[]]): NDArray {
    const list: readonly number[] = Array.isArray(axes[0])
      ? (axes[0] as readonly number[])
      : (axes as number[]);
    const perm =
      list.length === 0 ? [...this.shape.keys()].reverse() : list.map((a) => normalizeAxis(a, this.ndim));
    if (perm.length !== this.ndim || new Set(perm).size !== perm.length) {
      throw new ValueError(`axes ${JSON.stringify(list)} don't match array of dimension ${this.ndim}`);
    }
    return new NDArray(
      this.data,
      perm.map((p) => this.shape[p]!),
      perm.map((p) => this.strides[p]!),
      this.offset,
      this.dtype,
    );
  }

  /** Exchanges two axes, as a view. */
  swapaxes(axis1: number, axis2: number): NDArray {
    const perm = [...this.shape.keys()];
    const a = normalizeAxis(axis1, this.ndim);
    const b = normalizeAxis(axis2, this.ndim);
    perm[a] = b;
    perm[b] = a;
    return this.transpose(perm);
  }

  /**
   * Gives the array a new shape with the same elements; one length may be -1. Returns a view when
   * the strides allow it, otherwise a copy (like numpy). `a.reshape(2, 3)` or `a.reshape([2, 3], { order: "F" })`.
   */
  reshape(...args: number[] | [readonly number[], { order?: Order }?]): NDArray {
    let shape: readonly number[];
    let order: Order = "C";
    if (Array.isArray(args[0])) {
      shape = args[0] as readonly number[];
      order = (args[1] as { order?: Order } | undefined)?.order ?? "C";
    } else shape = args as number[];
    const target = resolveReshape(this.size, this.shape, shape);
    const strides = reshapeStrides(this.shape, this.strides, target, order);
    if (strides) return new NDArray(this.data, target, strides, this.offset, this.dtype);
    const packed = this.copy(order);
    return new NDArray(packed.data, target, stridesFor(target, order), 0, this.dtype);
  }

  /** A 1-D view when possible (otherwise a copy) of the elements in `order`. */
  ravel(order: Order = "C"): NDArray {
    return this.reshape([this.size], { order });
  }

  /** A 1-D copy of the elements in `order`. */
  flatten(order: Order = "C"): NDArray {
    return this.copy(order).reshape([this.size], { order });
  }

  /** Removes length-1 axes (all of them, or the given ones), as a view. */
  squeeze(axis?: number | readonly number[]): NDArray {
    const drop = new Set(
      axis === undefined
        ? [...this.shape.keys()].filter((i) => this.shape[i] === 1)
        : (typeof axis === "number" ? [axis] : axis).map((a) => normalizeAxis(a, this.ndim)),
    );
    for (const a of drop) {
      if (this.shape[a] !== 1)
        throw new ValueError(
          `cannot select an axis to squeeze out which has size not equal to one (axis ${a})`,
        );
    }
    const keep = [...this.shape.keys()].filter((i) => !drop.has(i));
    return new NDArray(
      this.data,
      keep.map((i) => this.shape[i]!),
      keep.map((i) => this.strides[i]!),
      this.offset,
      this.dtype,
    );
  }

  /** Inserts a length-1 axis at `axis`, as a view. */
  expandDims(axis: number): NDArray {
    const ax = normalizeAxis(axis, this.ndim + 1);
    const shape = [...this.shape];
    const strides = [...this.strides];
    shape.splice(ax, 0, 1);
    strides.splice(ax, 0, 0);
    return new NDArray(this.data, shape, strides, this.offset, this.dtype);
  }

  /** A read-only broadcast view of this array with `shape` (strides 0 along stretched axes). */
  broadcastTo(shape: readonly number[]): NDArray {
    const target = broadcastShapes(this.shape, shape);
    if (target.length !== shape.length || target.some((d, i) => d !== shape[i])) {
      throw new ShapeError(
        `cannot broadcast an array of shape ${formatShape(this.shape)} to shape ${formatShape(shape)}`,
      );
    }
    return new NDArray(
      this.data,
      shape,
      broadcastStrides(this.shape, this.strides, shape),
      this.offset,
      this.dtype,
    );
  }

  // ----- copies ---------------------------------------------------------------------------------

  /** A packed copy in C (default) or F order; `K` keeps the source's layout, `A` means F for F-contiguous arrays. */
  copy(order: CopyOrder | { order?: CopyOrder } = "C"): NDArray {
    return this.astype(this.dtype, { order: typeof order === "string" ? order : (order.order ?? "C") });
  }

  /**
   * A copy converted to `dtype` (float to int truncates toward zero; int8-style wrap-around on
   * overflow). With `{ copy: false }` the array itself is returned when nothing needs to change:
   * the dtype is the same and the layout is what `order` asks for. Order `K` (the default) asks
   * for none, so a strided view comes back as it is, as in numpy.
   */
  astype(dtype: DTypeLike, options: { order?: CopyOrder; copy?: boolean } = {}): NDArray {
    const dt = toDType(dtype);
    const want = options.order ?? "K";
    const f = this.flags;
    const order: Order = want === "C" || want === "F" ? want : f.f_contiguous && !f.c_contiguous ? "F" : "C";
    const laidOut = want === "K" || (order === "C" ? f.c_contiguous : f.f_contiguous);
    if (options.copy === false && dt === this.dtype && laidOut) return this;
    const out = new NDArray(allocate(dt, this.size), this.shape, stridesFor(this.shape, order), 0, dt);
    copyInto(out, this);
    return out;
  }

  /** Sets every element to `value` (in place). */
  fill(value: number | boolean): this {
    const v = this.dtype === "bool" ? (value ? 1 : 0) : Number(value);
    if (isCContiguous(this.shape, this.strides) || isFContiguous(this.shape, this.strides)) {
      // A packed array (or view) occupies `size` elements from its lowest address.
      let lo = this.offset;
      for (let ax = 0; ax < this.ndim; ax++)
        if (this.strides[ax]! < 0) lo += (this.shape[ax]! - 1) * this.strides[ax]!;
      this.data.fill(v, lo, lo + this.size);
      return this;
    }
    const run = unaryRun(COPY, "float64", this.dtype);
    const src = new Float64Array([v]);
    const d = this.data;
    stridedLoop(this.shape, [this], (n, o, st) => run(n, src, 0, 0, d, o[0]!, st[0]!));
    return this;
  }

  /**
   * Writes `value` into this array (or view), broadcasting it: `C.slice(i, ":").assign(row)` is
   * numpy's `C[i, :] = row`. Converts to this array's dtype.
   */
  assign(value: ArrayLike): this {
    if (typeof value === "number" || typeof value === "boolean") return this.fill(value);
    copyInto(this, asarray(value));
    return this;
  }

  /** The elements as nested JS arrays (numpy's `tolist`); bool arrays give booleans. */
  toArray(): NestedArray {
    const rec = (ax: number, o: number): NestedArray => {
      if (ax === this.ndim) return this.dtype === "bool" ? this.data[o] !== 0 : this.data[o]!;
      const out: NestedArray[] = [];
      for (let i = 0; i < this.shape[ax]!; i++) out.push(rec(ax + 1, o + i * this.strides[ax]!));
      return out;
    };
    return rec(0, this.offset);
  }

  /** Like numpy's repr: `array([[1., 2.],\n       [3., 4.]])`. */
  toString(): string {
    return formatRepr(this);
  }

  /** Jupyter rich display: plain text, plus an HTML table for 1-D and 2-D arrays. */
  [JUPYTER_DISPLAY](): MimeBundle {
    const bundle: MimeBundle = { "text/plain": formatRepr(this) };
    const html = formatHtml(this);
    if (html !== null) bundle["text/html"] = html;
    return bundle;
  }

  /** Node's `console.log`/`util.inspect` show the repr. */
  [NODE_INSPECT](): string {
    return formatRepr(this);
  }

  // ----- arithmetic (see elementwise.ts) ---------------------------------------------------------

  /** Elementwise `this + other` with broadcasting. */
  add(other: ArrayLike): NDArray {
    return ew.add(this, other);
  }
  /** Elementwise `this - other` with broadcasting. */
  subtract(other: ArrayLike): NDArray {
    return ew.subtract(this, other);
  }
  /** Elementwise `this * other` with broadcasting. */
  multiply(other: ArrayLike): NDArray {
    return ew.multiply(this, other);
  }
  /** Elementwise true division (integer inputs give float64). */
  divide(other: ArrayLike): NDArray {
    return ew.divide(this, other);
  }
  /** Elementwise `this ** other`. */
  power(other: ArrayLike): NDArray {
    return ew.power(this, other);
  }
  /** Elementwise remainder with the sign of the divisor (numpy's `%`). */
  mod(other: ArrayLike): NDArray {
    return ew.mod(this, other);
  }
  /** Elementwise larger of the two (NaN propagates). */
  maximum(other: ArrayLike): NDArray {
    return ew.maximum(this, other);
  }
  /** Elementwise smaller of the two (NaN propagates). */
  minimum(other: ArrayLike): NDArray {
    return ew.minimum(this, other);
  }
  /** Elementwise `-this`. */
  negative(): NDArray {
    return ew.negative(this);
  }
  /** Elementwise square. */
  square(): NDArray {
    return ew.square(this);
  }
  /** Elementwise square root. */
  sqrt(): NDArray {
    return ew.sqrt(this);
  }
  /** Elementwise e**x. */
  exp(): NDArray {
    return ew.exp(this);
  }
  /** Elementwise natural logarithm. */
  log(): NDArray {
    return ew.log(this);
  }
  /** Elementwise absolute value. */
  abs(): NDArray {
    return ew.abs(this);
  }
  /** Elementwise `==` (bool result). */
  equal(other: ArrayLike): NDArray {
    return ew.equal(this, other);
  }
  /** Elementwise `!=` (bool result). */
  notEqual(other: ArrayLike): NDArray {
    return ew.notEqual(this, other);
  }
  /** Elementwise `<` (bool result). */
  less(other: ArrayLike): NDArray {
    return ew.less(this, other);
  }
  /** Elementwise `<=` (bool result). */
  lessEqual(other: ArrayLike): NDArray {
    return ew.lessEqual(this, other);
  }
  /** Elementwise `>` (bool result). */
  greater(other: ArrayLike): NDArray {
    return ew.greater(this, other);
  }
  /** Elementwise `>=` (bool result). */
  greaterEqual(other: ArrayLike): NDArray {
    return ew.greaterEqual(this, other);
  }

  // ----- reductions (see reductions.ts) ----------------------------------------------------------

  /** Sum of all elements (a number), or along `axis` (an array). */
  sum(): number;
  sum(axis: number | readonly number[] | null, keepdims?: boolean): NDArray;
  sum(axis?: number | readonly number[] | null, keepdims = false): number | NDArray {
    return axis === undefined ? red.sum(this) : red.sum(this, axis, keepdims);
  }
  /** Product of all elements, or along `axis`. */
  prod(): number;
  prod(axis: number | readonly number[] | null, keepdims?: boolean): NDArray;
  prod(axis?: number | readonly number[] | null, keepdims = false): number | NDArray {
    return axis === undefined ? red.prod(this) : red.prod(this, axis, keepdims);
  }
  /** Arithmetic mean of all elements, or along `axis`. */
  mean(): number;
  mean(axis: number | readonly number[] | null, keepdims?: boolean): NDArray;
  mean(axis?: number | readonly number[] | null, keepdims = false): number | NDArray {
    return axis === undefined ? red.mean(this) : red.mean(this, axis, keepdims);
  }
  /** Smallest element, or smallest along `axis`. */
  min(): number;
  min(axis: number | readonly number[] | null, keepdims?: boolean): NDArray;
  min(axis?: number | readonly number[] | null, keepdims = false): number | NDArray {
    return axis === undefined ? red.min(this) : red.min(this, axis, keepdims);
  }
  /** Largest element, or largest along `axis`. */
  max(): number;
  max(axis: number | readonly number[] | null, keepdims?: boolean): NDArray;
  max(axis?: number | readonly number[] | null, keepdims = false): number | NDArray {
    return axis === undefined ? red.max(this) : red.max(this, axis, keepdims);
  }
  /** Standard deviation (population, `ddof = 0` by default) of all elements, or along `axis`. */
  std(): number;
  std(axis: number | readonly number[] | null, keepdims?: boolean, ddof?: number): NDArray;
  std(axis?: number | readonly number[] | null, keepdims = false, ddof = 0): number | NDArray {
    return axis === undefined ? red.std(this) : red.std(this, axis, keepdims, ddof);
  }
  /** Variance (population, `ddof = 0` by default) of all elements, or along `axis`. */
  var(): number;
  var(axis: number | readonly number[] | null, keepdims?: boolean, ddof?: number): NDArray;
  var(axis?: number | readonly number[] | null, keepdims = false, ddof = 0): number | NDArray {
    return axis === undefined ? red.variance(this) : red.variance(this, axis, keepdims, ddof);
  }
  /** Flat (C-order) index of the largest element, or indices of the largest along `axis`. */
  argmax(): number;
  argmax(axis: number): NDArray;
  argmax(axis?: number): number | NDArray {
    return axis === undefined ? red.argmax(this) : red.argmax(this, axis);
  }
  /** Flat (C-order) index of the smallest element, or indices of the smallest along `axis`. */
  argmin(): number;
  argmin(axis: number): NDArray;
  argmin(axis?: number): number | NDArray {
    return axis === undefined ? red.argmin(this) : red.argmin(this, axis);
  }

  // ----- linear algebra and selection ------------------------------------------------------------

  /** Matrix product for 1-D and 2-D arrays (numpy's `a.dot(b)`); 1-D · 1-D gives a number. */
  dot(other: NDArray): NDArray | number {
    return dot(this, other);
  }
  /** Matrix product (numpy's `a @ b`); 1-D · 1-D gives a 0-d array. */
  matmul(other: NDArray): NDArray {
    return matmul(this, other);
  }
  /** Elements at `indices` (along `axis`, or of the flattened array). */
  take(indices: ArrayLike, axis?: number): NDArray {
    return take(this, indices, axis);
  }
  /** Repeats each element `repeats` times (along `axis`, or of the flattened array). */
  repeat(repeats: number | readonly number[], axis?: number): NDArray {
    return repeat(this, repeats, axis);
  }
}

Object.defineProperty(NDArray.prototype, NDARRAY_BRAND, { value: true });

function typedArrayDType(data: TypedArray): DType {
  const dt = dtypeOfTypedArray(data);
  if (dt === null)
    throw new ValueError("NDArray data must be a Float64Array, Float32Array, Int32Array or Uint8Array");
  return dt;
}

const COPY: UnaryOp = { name: "copy", expr: "a" };
const TO_BOOL: UnaryOp = { name: "to_bool", expr: "a !== 0 ? 1 : 0" };

/**
 * Copies `src` into `dst` elementwise, broadcasting `src` to `dst`'s shape and converting to
 * `dst`'s dtype. Safe when the two overlap only if they are the same view.
 */
export function copyInto(dst: NDArray, src: NDArray): void {
  const shape = broadcastShapes(dst.shape, src.shape);
  if (shape.length !== dst.ndim || shape.some((d, i) => d !== dst.shape[i])) {
    throw new ShapeError(
      `could not broadcast input array from shape ${formatShape(src.shape)} into shape ${formatShape(dst.shape)}`,
    );
  }
  // Overlapping memory (a.assign(a.T)): read from a snapshot, as numpy does.
  if (src.data.buffer === dst.data.buffer && src !== dst) src = src.copy("K");
  const toBool = dst.dtype === "bool" && src.dtype !== "bool";
  const sameShape = src.ndim === dst.ndim && src.shape.every((d, i) => d === dst.shape[i]);
  if (!toBool && sameShape && dst.size > 0) {
    const bothC = isCContiguous(dst.shape, dst.strides) && isCContiguous(src.shape, src.strides);
    const bothF = isFContiguous(dst.shape, dst.strides) && isFContiguous(src.shape, src.strides);
    if (bothC || bothF) {
      // Same packed layout: one bulk copy. TypedArray.set converts between element types exactly
      // as an element store does (float to int truncates toward zero and wraps).
      const n = dst.size;
      const from = packedStart(src);
      dst.data.set(src.data.subarray(from, from + n), packedStart(dst));
      return;
    }
  }
  const s = src.data;
  const d = dst.data;
  const sv = { strides: broadcastStrides(src.shape, src.strides, shape), offset: src.offset };
  const run = unaryRun(toBool ? TO_BOOL : COPY, src.dtype, dst.dtype);
  if (toBool || src.dtype !== dst.dtype) {
    stridedLoop(shape, [dst, sv], (n, o, st) => run(n, s, o[1]!, st[1]!, d, o[0]!, st[0]!));
    return;
  }
  // Same dtype: long contiguous runs (the rows of a column panel) are bulk copies.
  stridedLoop(shape, [dst, sv], (n, o, st) => {
    if (n >= BULK_RUN && st[0] === 1 && st[1] === 1) d.set(s.subarray(o[1]!, o[1]! + n), o[0]!);
    else run(n, s, o[1]!, st[1]!, d, o[0]!, st[0]!);
  });
}

/** Runs at least this long are copied with `TypedArray.set` (a memcpy) instead of a loop. */
const BULK_RUN = 32;

/** The lowest position in `data` an array uses (its offset, moved back along reversed axes). */
function packedStart(a: NDArray): number {
  let o = a.offset;
  for (let ax = 0; ax < a.ndim; ax++)
    if (a.strides[ax]! < 0 && a.shape[ax]! > 1) o += (a.shape[ax]! - 1) * a.strides[ax]!;
  return o;
}
