/**
 * Elementwise arithmetic, math functions and comparisons with numpy broadcasting. Every function
 * accepts NDArrays, plain numbers and nested arrays; numbers follow numpy 2's scalar rule (an
 * integer scalar keeps an int32 array int32, a fractional one makes it float64).
 * @module
 */
import { asarray } from "./creation.js";
import { allocate, type DType, floatResultType, isFloat, promoteTypes, promoteWithScalar } from "./dtype.js";
import { type ArrayLike, NDArray } from "./ndarray.js";
import { broadcastShapes, broadcastStrides, sizeOf, stridesFor } from "./shape.js";
import { stridedLoop } from "./strided-loop.js";

type Binary = (x: number, y: number) => number;
type Unary = (x: number) => number;

function operand(x: ArrayLike): NDArray {
  if (typeof x === "number") return new NDArray(new Float64Array([x]), [], [], 0, "float64");
  if (typeof x === "boolean") return new NDArray(new Uint8Array([x ? 1 : 0]), [], [], 0, "bool");
  return asarray(x);
}

/** The dtype of a binary result before op-specific rules; plain numbers are "weak" (numpy 2). */
function resultType(a: ArrayLike, x: NDArray, b: ArrayLike, y: NDArray): DType {
  const aNum = typeof a === "number";
  const bNum = typeof b === "number";
  if (aNum && !bNum) return promoteWithScalar(y.dtype, a);
  if (bNum && !aNum) return promoteWithScalar(x.dtype, b);
  if (aNum && bNum) return Number.isInteger(a) && Number.isInteger(b) ? "int32" : "float64";
  return promoteTypes(x.dtype, y.dtype);
}

/** Runs `f` over broadcast operands into a new C-order array of `outType`. */
function mapBinary(a: NDArray, b: NDArray, outType: DType, f: Binary): NDArray {
  const shape = broadcastShapes(a.shape, b.shape);
  const out = new NDArray(allocate(outType, sizeOf(shape)), shape, stridesFor(shape), 0, outType);
  const x = a.data;
  const y = b.data;
  const z = out.data;
  const av = { strides: broadcastStrides(a.shape, a.strides, shape), offset: a.offset };
  const bv = { strides: broadcastStrides(b.shape, b.strides, shape), offset: b.offset };
  stridedLoop(shape, [out, av, bv], (n, o, s) => {
    let p = o[0]!;
    let q = o[1]!;
    let r = o[2]!;
    const sp = s[0]!;
    const sq = s[1]!;
    const sr = s[2]!;
    for (let i = 0; i < n; i++, p += sp, q += sq, r += sr) z[p] = f(x[q]!, y[r]!);
  });
  return out;
}

function mapUnary(a: NDArray, outType: DType, f: Unary): NDArray {
  const out = new NDArray(allocate(outType, a.size), a.shape, stridesFor(a.shape), 0, outType);
  const x = a.data;
  const z = out.data;
  stridedLoop(a.shape, [out, a], (n, o, s) => {
    let p = o[0]!;
    let q = o[1]!;
    const sp = s[0]!;
    const sq = s[1]!;
    for (let i = 0; i < n; i++, p += sp, q += sq) z[p] = f(x[q]!);
  });
  return out;
}

function arith(a: ArrayLike, b: ArrayLike, f: Binary, intF?: Binary): NDArray {
  const x = operand(a);
  const y = operand(b);
  let dt = resultType(a, x, b, y);
  if (dt === "bool") dt = "int32";
  return mapBinary(x, y, dt, isFloat(dt) || !intF ? f : intF);
}

/** `a + b` elementwise with broadcasting. */
export function add(a: ArrayLike, b: ArrayLike): NDArray {
  return arith(a, b, (x, y) => x + y);
}

/** `a - b` elementwise with broadcasting. */
export function subtract(a: ArrayLike, b: ArrayLike): NDArray {
  return arith(a, b, (x, y) => x - y);
}

/** `a * b` elementwise with broadcasting (int32 products wrap like C). */
export function multiply(a: ArrayLike, b: ArrayLike): NDArray {
  return arith(a, b, (x, y) => x * y, Math.imul);
}

/** True division `a / b` elementwise; integer operands give float64 (float32 stays float32). */
export function divide(a: ArrayLike, b: ArrayLike): NDArray {
  const x = operand(a);
  const y = operand(b);
  return mapBinary(x, y, floatResultType(resultType(a, x, b, y)), (p, q) => p / q);
}

/** Floor division `a // b` elementwise (integer division by zero gives 0, as numpy does). */
export function floorDivide(a: ArrayLike, b: ArrayLike): NDArray {
  return arith(
    a,
    b,
    (x, y) => Math.floor(x / y),
    (x, y) => (y === 0 ? 0 : Math.floor(x / y)),
  );
}

/** `a ** b` elementwise. */
export function power(a: ArrayLike, b: ArrayLike): NDArray {
  return arith(a, b, Math.pow);
}

/** Remainder with the sign of the divisor (numpy's `a % b`). */
export function mod(a: ArrayLike, b: ArrayLike): NDArray {
  return arith(
    a,
    b,
    (x, y) => {
      const r = x % y;
      return r !== 0 && r < 0 !== y < 0 ? r + y : r;
    },
    (x, y) => {
      if (y === 0) return 0;
      const r = x % y;
      return r !== 0 && r < 0 !== y < 0 ? r + y : r;
    },
  );
}

