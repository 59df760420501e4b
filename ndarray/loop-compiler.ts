/**
 * Compiled inner loops for elementwise operations and reductions.
 *
 * A loop that calls an operation callback per element (`z[i] = f(x[i], y[i])`) is slow in V8 once
 * more than a few operations share it: the call site goes megamorphic and nothing is inlined. So
 * each operation is written once as a small expression (`"a + b"`, `"Math.sqrt(a)"`) and compiled
 * with `new Function` into its own loop, once per combination of operation and storage types, and
 * cached. Every compiled function then only ever sees one operation and one set of typed-array
 * types, which is what lets V8 emit a tight loop (about numpy's speed for memory-bound work).
 *
 * Only the fixed expressions defined in this package are compiled; nothing a user passes in ever
 * reaches `new Function`.
 *
 * A compiled run handles `n` elements where operand `k` starts at its offset and advances by its
 * step; contiguous operands (step 1) and broadcast scalars (step 0) get unrolled loops.
 * @module
 */
import type { DType, TypedArray } from "./dtype.js";

/** An elementwise operation on two inputs `a` and `b`, as a JS expression. */
export interface BinaryOp {
  /** Name used in cache keys and in the compiled function's name. */
  readonly name: string;
  /** Expression in `a` and `b`, e.g. `"a + b"` or `"a < b ? 1 : 0"`. */
  readonly expr: string;
}

/** An elementwise operation on one input `a`, as a JS expression (e.g. `"Math.sqrt(a)"`). */
export interface UnaryOp {
  readonly name: string;
  readonly expr: string;
}

/**
 * A reduction step: `combine` folds element `a` into accumulator `t`; `merge` joins two partial
 * accumulators `t` and `u` (defaults to `combine` with `a` renamed); `identity` starts a partial.
 */
export interface FoldOp {
  readonly name: string;
  readonly combine: string;
  readonly merge?: string;
  readonly identity: number;
}

/** `z[r + i*sz] = op(x[p + i*sx], y[q + i*sy])` for `i < n`. */
export type BinaryRun = (
  n: number,
  x: TypedArray,
  p: number,
  sx: number,
  y: TypedArray,
  q: number,
  sy: number,
  z: TypedArray,
  r: number,
  sz: number,
) => void;

/** `z[r + i*sz] = op(x[p + i*sx])` for `i < n`. */
export type UnaryRun = (
  n: number,
  x: TypedArray,
  p: number,
  sx: number,
  z: TypedArray,
  r: number,
  sz: number,
) => void;

/** Folds `x[p + i*sx]` for `i < n` into accumulator `t` and returns it. */
export type FoldRun = (n: number, x: TypedArray, p: number, sx: number, t: number) => number;

/**
 * `z[r + i*sz] = combine(z[r + i*sz], x[p + i*sx])` for `i < n` (an elementwise accumulate): the
 * same call shape as {@link UnaryRun}.
 */
export type AccumulateRun = UnaryRun;

const STORAGE: Readonly<Record<DType, string>> = {
  float64: "f64",
  float32: "f32",
  int32: "i32",
  uint8: "u8",
  bool: "u8",
};

/** Elements per unrolled step of the contiguous loops. */
const UNROLL = 8;

const cache = new Map<string, unknown>();

function compile<F>(key: string, fnName: string, params: string, body: string): F {
  let f = cache.get(key) as F | undefined;
  if (f === undefined) {
    // The key in a comment keeps every source text distinct, so V8 never shares type feedback
    // between two compiled loops.
    f = new Function(`"use strict";\n// ${key}\nreturn function ${fnName}(${params}) {\n${body}\n};`)() as F;
    cache.set(key, f);
  }
  return f;
}

function unrolled(count: string, step: (k: string) => string): string {
  const lines = [`let i = 0;`, `for (; i + ${UNROLL - 1} < ${count}; i += ${UNROLL}) {`];
  for (let u = 0; u < UNROLL; u++) lines.push(`{ ${step(u === 0 ? "i" : `i + ${u}`)} }`);
  lines.push("}", `for (; i < ${count}; i++) { ${step("i")} }`);
  return lines.join("\n");
}

function ident(s: string): string {
  return s.replace(/[^A-Za-z0-9_]/g, "_");
}

/** The compiled loop for `op` over inputs of dtypes `xt`, `yt` into an output of dtype `zt`. */
export function binaryRun(op: BinaryOp, xt: DType, yt: DType, zt: DType): BinaryRun {
  const key = `binary ${op.name} ${STORAGE[xt]} ${STORAGE[yt]} ${STORAGE[zt]}`;
  return compile<BinaryRun>(
    key,
    ident(`${op.name}_${STORAGE[xt]}_${STORAGE[yt]}_${STORAGE[zt]}`),
    "n, x, p, sx, y, q, sy, z, r, sz",
    `if (sz === 1 && sx === 1 && sy === 1) {
  if (p === 0 && q === 0 && r === 0) {
${unrolled("n", (i) => `const a = x[${i}], b = y[${i}]; z[${i}] = ${op.expr};`)}
    return;
  }
${unrolled("n", (i) => `const a = x[p + ${i}], b = y[q + ${i}]; z[r + ${i}] = ${op.expr};`)}
  return;
}
if (sz === 1 && sx === 1 && sy === 0) {
  const b = y[q];
${unrolled("n", (i) => `const a = x[p + ${i}]; z[r + ${i}] = ${op.expr};`)}
  return;
}
if (sz === 1 && sx === 0 && sy === 1) {
  const a = x[p];
${unrolled("n", (i) => `const b = y[q + ${i}]; z[r + ${i}] = ${op.expr};`)}
  return;
}
for (let i = 0; i < n; i++, p += sx, q += sy, r += sz) {
  const a = x[p], b = y[q];
  z[r] = ${op.expr};
}`,
  );
}

