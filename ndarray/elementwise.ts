/**
 * Elementwise arithmetic, math functions and comparisons with numpy broadcasting. Every function
 * accepts NDArrays, plain numbers and nested arrays; numbers follow numpy 2's scalar rule (an
 * integer scalar keeps an int32 array int32, a fractional one makes it float64).
 *
 * Each function returns a new array, or with `{ out }` writes into an array you already have, as
 * numpy's `out=` does: a chain of steps can then reuse a few buffers instead of allocating an array
 * per step (`nd.multiply(ix, ix, { out: t })`, `nd.add(acc, x, { out: acc })`).
 * @module
 */
import { asarray } from "./creation.js";
import {
  allocate,
  canCastSameKind,
  type DType,
  floatResultType,
  isFloat,
  promoteTypes,
  promoteWithScalar,
} from "./dtype.js";
import { DTypeError, formatShape, ShapeError, ValueError } from "./errors.js";
import { type BinaryOp, binaryRun, type UnaryOp, unaryRun } from "./loop-compiler.js";
import { type ArrayLike, isNDArray, NDArray } from "./ndarray.js";
import { broadcastShapes, broadcastStrides, sizeOf, stridesFor } from "./shape.js";
import { type LoopOperand, stridedLoop } from "./strided-loop.js";

/** Options of the elementwise functions. */
export interface OutOptions {
  /**
   * Where to write the result, as numpy's `out=`: an existing array whose shape the operands
   * broadcast to. It may be a view (a slice of a larger array, a shared array) or one of the
   * operands itself (an in-place update); the function returns it. The result's dtype must cast
   * to its dtype under numpy's "same_kind" rule: float64 into float32 is fine, a float into int32
   * is a DTypeError. An operand that overlaps `out` in a different layout is copied first, so the
   * result is the same as without `out`.
   */
  readonly out?: NDArray | undefined;
}

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

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** `a` as a loop operand over `shape` (which `a` broadcasts to). */
function loopView(a: NDArray, shape: readonly number[]): LoopOperand {
  return sameShape(a.shape, shape)
    ? a
    : { strides: broadcastStrides(a.shape, a.strides, shape), offset: a.offset };
}

/** Checks a caller's `out` array against the result's shape (of `shapes` broadcast) and dtype. */
function checkOut(out: NDArray, dtype: DType, ...shapes: (readonly number[])[]): NDArray {
  if (!isNDArray(out)) throw new ValueError("out must be an NDArray");
  let fits: boolean;
  try {
    fits = sameShape(broadcastShapes(...shapes, out.shape), out.shape);
  } catch {
    fits = false;
  }
  if (!fits) {
    const result = formatShape(broadcastShapes(...shapes));
    throw new ShapeError(`out has shape ${formatShape(out.shape)}, but the result has shape ${result}`);
  }
  if (!canCastSameKind(dtype, out.dtype))
    throw new DTypeError(
      `cannot write a ${dtype} result into out of dtype ${out.dtype} (numpy's same_kind rule)`,
    );
  return out;
}

/**
 * `a`, or a copy of it when it shares memory with `out` in another layout: the loop would then
 * overwrite elements of `a` before reading them. The very same view is safe (an in-place update
 * reads each element before it writes it).
 */
function apart(a: NDArray, out: NDArray): NDArray {
  const x = a.data;
  const z = out.data;
  if (x.buffer !== z.buffer) return a;
  const v = loopView(a, out.shape);
  const same =
    x.BYTES_PER_ELEMENT === z.BYTES_PER_ELEMENT &&
    x.byteOffset / x.BYTES_PER_ELEMENT + v.offset === z.byteOffset / z.BYTES_PER_ELEMENT + out.offset &&
    out.shape.every((d, i) => d === 1 || v.strides[i] === out.strides[i]);
  return same ? a : a.copy();
}

/**
 * True when an integer result goes into `out` of another dtype: it is then computed in its own
 * dtype first and cast after, as numpy does, so that it wraps where numpy's does (uint8 200 + 100
 * is 44, even into an int32 `out`). Float results need no detour: a float64 result stored into
 * float32 rounds the same either way.
 */
function integerIntoOther(dtype: DType, out: NDArray): boolean {
  return !isFloat(dtype) && out.dtype !== dtype;
}

/** Runs `op` over broadcast operands into `target`, or into a new C-order array of `outType`. */
function mapBinary(a: NDArray, b: NDArray, outType: DType, op: BinaryOp, target?: NDArray): NDArray {
  let out: NDArray;
  if (target) {
    out = checkOut(target, outType, a.shape, b.shape);
    if (integerIntoOther(outType, out)) return out.assign(mapBinary(a, b, outType, op));
    a = apart(a, out);
    b = apart(b, out);
  } else {
    const shape = sameShape(a.shape, b.shape) ? a.shape : broadcastShapes(a.shape, b.shape);
    out = new NDArray(allocate(outType, sizeOf(shape)), shape, stridesFor(shape), 0, outType);
  }
  const run = binaryRun(op, a.dtype, b.dtype, out.dtype);
  const x = a.data;
  const y = b.data;
  const z = out.data;
  const av = loopView(a, out.shape);
  const bv = loopView(b, out.shape);
  stridedLoop(out.shape, [out, av, bv], (n, o, s) =>
    run(n, x, o[1]!, s[1]!, y, o[2]!, s[2]!, z, o[0]!, s[0]!),
  );
  return out;
}

