/**
 * Elementwise arithmetic, math functions and comparisons with numpy broadcasting. Every function
 * accepts NDArrays, plain numbers and nested arrays; numbers follow numpy 2's scalar rule (an
 * integer scalar keeps an int32 array int32, a fractional one makes it float64).
 * @module
 */
import { asarray } from "./creation.js";
import { allocate, type DType, floatResultType, isFloat, promoteTypes, promoteWithScalar } from "./dtype.js";
import { type BinaryOp, binaryRun, type UnaryOp, unaryRun } from "./loop-compiler.js";
import { type ArrayLike, NDArray } from "./ndarray.js";
import { broadcastShapes, broadcastStrides, sizeOf, stridesFor } from "./shape.js";
import { stridedLoop } from "./strided-loop.js";

/** A binary operation: its float expression and, when integers need different code, an int one. */
interface ArithOp {
  readonly float: BinaryOp;
  readonly int?: BinaryOp;
}

function binOp(name: string, expr: string): BinaryOp {
  return { name, expr };
}

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

/** Runs `op` over broadcast operands into a new C-order array of `outType`. */
function mapBinary(a: NDArray, b: NDArray, outType: DType, op: BinaryOp): NDArray {
  const sameShape = a.shape.length === b.shape.length && a.shape.every((d, i) => d === b.shape[i]);
  const shape = sameShape ? a.shape : broadcastShapes(a.shape, b.shape);
  const out = new NDArray(allocate(outType, sizeOf(shape)), shape, stridesFor(shape), 0, outType);
  const run = binaryRun(op, a.dtype, b.dtype, outType);
  const x = a.data;
  const y = b.data;
  const z = out.data;
  const av = sameShape ? a : { strides: broadcastStrides(a.shape, a.strides, shape), offset: a.offset };
  const bv = sameShape ? b : { strides: broadcastStrides(b.shape, b.strides, shape), offset: b.offset };
  stridedLoop(shape, [out, av, bv], (n, o, s) => run(n, x, o[1]!, s[1]!, y, o[2]!, s[2]!, z, o[0]!, s[0]!));
  return out;
}

/** Runs `op` over `a` into a new C-order array of `outType`. */
function mapUnary(a: NDArray, outType: DType, op: UnaryOp): NDArray {
  const out = new NDArray(allocate(outType, a.size), a.shape, stridesFor(a.shape), 0, outType);
  const run = unaryRun(op, a.dtype, outType);
  const x = a.data;
  const z = out.data;
  stridedLoop(a.shape, [out, a], (n, o, s) => run(n, x, o[1]!, s[1]!, z, o[0]!, s[0]!));
  return out;
}

function arith(a: ArrayLike, b: ArrayLike, op: ArithOp): NDArray {
  const x = operand(a);
  const y = operand(b);
  let dt = resultType(a, x, b, y);
  if (dt === "bool") dt = "int32";
  return mapBinary(x, y, dt, isFloat(dt) || !op.int ? op.float : op.int);
}

const ADD: ArithOp = { float: binOp("add", "a + b") };
const SUBTRACT: ArithOp = { float: binOp("subtract", "a - b") };
const MULTIPLY: ArithOp = {
  float: binOp("multiply", "a * b"),
  int: binOp("multiply_int", "Math.imul(a, b)"),
};
const DIVIDE = binOp("divide", "a / b");
const FLOOR_DIVIDE: ArithOp = {
  float: binOp("floor_divide", "Math.floor(a / b)"),
  int: binOp("floor_divide_int", "b === 0 ? 0 : Math.floor(a / b)"),
};
const POWER: ArithOp = { float: binOp("power", "Math.pow(a, b)") };
// Remainder with the sign of the divisor: r = a % b, moved into b's half-line when the signs differ.
const MOD: ArithOp = {
  float: binOp("mod", "((a % b) !== 0 && ((a % b) < 0) !== (b < 0) ? (a % b) + b : (a % b))"),
  int: binOp("mod_int", "(b === 0 ? 0 : (a % b) !== 0 && ((a % b) < 0) !== (b < 0) ? (a % b) + b : (a % b))"),
};
const MAXIMUM = binOp("maximum", "Math.max(a, b)");
const MINIMUM = binOp("minimum", "Math.min(a, b)");

/** `a + b` elementwise with broadcasting. */
export function add(a: ArrayLike, b: ArrayLike): NDArray {
  return arith(a, b, ADD);
}

/** `a - b` elementwise with broadcasting. */
export function subtract(a: ArrayLike, b: ArrayLike): NDArray {
  return arith(a, b, SUBTRACT);
}

/** `a * b` elementwise with broadcasting (int32 products wrap like C). */
export function multiply(a: ArrayLike, b: ArrayLike): NDArray {
  return arith(a, b, MULTIPLY);
}

/** True division `a / b` elementwise; integer operands give float64 (float32 stays float32). */
export function divide(a: ArrayLike, b: ArrayLike): NDArray {
  const x = operand(a);
  const y = operand(b);
  return mapBinary(x, y, floatResultType(resultType(a, x, b, y)), DIVIDE);
}

/** Floor division `a // b` elementwise (integer division by zero gives 0, as numpy does). */
export function floorDivide(a: ArrayLike, b: ArrayLike): NDArray {
  return arith(a, b, FLOOR_DIVIDE);
}

/** `a ** b` elementwise. */
export function power(a: ArrayLike, b: ArrayLike): NDArray {
  return arith(a, b, POWER);
}

/** Remainder with the sign of the divisor (numpy's `a % b`). */
export function mod(a: ArrayLike, b: ArrayLike): NDArray {
  return arith(a, b, MOD);
}

