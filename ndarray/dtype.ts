/**
 * Element types. An NDArray's `dtype` names how its `data` typed array is interpreted; `bool` is
 * stored as 0/1 in a Uint8Array.
 */
import { DTypeError } from "./errors.js";

/** The supported element types. */
export type DType = "float64" | "float32" | "int32" | "uint8" | "bool";

/** Floating-point dtypes (the only ones GEMM backends accept). */
export type FloatDType = "float64" | "float32";

/** Any typed array an NDArray can be backed by. */
export type TypedArray = Float64Array | Float32Array | Int32Array | Uint8Array;

/** Every dtype name accepted by `dtype` arguments, in the order shown in error messages. */
export const DTYPES: readonly DType[] = ["float64", "float32", "int32", "uint8", "bool"];

const ALIASES: Readonly<Record<string, DType>> = {
  float64: "float64",
  f8: "float64",
  "<f8": "float64",
  double: "float64",
  float32: "float32",
  f4: "float32",
  "<f4": "float32",
  single: "float32",
  int32: "int32",
  i4: "int32",
  "<i4": "int32",
  uint8: "uint8",
  u1: "uint8",
  "|u1": "uint8",
  bool: "bool",
  "?": "bool",
  "|b1": "bool",
};

/** Something that names a dtype: a dtype string, a numpy-style alias (`"f8"`, `"<f4"`) or a typed-array constructor. */
export type DTypeLike =
  | DType
  | string
  | Float64ArrayConstructor
  | Float32ArrayConstructor
  | Int32ArrayConstructor
  | Uint8ArrayConstructor;

const CONSTRUCTOR_DTYPE: Readonly<Record<string, DType>> = {
  Float64Array: "float64",
  Float32Array: "float32",
  Int32Array: "int32",
  Uint8Array: "uint8",
};

/**
 * Resolves a dtype name or alias to a supported dtype. Unsupported names (for example `"int64"` or
 * `"complex128"`) throw a DTypeError instead of silently becoming float64.
 */
export function toDType(d: DTypeLike): DType {
  if (typeof d === "function") {
    // By name, so that constructors from another realm (a vm context) work too.
    const hit = "BYTES_PER_ELEMENT" in d ? CONSTRUCTOR_DTYPE[d.name] : undefined;
    if (hit) return hit;
  } else if (typeof d === "string") {
    const hit = ALIASES[d];
    if (hit) return hit;
  }
  const name = typeof d === "function" ? d.name : JSON.stringify(d);
  throw new DTypeError(`unsupported dtype ${name}; supported dtypes are ${DTYPES.join(", ")}`);
}

/** Allocates a zero-filled typed array for `dtype` with `n` elements. */
export function allocate(dtype: DType, n: number): TypedArray {
  switch (dtype) {
    case "float64":
      return new Float64Array(n);
    case "float32":
      return new Float32Array(n);
    case "int32":
      return new Int32Array(n);
    case "uint8":
    case "bool":
      return new Uint8Array(n);
  }
}

const TAG_DTYPE: Readonly<Record<string, DType>> = {
  "[object Float64Array]": "float64",
  "[object Float32Array]": "float32",
  "[object Int32Array]": "int32",
  "[object Uint8Array]": "uint8",
};

/**
 * The dtype a typed array holds natively (a Uint8Array is `uint8`, never `bool`), or null for
 * anything else. Works for typed arrays from another realm (a `vm` context, a worker's transfer)
 * too: it reads the built-in type tag instead of using `instanceof`. A Node Buffer is a Uint8Array.
 */
export function dtypeOfTypedArray(data: unknown): DType | null {
  if (!ArrayBuffer.isView(data)) return null;
  return TAG_DTYPE[Object.prototype.toString.call(data)] ?? null;
}

/**
 * `t` itself when it is this realm's typed array; otherwise a view of this realm's type over the
 * same memory (no copy). Arrays made in a `vm` context have their own constructors, so
 * `instanceof`, Arrow's type checks and V8's type feedback all see a different type; re-viewing
 * them once at the boundary keeps everything downstream on this realm's four types.
 */
export function sameRealmView(t: TypedArray): TypedArray {
  if (
    t instanceof Float64Array ||
    t instanceof Float32Array ||
    t instanceof Int32Array ||
    t instanceof Uint8Array
  )
    return t;
  // Typed as a plain view: TypeScript cannot know that a foreign realm's typed array fails instanceof.
  const v = t as ArrayBufferView & { length: number };
  const [buf, at, len] = [v.buffer, v.byteOffset, v.length];
  switch (dtypeOfTypedArray(t)) {
    case "float64":
      return new Float64Array(buf, at, len);
    case "float32":
      return new Float32Array(buf, at, len);
    case "int32":
      return new Int32Array(buf, at, len);
    case "uint8":
      return new Uint8Array(buf, at, len);
    default:
      throw new DTypeError("expected a Float64Array, Float32Array, Int32Array or Uint8Array");
  }
}

/** Bytes per element. */
export function itemSize(dtype: DType): number {
  return dtype === "float64" ? 8 : dtype === "float32" || dtype === "int32" ? 4 : 1;
}

/** True for float64 and float32. */
export function isFloat(dtype: DType): dtype is FloatDType {
  return dtype === "float64" || dtype === "float32";
}

const RANK: Readonly<Record<DType, number>> = { bool: 0, uint8: 1, int32: 2, float32: 3, float64: 4 };

/**
 * The dtype two array operands combine to, following numpy: bool < uint8 < int32 and float32 <
 * float64, except that int32 with float32 needs float64 to hold every int32 exactly.
 */
export function promoteTypes(a: DType, b: DType): DType {
  if (a === b) return a;
  if ((a === "int32" && b === "float32") || (a === "float32" && b === "int32")) return "float64";
  return RANK[a] >= RANK[b] ? a : b;
}

/**
 * The dtype an array combines with a plain JS number to (numpy 2's "weak scalar" rule): the array's
 * dtype wins unless the number is fractional and the array is integral, which gives float64. A
 * number combined with a bool array gives int32 (or float64 when fractional).
 */
export function promoteWithScalar(a: DType, x: number): DType {
  if (isFloat(a)) return a;
  if (!Number.isInteger(x)) return "float64";
  return a === "bool" ? "int32" : a;
}

// numpy's kind order for "same_kind" casting: bool < unsigned < signed < float.
const KIND: Readonly<Record<DType, number>> = { bool: 0, uint8: 1, int32: 2, float32: 3, float64: 3 };

/**
 * Whether a result of dtype `from` may be stored into an array of dtype `to` under numpy's
 * "same_kind" rule (what its `out=` arguments use): any cast to the same or a later kind in
 * bool < uint8 < int32 < float, so float64 into float32 is allowed and float into an integer is not.
 */
export function canCastSameKind(from: DType, to: DType): boolean {
  return KIND[from] <= KIND[to];
}

/** The dtype to compute a float result in (sqrt, exp, divide, mean): float32 stays, everything else is float64. */
export function floatResultType(d: DType): FloatDType {
  return d === "float32" ? "float32" : "float64";
}