/** The compiled loop for `op` over an input of dtype `xt` into an output of dtype `zt`. */
export function unaryRun(op: UnaryOp, xt: DType, zt: DType): UnaryRun {
  const key = `unary ${op.name} ${STORAGE[xt]} ${STORAGE[zt]}`;
  return compile<UnaryRun>(
    key,
    ident(`${op.name}_${STORAGE[xt]}_${STORAGE[zt]}`),
    "n, x, p, sx, z, r, sz",
    `if (sz === 1 && sx === 1) {
  if (p === 0 && r === 0) {
${unrolled("n", (i) => `const a = x[${i}]; z[${i}] = ${op.expr};`)}
    return;
  }
${unrolled("n", (i) => `const a = x[p + ${i}]; z[r + ${i}] = ${op.expr};`)}
  return;
}
if (sz === 1 && sx === 0) {
  const a = x[p], v = ${op.expr};
  for (let i = 0; i < n; i++) z[r + i] = v;
  return;
}
for (let i = 0; i < n; i++, p += sx, r += sz) {
  const a = x[p];
  z[r] = ${op.expr};
}`,
  );
}

/** Partial accumulators of a contiguous fold. */
const LANES = 8;

/**
 * The compiled fold of `op` over an input of dtype `xt`. Contiguous runs use eight partial
 * accumulators merged pairwise at the end: the adds no longer wait on each other (twice as fast
 * as four lanes, four times one), and for sums the error grows more slowly than with one.
 */
export function foldRun(op: FoldOp, xt: DType): FoldRun {
  const key = `fold ${op.name} ${STORAGE[xt]}`;
  const step = (acc: string, el: string): string => `${acc} = ${sub(op.combine, acc, el)};`;
  const merge = op.merge ?? op.combine.replace(/\ba\b/g, "u");
  return compile<FoldRun>(
    key,
    ident(`fold_${op.name}_${STORAGE[xt]}`),
    "n, x, p, sx, t",
    `if (sx === 1 && n >= ${2 * LANES}) {
  let ${Array.from({ length: LANES - 1 }, (_, k) => `t${k + 1} = ${op.identity}`).join(", ")};
  let i = 0;
  for (; i + ${LANES - 1} < n; i += ${LANES}) {
${Array.from({ length: LANES }, (_, k) => `    ${step(k === 0 ? "t" : `t${k}`, `x[p + i + ${k}]`)}`).join("\n")}
  }
  for (; i < n; i++) ${step("t", "x[p + i]")}
${mergeTree(merge, LANES)}
}
for (let i = 0; i < n; i++, p += sx) ${step("t", "x[p]")}
return t;`,
  );
}

/** The compiled elementwise accumulate `z = combine(z, x)` of `op` for input dtype `xt` (z is float64). */
export function accumulateRun(op: FoldOp, xt: DType): AccumulateRun {
  const key = `accumulate ${op.name} ${STORAGE[xt]}`;
  return compile<AccumulateRun>(
    key,
    ident(`accumulate_${op.name}_${STORAGE[xt]}`),
    "n, x, p, sx, z, r, sz",
    `if (sx === 1 && sz === 1) {
${unrolled("n", (i) => `const t = z[r + ${i}], a = x[p + ${i}]; z[r + ${i}] = ${op.combine};`)}
  return;
}
for (let i = 0; i < n; i++, p += sx, r += sz) {
  const t = z[r], a = x[p];
  z[r] = ${op.combine};
}`,
  );
}

/** Substitutes accumulator and element names into a `combine` expression written in `t` and `a`. */
function sub(expr: string, acc: string, el: string): string {
  return expr.replace(/\bt\b/g, acc).replace(/\ba\b/g, `(${el})`);
}

/** Code that merges partials `t, t1 … t(lanes-1)` pairwise and returns the result. */
function mergeTree(merge: string, lanes: number): string {
  let names = Array.from({ length: lanes }, (_, k) => (k === 0 ? "t" : `t${k}`));
  const lines: string[] = [];
  let level = 0;
  while (names.length > 1) {
    const next: string[] = [];
    for (let k = 0; k < names.length; k += 2) {
      const name = `m${level}_${k / 2}`;
      lines.push(`const ${name} = ${mergeOf(merge, names[k]!, names[k + 1]!)};`);
      next.push(name);
    }
    names = next;
    level++;
  }
  lines.push(`return ${names[0]};`);
  return lines.join("\n");
}

function mergeOf(merge: string, left: string, right: string): string {
  return merge.replace(/\bt\b/g, left).replace(/\bu\b/g, right);
}
