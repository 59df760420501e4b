/**
 * Array creation: from nested JS arrays, typed arrays and buffers, and the numpy constructors
 * `zeros`, `ones`, `empty`, `full`, `arange`, `linspace`, `eye` and the `*Like` variants.
 * @module
 */
import {
  allocate,
  type DType,
  type DTypeLike,
  dtypeOfTypedArray,
  type TypedArray,
  toDType,
} from "./dtype.js";
import { ShapeError, ValueError } from "./errors.js";
import { isNDArray, NDArray } from "./ndarray.js";
import { type Order, type ShapeLike, sizeOf, stridesFor, toShape } from "./shape.js";

/** Nested JS arrays of numbers or booleans, like `[[1, 2], [3, 4]]`. */
export type NestedArray = number | boolean | NestedArray[];

/** Options shared by the creation functions. */
export interface CreateOptions {
  /** Element type (default float64, or inferred from the input for `array`). */
  dtype?: DTypeLike;
  /** Memory order of the new array (default C). */
  order?: Order;
}

function make(shape: ShapeLike, dtype: DTypeLike | undefined, order: Order | undefined): NDArray {
  const s = toShape(shape);
  const dt = toDType(dtype ?? "float64");
  return new NDArray(allocate(dt, sizeOf(s)), s, stridesFor(s, order ?? "C"), 0, dt);
}

/** A new array of `shape` filled with zeros (float64 unless `dtype` says otherwise). */
export function zeros(shape: ShapeLike, dtype?: DTypeLike, order?: Order): NDArray {
  return make(shape, dtype, order);
}

/** A new array of `shape` filled with ones. */
export function ones(shape: ShapeLike, dtype?: DTypeLike, order?: Order): NDArray {
  return make(shape, dtype, order).fill(1);
}

/** A new array of `shape`. Typed arrays are always initialised, so this is the same as `zeros`. */
export function empty(shape: ShapeLike, dtype?: DTypeLike, order?: Order): NDArray {
  return make(shape, dtype, order);
}

/** A new array of `shape` filled with `value` (dtype inferred from the value unless given). */
export function full(shape: ShapeLike, value: number | boolean, dtype?: DTypeLike, order?: Order): NDArray {
  const dt = dtype ?? (typeof value === "boolean" ? "bool" : Number.isInteger(value) ? "int32" : "float64");
  return make(shape, dt, order).fill(value);
}

/** Zeros with the shape (and dtype, unless given) of `a`. */
export function zerosLike(a: NDArray, dtype?: DTypeLike): NDArray {
  return make(a.shape, dtype ?? a.dtype, "C");
}

/** Ones with the shape (and dtype, unless given) of `a`. */
export function onesLike(a: NDArray, dtype?: DTypeLike): NDArray {
  return make(a.shape, dtype ?? a.dtype, "C").fill(1);
}

/** An array with the shape (and dtype, unless given) of `a`, filled with `value`. */
export function fullLike(a: NDArray, value: number | boolean, dtype?: DTypeLike): NDArray {
  return make(a.shape, dtype ?? a.dtype, "C").fill(value);
}

/** An uninitialised (in practice zeroed) array with the shape and dtype of `a`. */
export function emptyLike(a: NDArray, dtype?: DTypeLike): NDArray {
  return make(a.shape, dtype ?? a.dtype, "C");
}

/**
 * Evenly spaced values in `[start, stop)`: `arange(5)`, `arange(2, 10, 2)`. Integer arguments give
 * int32, fractional ones float64, unless `dtype` is given.
 */
export function arange(start: number, stop?: number, step = 1, dtype?: DTypeLike): NDArray {
  let a = start;
  let b = stop;
  if (b === undefined) {
    b = a;
    a = 0;
  }
  if (step === 0) throw new ValueError("arange: step cannot be zero");
  const n = Math.max(0, Math.ceil((b - a) / step));
  const dt = toDType(dtype ?? ([a, b, step].every(Number.isInteger) ? "int32" : "float64"));
  const out = new NDArray(allocate(dt, n), [n], [1], 0, dt);
  for (let i = 0; i < n; i++) out.data[i] = a + i * step;
  return out;
}

/** `num` evenly spaced values from `start` to `stop` (inclusive unless `endpoint` is false). */
export function linspace(
  start: number,
  stop: number,
  num = 50,
  options: { endpoint?: boolean; dtype?: DTypeLike } = {},
): NDArray {
  if (!Number.isInteger(num) || num < 0)
    throw new ValueError(`linspace: number of samples ${num} must be a non-negative integer`);
  const endpoint = options.endpoint ?? true;
  const dt = toDType(options.dtype ?? "float64");
  const out = new NDArray(allocate(dt, num), [num], [1], 0, dt);
  const div = endpoint ? num - 1 : num;
  const step = div > 0 ? (stop - start) / div : 0;
  for (let i = 0; i < num; i++) out.data[i] = start + i * step;
  if (endpoint && num > 1) out.data[num - 1] = stop;
  return out;
}