/** Runs `op` over `a` into `target`, or into a new C-order array of `outType`. */
function mapUnary(a: NDArray, outType: DType, op: UnaryOp, target?: NDArray): NDArray {
  let out: NDArray;
  if (target) {
    out = checkOut(target, outType, a.shape);
    if (integerIntoOther(outType, out)) return out.assign(mapUnary(a, outType, op));
    a = apart(a, out);
  } else {
    out = new NDArray(allocate(outType, a.size), a.shape, stridesFor(a.shape), 0, outType);
  }
  const run = unaryRun(op, a.dtype, out.dtype);
  const x = a.data;
  const z = out.data;
  stridedLoop(out.shape, [out, loopView(a, out.shape)], (n, o, s) =>
    run(n, x, o[1]!, s[1]!, z, o[0]!, s[0]!),
  );
  return out;
}

function arith(a: ArrayLike, b: ArrayLike, op: ArithOp, out: NDArray | undefined): NDArray {
  const x = operand(a);
  const y = operand(b);
  let dt = resultType(a, x, b, y);
  if (dt === "bool") dt = "int32";
  return mapBinary(x, y, dt, isFloat(dt) || !op.int ? op.float : op.int, out);
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
export function add(a: ArrayLike, b: ArrayLike, opts: OutOptions = {}): NDArray {
  return arith(a, b, ADD, opts.out);
}

/** `a - b` elementwise with broadcasting. */
export function subtract(a: ArrayLike, b: ArrayLike, opts: OutOptions = {}): NDArray {
  return arith(a, b, SUBTRACT, opts.out);
}

/** `a * b` elementwise with broadcasting (int32 products wrap like C). */
export function multiply(a: ArrayLike, b: ArrayLike, opts: OutOptions = {}): NDArray {
  return arith(a, b, MULTIPLY, opts.out);
}

/** True division `a / b` elementwise; integer operands give float64 (float32 stays float32). */
export function divide(a: ArrayLike, b: ArrayLike, opts: OutOptions = {}): NDArray {
  const x = operand(a);
  const y = operand(b);
  return mapBinary(x, y, floatResultType(resultType(a, x, b, y)), DIVIDE, opts.out);
}

/** Floor division `a // b` elementwise (integer division by zero gives 0, as numpy does). */
export function floorDivide(a: ArrayLike, b: ArrayLike, opts: OutOptions = {}): NDArray {
  return arith(a, b, FLOOR_DIVIDE, opts.out);
}

/** `a ** b` elementwise. */
export function power(a: ArrayLike, b: ArrayLike, opts: OutOptions = {}): NDArray {
  return arith(a, b, POWER, opts.out);
}

/** Remainder with the sign of the divisor (numpy's `a % b`). */
export function mod(a: ArrayLike, b: ArrayLike, opts: OutOptions = {}): NDArray {
  return arith(a, b, MOD, opts.out);
}

/** Elementwise larger value (NaN propagates). */
export function maximum(a: ArrayLike, b: ArrayLike, opts: OutOptions = {}): NDArray {
  const x = operand(a);
  const y = operand(b);
  return mapBinary(x, y, resultType(a, x, b, y), MAXIMUM, opts.out);
}

/** Elementwise smaller value (NaN propagates). */
export function minimum(a: ArrayLike, b: ArrayLike, opts: OutOptions = {}): NDArray {
  const x = operand(a);
  const y = operand(b);
  return mapBinary(x, y, resultType(a, x, b, y), MINIMUM, opts.out);
}

// Comparisons as `+(a < b)`: V8 turns the boolean into 0/1 without a branch, which matters on
// unpredictable data (a conditional expression there is five times slower).
const EQUAL = binOp("equal", "+(a === b)");
const NOT_EQUAL = binOp("not_equal", "+(a !== b)");
const LESS = binOp("less", "+(a < b)");
const LESS_EQUAL = binOp("less_equal", "+(a <= b)");
const GREATER = binOp("greater", "+(a > b)");
const GREATER_EQUAL = binOp("greater_equal", "+(a >= b)");

function compare(a: ArrayLike, b: ArrayLike, op: BinaryOp, out: NDArray | undefined): NDArray {
  return mapBinary(operand(a), operand(b), "bool", op, out);
}

/** `a == b` elementwise (bool array). */
export function equal(a: ArrayLike, b: ArrayLike, opts: OutOptions = {}): NDArray {
  return compare(a, b, EQUAL, opts.out);
}

/** `a != b` elementwise (bool array). */
export function notEqual(a: ArrayLike, b: ArrayLike, opts: OutOptions = {}): NDArray {
  return compare(a, b, NOT_EQUAL, opts.out);
}

/** `a < b` elementwise (bool array). */
export function less(a: ArrayLike, b: ArrayLike, opts: OutOptions = {}): NDArray {
  return compare(a, b, LESS, opts.out);
}

/** `a <= b` elementwise (bool array). */
export function lessEqual(a: ArrayLike, b: ArrayLike, opts: OutOptions = {}): NDArray {
  return compare(a, b, LESS_EQUAL, opts.out);
}

/** `a > b` elementwise (bool array). */
export function greater(a: ArrayLike, b: ArrayLike, opts: OutOptions = {}): NDArray {
  return compare(a, b, GREATER, opts.out);
}

/** `a >= b` elementwise (bool array). */
export function greaterEqual(a: ArrayLike, b: ArrayLike, opts: OutOptions = {}): NDArray {
  return compare(a, b, GREATER_EQUAL, opts.out);
}

/** Picks `x` where `cond` is true and `y` elsewhere, broadcasting all three. */
export function where(cond: ArrayLike, x: ArrayLike, y: ArrayLike, opts: OutOptions = {}): NDArray {
  let c = operand(cond);
  let xa = operand(x);
  let ya = operand(y);
  const dt = resultType(x, xa, y, ya);
  let out: NDArray;
  if (opts.out) {
    out = checkOut(opts.out, dt, c.shape, xa.shape, ya.shape);
    [c, xa, ya] = [apart(c, out), apart(xa, out), apart(ya, out)];
  } else {
    const shape = broadcastShapes(c.shape, xa.shape, ya.shape);
    out = new NDArray(allocate(dt, sizeOf(shape)), shape, stridesFor(shape), 0, dt);
  }
  const views = [c, xa, ya].map((v) => loopView(v, out.shape));
  const [cd, xd, yd, z] = [c.data, xa.data, ya.data, out.data];
  stridedLoop(out.shape, [out, ...views], (n, o, s) => {
    for (let i = 0; i < n; i++) {
      z[o[0]! + i * s[0]!] = cd[o[1]! + i * s[1]!] ? xd[o[2]! + i * s[2]!]! : yd[o[3]! + i * s[3]!]!;
    }
  });
  return out;
}

/** Limits values to `[lo, hi]` elementwise. */
export function clip(a: ArrayLike, lo: ArrayLike, hi: ArrayLike, opts: OutOptions = {}): NDArray {
  return opts.out ? minimum(maximum(a, lo, opts), hi, opts) : minimum(maximum(a, lo), hi);
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
function floatUnary(a: ArrayLike, op: MathOp, out: NDArray | undefined): NDArray {
  const x = operand(a);
  return mapUnary(x, floatResultType(x.dtype), op.float, out);
}

/** Applies `op` keeping the dtype (bool becomes int32). */
function sameUnary(a: ArrayLike, op: MathOp, out: NDArray | undefined): NDArray {
  const x = operand(a);
  const dt = x.dtype === "bool" ? "int32" : x.dtype;
  return mapUnary(x, dt, isFloat(dt) || !op.int ? op.float : op.int, out);
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
export function negative(a: ArrayLike, opts: OutOptions = {}): NDArray {
  return sameUnary(a, NEGATIVE, opts.out);
}

/** `|a|` elementwise. */
export function abs(a: ArrayLike, opts: OutOptions = {}): NDArray {
  return sameUnary(a, ABS, opts.out);
}

/** `a * a` elementwise. */
export function square(a: ArrayLike, opts: OutOptions = {}): NDArray {
  return sameUnary(a, SQUARE, opts.out);
}

/** Sign of each element: -1, 0 or 1 (NaN stays NaN). */
export function sign(a: ArrayLike, opts: OutOptions = {}): NDArray {
  return sameUnary(a, SIGN, opts.out);
}

/** Square root elementwise (integer input gives float64). */
export function sqrt(a: ArrayLike, opts: OutOptions = {}): NDArray {
  return floatUnary(a, SQRT, opts.out);
}

/** e**x elementwise. */
export function exp(a: ArrayLike, opts: OutOptions = {}): NDArray {
  return floatUnary(a, EXP, opts.out);
}

/** Natural logarithm elementwise. */
export function log(a: ArrayLike, opts: OutOptions = {}): NDArray {
  return floatUnary(a, LOG, opts.out);
}

/** Sine elementwise (radians). */
export function sin(a: ArrayLike, opts: OutOptions = {}): NDArray {
  return floatUnary(a, SIN, opts.out);
}

/** Cosine elementwise (radians). */
export function cos(a: ArrayLike, opts: OutOptions = {}): NDArray {
  return floatUnary(a, COS, opts.out);
}

/** Hyperbolic tangent elementwise. */
export function tanh(a: ArrayLike, opts: OutOptions = {}): NDArray {
  return floatUnary(a, TANH, opts.out);
}

/** Largest integer not above each element. */
export function floor(a: ArrayLike, opts: OutOptions = {}): NDArray {
  return floatUnary(a, FLOOR, opts.out);
}

/** Smallest integer not below each element. */
export function ceil(a: ArrayLike, opts: OutOptions = {}): NDArray {
  return floatUnary(a, CEIL, opts.out);
}
