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

/**
 * Resolves a dtype name or alias to a supported dtype. Unsupported names (for example `"int64"` or
 * `"complex128"`) throw a DTypeError instead of silently becoming float64.
 */
export function toDType(d: DTypeLike): DType {
  if (typeof d === "function") {
    if (d === Float64Array) return "float64";
    if (d === Float32Array) return "float32";
    if (d === Int32Array) return "int32";
    if (d === Uint8Array) return "uint8";
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

/** The dtype a typed array holds natively (a Uint8Array is `uint8`, never `bool`). */
export function dtypeOfTypedArray(data: unknown): DType | null {
  if (data instanceof Float64Array) return "float64";
  if (data instanceof Float32Array) return "float32";
  if (data instanceof Int32Array) return "int32";
  if (data instanceof Uint8Array) return "uint8";
  return null;
}

/** Bytes per element. */
export function itemSize(dtype: DType): number {
  return dtype === "float64" ? 8 : dtype === "float32" || dtype === "int32" ? 4 : 1;
}

/** True for float64 and float32. */
export function isFloat(dtype: DType): dtype is FloatDType {
  return dtype === "float64" || dtype === "float32";
}

/** True for int32, uint8 and bool. */
export function isIntegral(dtype: DType): boolean {
  return !isFloat(dtype);
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

/** The dtype to compute a float result in (sqrt, exp, divide, mean): float32 stays, everything else is float64. */
export function floatResultType(d: DType): FloatDType {
  return d === "float32" ? "float32" : "float64";
}