/** Elementwise larger value (NaN propagates). */
export function maximum(a: ArrayLike, b: ArrayLike): NDArray {
  const x = operand(a);
  const y = operand(b);
  return mapBinary(x, y, resultType(a, x, b, y), MAXIMUM);
}

/** Elementwise smaller value (NaN propagates). */
export function minimum(a: ArrayLike, b: ArrayLike): NDArray {
  const x = operand(a);
  const y = operand(b);
  return mapBinary(x, y, resultType(a, x, b, y), MINIMUM);
}

// Comparisons as `+(a < b)`: V8 turns the boolean into 0/1 without a branch, which matters on
// unpredictable data (a conditional expression there is five times slower).
const EQUAL = binOp("equal", "+(a === b)");
const NOT_EQUAL = binOp("not_equal", "+(a !== b)");
const LESS = binOp("less", "+(a < b)");
const LESS_EQUAL = binOp("less_equal", "+(a <= b)");
const GREATER = binOp("greater", "+(a > b)");
const GREATER_EQUAL = binOp("greater_equal", "+(a >= b)");

function compare(a: ArrayLike, b: ArrayLike, op: BinaryOp): NDArray {
  return mapBinary(operand(a), operand(b), "bool", op);
}

/** `a == b` elementwise (bool array). */
export function equal(a: ArrayLike, b: ArrayLike): NDArray {
  return compare(a, b, EQUAL);
}

/** `a != b` elementwise (bool array). */
export function notEqual(a: ArrayLike, b: ArrayLike): NDArray {
  return compare(a, b, NOT_EQUAL);
}

/** `a < b` elementwise (bool array). */
export function less(a: ArrayLike, b: ArrayLike): NDArray {
  return compare(a, b, LESS);
}

/** `a <= b` elementwise (bool array). */
export function lessEqual(a: ArrayLike, b: ArrayLike): NDArray {
  return compare(a, b, LESS_EQUAL);
}

/** `a > b` elementwise (bool array). */
export function greater(a: ArrayLike, b: ArrayLike): NDArray {
  return compare(a, b, GREATER);
}

/** `a >= b` elementwise (bool array). */
export function greaterEqual(a: ArrayLike, b: ArrayLike): NDArray {
  return compare(a, b, GREATER_EQUAL);
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

/** A unary operation: its float expression and, when integers need different code, an int one. */
interface MathOp {
  readonly float: UnaryOp;
  readonly int?: UnaryOp;
}

function unOp(name: string, expr: string, intExpr?: string): MathOp {
  return intExpr === undefined
    ? { float: { name, expr } }
    : { float: { name, expr }, int: { name: `${name}_int`, expr: intExpr } };
}

/** Applies `op` in floating point: float32 stays float32, everything else becomes float64. */
function floatUnary(a: ArrayLike, op: MathOp): NDArray {
  const x = operand(a);
  return mapUnary(x, floatResultType(x.dtype), op.float);
}

/** Applies `op` keeping the dtype (bool becomes int32). */
function sameUnary(a: ArrayLike, op: MathOp): NDArray {
  const x = operand(a);
  const dt = x.dtype === "bool" ? "int32" : x.dtype;
  return mapUnary(x, dt, isFloat(dt) || !op.int ? op.float : op.int);
}

const NEGATIVE = unOp("negative", "-a");
const ABS = unOp("abs", "Math.abs(a)");
const SQUARE = unOp("square", "a * a", "Math.imul(a, a)");
const SIGN = unOp("sign", "Math.sign(a)");
const SQRT = unOp("sqrt", "Math.sqrt(a)");
const EXP = unOp("exp", "Math.exp(a)");
const LOG = unOp("log", "Math.log(a)");
const SIN = unOp("sin", "Math.sin(a)");
const COS = unOp("cos", "Math.cos(a)");
const TANH = unOp("tanh", "Math.tanh(a)");
const FLOOR = unOp("floor", "Math.floor(a)");
const CEIL = unOp("ceil", "Math.ceil(a)");

/** `-a` elementwise. */
export function negative(a: ArrayLike): NDArray {
  return sameUnary(a, NEGATIVE);
}

/** `|a|` elementwise. */
export function abs(a: ArrayLike): NDArray {
  return sameUnary(a, ABS);
}

/** `a * a` elementwise. */
export function square(a: ArrayLike): NDArray {
  return sameUnary(a, SQUARE);
}

/** Sign of each element: -1, 0 or 1 (NaN stays NaN). */
export function sign(a: ArrayLike): NDArray {
  return sameUnary(a, SIGN);
}

/** Square root elementwise (integer input gives float64). */
export function sqrt(a: ArrayLike): NDArray {
  return floatUnary(a, SQRT);
}

/** e**x elementwise. */
export function exp(a: ArrayLike): NDArray {
  return floatUnary(a, EXP);
}

/** Natural logarithm elementwise. */
export function log(a: ArrayLike): NDArray {
  return floatUnary(a, LOG);
}

/** Sine elementwise (radians). */
export function sin(a: ArrayLike): NDArray {
  return floatUnary(a, SIN);
}

/** Cosine elementwise (radians). */
export function cos(a: ArrayLike): NDArray {
  return floatUnary(a, COS);
}

/** Hyperbolic tangent elementwise. */
export function tanh(a: ArrayLike): NDArray {
  return floatUnary(a, TANH);
}

/** Largest integer not above each element. */
export function floor(a: ArrayLike): NDArray {
  return floatUnary(a, FLOOR);
}

/** Smallest integer not below each element. */
export function ceil(a: ArrayLike): NDArray {
  return floatUnary(a, CEIL);
}