const nanMax: Binary = Math.max;
const nanMin: Binary = Math.min;

/** Elementwise larger value (NaN propagates). */
export function maximum(a: ArrayLike, b: ArrayLike): NDArray {
  const x = operand(a);
  const y = operand(b);
  return mapBinary(x, y, resultType(a, x, b, y), nanMax);
}

/** Elementwise smaller value (NaN propagates). */
export function minimum(a: ArrayLike, b: ArrayLike): NDArray {
  const x = operand(a);
  const y = operand(b);
  return mapBinary(x, y, resultType(a, x, b, y), nanMin);
}

function compare(a: ArrayLike, b: ArrayLike, f: (x: number, y: number) => boolean): NDArray {
  return mapBinary(operand(a), operand(b), "bool", (x, y) => (f(x, y) ? 1 : 0));
}

/** `a == b` elementwise (bool array). */
export function equal(a: ArrayLike, b: ArrayLike): NDArray {
  return compare(a, b, (x, y) => x === y);
}

/** `a != b` elementwise (bool array). */
export function notEqual(a: ArrayLike, b: ArrayLike): NDArray {
  return compare(a, b, (x, y) => x !== y);
}

/** `a < b` elementwise (bool array). */
export function less(a: ArrayLike, b: ArrayLike): NDArray {
  return compare(a, b, (x, y) => x < y);
}

/** `a <= b` elementwise (bool array). */
export function lessEqual(a: ArrayLike, b: ArrayLike): NDArray {
  return compare(a, b, (x, y) => x <= y);
}

/** `a > b` elementwise (bool array). */
export function greater(a: ArrayLike, b: ArrayLike): NDArray {
  return compare(a, b, (x, y) => x > y);
}

/** `a >= b` elementwise (bool array). */
export function greaterEqual(a: ArrayLike, b: ArrayLike): NDArray {
  return compare(a, b, (x, y) => x >= y);
}

/** Picks `x` where `cond` is true and `y` elsewhere, broadcasting all three. */
export function where(cond: ArrayLike, x: ArrayLike, y: ArrayLike): NDArray {
  const c = operand(cond);
  const xa = operand(x);
  const ya = operand(y);
  const dt = resultType(x, xa, y, ya);
  const shape = broadcastShapes(c.shape, xa.shape, ya.shape);
  const out = new NDArray(allocate(dt, sizeOf(shape)), shape, stridesFor(shape), 0, dt);
  const views = [c, xa, ya].map((v) => ({
    strides: broadcastStrides(v.shape, v.strides, shape),
    offset: v.offset,
  }));
  const [cd, xd, yd, z] = [c.data, xa.data, ya.data, out.data];
  stridedLoop(shape, [out, ...views], (n, o, s) => {
    for (let i = 0; i < n; i++) {
      z[o[0]! + i * s[0]!] = cd[o[1]! + i * s[1]!] ? xd[o[2]! + i * s[2]!]! : yd[o[3]! + i * s[3]!]!;
    }
  });
  return out;
}

/** Limits values to `[lo, hi]` elementwise. */
export function clip(a: ArrayLike, lo: ArrayLike, hi: ArrayLike): NDArray {
  return minimum(maximum(a, lo), hi);
}

function floatUnary(a: ArrayLike, f: Unary): NDArray {
  const x = operand(a);
  return mapUnary(x, floatResultType(x.dtype), f);
}

function sameUnary(a: ArrayLike, f: Unary, intF?: Unary): NDArray {
  const x = operand(a);
  const dt = x.dtype === "bool" ? "int32" : x.dtype;
  return mapUnary(x, dt, isFloat(dt) || !intF ? f : intF);
}

/** `-a` elementwise. */
export function negative(a: ArrayLike): NDArray {
  return sameUnary(a, (x) => -x);
}

/** `|a|` elementwise. */
export function abs(a: ArrayLike): NDArray {
  return sameUnary(a, Math.abs);
}

/** `a * a` elementwise. */
export function square(a: ArrayLike): NDArray {
  return sameUnary(
    a,
    (x) => x * x,
    (x) => Math.imul(x, x),
  );
}

/** Sign of each element: -1, 0 or 1 (NaN stays NaN). */
export function sign(a: ArrayLike): NDArray {
  return sameUnary(a, Math.sign);
}

/** Square root elementwise (integer input gives float64). */
export function sqrt(a: ArrayLike): NDArray {
  return floatUnary(a, Math.sqrt);
}

/** e**x elementwise. */
export function exp(a: ArrayLike): NDArray {
  return floatUnary(a, Math.exp);
}

/** Natural logarithm elementwise. */
export function log(a: ArrayLike): NDArray {
  return floatUnary(a, Math.log);
}

/** Sine elementwise (radians). */
export function sin(a: ArrayLike): NDArray {
  return floatUnary(a, Math.sin);
}

/** Cosine elementwise (radians). */
export function cos(a: ArrayLike): NDArray {
  return floatUnary(a, Math.cos);
}

/** Hyperbolic tangent elementwise. */
export function tanh(a: ArrayLike): NDArray {
  return floatUnary(a, Math.tanh);
}

/** Largest integer not above each element. */
export function floor(a: ArrayLike): NDArray {
  return floatUnary(a, Math.floor);
}

/** Smallest integer not below each element. */
export function ceil(a: ArrayLike): NDArray {
  return floatUnary(a, Math.ceil);
}