/** A 2-D array with ones on the `k`-th diagonal and zeros elsewhere (`n` rows, `m` columns, default square). */
export function eye(n: number, m?: number, k = 0, dtype?: DTypeLike): NDArray {
  const cols = m ?? n;
  const out = make([n, cols], dtype, "C");
  for (let i = 0; i < n; i++) {
    const j = i + k;
    if (j >= 0 && j < cols) out.data[i * cols + j] = 1;
  }
  return out;
}

/** The n×n identity matrix. */
export function identity(n: number, dtype?: DTypeLike): NDArray {
  return eye(n, n, 0, dtype);
}

function nestedShape(x: NestedArray): number[] {
  const shape: number[] = [];
  let cur: NestedArray = x;
  while (Array.isArray(cur)) {
    shape.push(cur.length);
    if (cur.length === 0) break;
    cur = cur[0]!;
  }
  return shape;
}

function inferDType(values: (number | boolean)[]): DType {
  if (values.length > 0 && values.every((v) => typeof v === "boolean")) return "bool";
  const ints = values.every(
    (v) => typeof v === "boolean" || (Number.isInteger(v) && Math.abs(v) <= 2147483647),
  );
  return ints ? "int32" : "float64";
}

/**
 * A new array from nested arrays, a typed array (1-D) or another NDArray, always copying:
 * `array([[1, 2], [3, 4]])` is a 2×2 int32 array; `array([1.5, 2])` is float64. Ragged input
 * throws a ShapeError.
 */
export function array(x: NestedArray | NDArray | TypedArray, options: CreateOptions = {}): NDArray {
  if (isNDArray(x)) return x.astype(options.dtype ?? x.dtype, { order: options.order ?? "K" });
  const typedDType = dtypeOfTypedArray(x);
  if (typedDType !== null) {
    const t = x as TypedArray;
    const src = new NDArray(t, [t.length], [1], 0, typedDType);
    return src.astype(options.dtype ?? typedDType, { order: options.order ?? "C" });
  }
  const nested = x as NestedArray;
  const shape = nestedShape(nested);
  const flat: (number | boolean)[] = [];
  const walk = (v: NestedArray, depth: number): void => {
    if (depth === shape.length) {
      if (Array.isArray(v)) throw new ShapeError("array: ragged nested sequence (inhomogeneous depth)");
      if (typeof v !== "number" && typeof v !== "boolean")
        throw new ValueError(`array: unsupported element ${String(v)}`);
      flat.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) {
      throw new ShapeError(
        `array: ragged nested sequence: expected length ${shape[depth]} at depth ${depth}`,
      );
    }
    for (const e of v) walk(e, depth + 1);
  };
  walk(nested, 0);
  const dt = options.dtype !== undefined ? toDType(options.dtype) : inferDType(flat);
  const c = new NDArray(allocate(dt, flat.length), shape, stridesFor(shape, "C"), 0, dt);
  for (let i = 0; i < flat.length; i++) {
    const v = flat[i]!;
    c.data[i] = dt === "bool" ? (v ? 1 : 0) : Number(v);
  }
  return options.order === "F" ? c.copy("F") : c;
}

/**
 * Like `array`, but returns `x` itself when it is already an NDArray of the requested dtype and
 * order, and wraps a typed array without copying when no conversion is needed.
 */
export function asarray(x: NestedArray | NDArray | TypedArray, options: CreateOptions = {}): NDArray {
  if (isNDArray(x)) return x.astype(options.dtype ?? x.dtype, { order: options.order ?? "K", copy: false });
  const typedDType = dtypeOfTypedArray(x);
  if (typedDType !== null && (options.dtype === undefined || toDType(options.dtype) === typedDType)) {
    const t = x as TypedArray;
    return new NDArray(t, [t.length], [1], 0, typedDType);
  }
  return array(x, options);
}

/** A 1-D view (no copy) of `buffer` read as `dtype`, like numpy's `frombuffer`. */
export function frombuffer(
  buffer: ArrayBufferLike | ArrayBufferView,
  dtype: DTypeLike = "float64",
  options: { count?: number; offset?: number } = {},
): NDArray {
  const dt = toDType(dtype);
  const base = ArrayBuffer.isView(buffer) ? buffer.buffer : buffer;
  const start = (ArrayBuffer.isView(buffer) ? buffer.byteOffset : 0) + (options.offset ?? 0);
  const avail =
    (ArrayBuffer.isView(buffer) ? buffer.byteOffset + buffer.byteLength : base.byteLength) - start;
  const size = dt === "float64" ? 8 : dt === "float32" || dt === "int32" ? 4 : 1;
  if (start % size !== 0)
    throw new ValueError(`frombuffer: byte offset ${start} is not a multiple of ${size} for ${dt}`);
  const count = options.count ?? Math.floor(avail / size);
  if (count * size > avail)
    throw new ValueError(`frombuffer: buffer is smaller than the requested ${count} items`);
  let data: TypedArray;
  if (dt === "float64") data = new Float64Array(base, start, count);
  else if (dt === "float32") data = new Float32Array(base, start, count);
  else if (dt === "int32") data = new Int32Array(base, start, count);
  else data = new Uint8Array(base, start, count);
  return new NDArray(data, [count], [1], 0, dt);
}
