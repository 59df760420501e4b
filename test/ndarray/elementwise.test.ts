import assert from "node:assert/strict";
import { test } from "node:test";
import * as nd from "../../ndarray/index.js";

test("arithmetic with broadcasting, as functions and methods", () => {
  const a = nd.array([
    [1, 2, 3],
    [4, 5, 6],
  ]);
  const row = nd.array([10, 20, 30]);
  const col = nd.array([[100], [200]]);
  assert.deepEqual(nd.add(a, row).toArray(), [
    [11, 22, 33],
    [14, 25, 36],
  ]);
  assert.deepEqual(a.add(col).toArray(), [
    [101, 102, 103],
    [204, 205, 206],
  ]);
  assert.deepEqual(a.subtract(1).toArray(), [
    [0, 1, 2],
    [3, 4, 5],
  ]);
  assert.deepEqual(nd.subtract(10, a).slice(0).toArray(), [9, 8, 7]);
  assert.deepEqual(a.multiply(row).slice(1).toArray(), [40, 100, 180]);
  assert.deepEqual(nd.divide(a, 2).slice(0).toArray(), [0.5, 1, 1.5]);
  assert.deepEqual(a.power(2).slice(1).toArray(), [16, 25, 36]);
  assert.deepEqual(nd.power(2, nd.arange(4)).toArray(), [1, 2, 4, 8]);
  assert.deepEqual(nd.mod(nd.array([-3, 3, 7]), 3).toArray(), [0, 0, 1]);
  assert.deepEqual(nd.mod(nd.array([-1, 1]), 3).toArray(), [2, 1]);
  assert.deepEqual(nd.floorDivide(nd.array([-7, 7]), 2).toArray(), [-4, 3]);
  assert.deepEqual(nd.maximum(nd.array([1, 5]), nd.array([3, 2])).toArray(), [3, 5]);
  assert.deepEqual(nd.minimum(nd.array([1, 5]), 2).toArray(), [1, 2]);
  // column (3,1) * row (3,) -> (3,3) outer product
  const outer = nd.arange(3).reshape(3, 1).multiply(nd.arange(3));
  assert.deepEqual(outer.toArray(), [
    [0, 0, 0],
    [0, 1, 2],
    [0, 2, 4],
  ]);
});

test("result dtypes follow numpy's promotion rules", () => {
  const i = nd.array([1, 2], { dtype: "int32" });
  const u = nd.array([1, 2], { dtype: "uint8" });
  const f32 = nd.array([1, 2], { dtype: "float32" });
  const f64 = nd.array([1, 2]);
  assert.equal(i.add(1).dtype, "int32");
  assert.equal(i.add(0.5).dtype, "float64");
  assert.equal(u.add(1).dtype, "uint8");
  assert.equal(u.add(i).dtype, "int32");
  assert.equal(f32.add(1.5).dtype, "float32");
  assert.equal(f32.add(i).dtype, "float64");
  assert.equal(f32.add(u).dtype, "float32");
  assert.equal(f32.add(f64).dtype, "float64");
  assert.equal(i.divide(i).dtype, "float64");
  assert.equal(f32.divide(2).dtype, "float32");
  assert.equal(i.sqrt().dtype, "float64");
  assert.equal(f32.sqrt().dtype, "float32");
  assert.equal(nd.array([true]).add(nd.array([true])).dtype, "int32");
  // wrap-around like C integer arithmetic
  assert.deepEqual(u.add(255).toArray(), [0, 1]);
  assert.deepEqual(nd.array([65536], { dtype: "int32" }).multiply(65536).toArray(), [0]);
});

test("elementwise math in float64 and float32", () => {
  const x = nd.array([0, 1, 4, 9]);
  assert.deepEqual(x.sqrt().toArray(), [0, 1, 2, 3]);
  assert.deepEqual(nd.sqrt(x.astype("float32")).toArray(), [0, 1, 2, 3]);
  assert.deepEqual(x.square().toArray(), [0, 1, 16, 81]);
  assert.deepEqual(nd.square(nd.array([3], { dtype: "int32" })).toArray(), [9]);
  assert.deepEqual(nd.exp(nd.array([0, 1])).toArray(), [1, Math.E]);
  assert.deepEqual(nd.log(nd.array([1, Math.E])).toArray(), [0, 1]);
  assert.deepEqual(nd.array([-1.5, 2]).abs().toArray(), [1.5, 2]);
  assert.deepEqual(nd.abs(nd.array([-3, 3], { dtype: "int32" })).toArray(), [3, 3]);
  assert.deepEqual(nd.negative(nd.array([1, -2])).toArray(), [-1, 2]);
  assert.deepEqual(nd.sign(nd.array([-2, 0, 3])).toArray(), [-1, 0, 1]);
  assert.deepEqual(nd.floor(nd.array([-0.5, 1.5])).toArray(), [-1, 1]);
  assert.deepEqual(nd.ceil(nd.array([-0.5, 1.5])).toArray(), [-0, 2]);
  assert.deepEqual(nd.clip(nd.arange(5), 1, 3).toArray(), [1, 1, 2, 3, 3]);
  assert.ok(nd.allclose(nd.sin(nd.array([0, Math.PI / 2])), [0, 1]));
  assert.ok(nd.allclose(nd.cos(nd.array([0, Math.PI])), [1, -1]));
  assert.ok(nd.allclose(nd.tanh(nd.array([0])), [0]));
  assert.deepEqual(nd.exp(nd.array([0], { dtype: "float32" })).dtype, "float32");
});

test("comparisons give bool arrays", () => {
  const a = nd.array([1, 2, 3]);
  assert.deepEqual(a.less(2).toArray(), [true, false, false]);
  assert.deepEqual(a.lessEqual(2).toArray(), [true, true, false]);
  assert.deepEqual(a.greater(2).toArray(), [false, false, true]);
  assert.deepEqual(a.greaterEqual(nd.array([3, 2, 1])).toArray(), [false, true, true]);
  assert.deepEqual(a.equal(2).toArray(), [false, true, false]);
  assert.deepEqual(a.notEqual(2).toArray(), [true, false, true]);
  assert.equal(nd.equal(a, a).dtype, "bool");
  assert.deepEqual(nd.where(a.greater(1), a, 0).toArray(), [0, 2, 3]);
  assert.equal(a.greater(1).sum(), 2);
});

test("non-contiguous operands and NaN handling", () => {
  const m = nd.arange(16).reshape(4, 4);
  const s = m.slice("::2", "::-2").add(m.T.slice("1:3", "::2"));
  // m[::2, ::-2] = [[3,1],[11,9]], m.T[1:3, ::2] = [[1,9],[2,10]]
  assert.deepEqual(s.toArray(), [
    [4, 10],
    [13, 19],
  ]);
  const n = nd.maximum(nd.array([Number.NaN, 1]), nd.array([0, 2]));
  assert.ok(Number.isNaN(n.get(0)));
  assert.equal(n.get(1), 2);
});

test("mismatched shapes name both shapes", () => {
  assert.throws(() => nd.add(nd.zeros([2, 3]), nd.zeros([4])), {
    code: "ERR_ND_SHAPE",
    message: "operands could not be broadcast together with shapes (2, 3) (4,)",
  });
  assert.throws(() => nd.zeros([3]).multiply(nd.zeros([2, 2])), /\(3,\) \(2, 2\)/);
});

test("with { out } the result goes into the given array, which is returned", () => {
  const a = nd.array([
    [1, 2],
    [3, 4],
  ]);
  const out = nd.empty([2, 2]);
  const r = nd.add(a, 10, { out });
  assert.equal(r, out);
  assert.deepEqual(out.toArray(), [
    [11, 12],
    [13, 14],
  ]);
  // operands broadcast to out's shape, even when out is bigger than their own broadcast
  nd.multiply(nd.array([1, 2]), 3, { out });
  assert.deepEqual(out.toArray(), [
    [3, 6],
    [3, 6],
  ]);
});

test("out may be an operand itself, which updates it in place", () => {
  const acc = nd.array([1, 2, 3], { dtype: "float64" });
  const data = acc.data;
  nd.add(acc, nd.array([10, 20, 30]), { out: acc });
  nd.multiply(2, acc, { out: acc });
  nd.sqrt(nd.square(acc, { out: acc }), { out: acc });
  assert.equal(acc.data, data);
  assert.deepEqual(acc.toArray(), [22, 44, 66]);
});

test("out may be a strided view: a block of a larger array is written and nothing else", () => {
  const big = nd.zeros([3, 4]);
  nd.add(nd.ones([2, 2]), nd.array([[1], [2]]), { out: big.slice("1:3", "::2") });
  assert.deepEqual(big.toArray(), [
    [0, 0, 0, 0],
    [2, 0, 2, 0],
    [3, 0, 3, 0],
  ]);
});

test("an operand that overlaps out in another layout gives the same result as without out", () => {
  // out is the operand shifted by one: a one-pass loop would read values it already overwrote
  const a = nd.arange(6);
  const expected = nd.add(a.slice(":5"), 1).toArray();
  nd.add(a.slice(":5"), 1, { out: a.slice("1:") });
  assert.deepEqual(a.slice("1:").toArray(), expected);
  // a transposed view of out itself
  const m = nd.arange(4).reshape(2, 2);
  const want = nd.add(m, m.T).toArray();
  nd.add(m, m.T, { out: m });
  assert.deepEqual(m.toArray(), want);
});

test("out must have a shape the operands broadcast to, and a dtype the result casts to", () => {
  const a = nd.array([1, 2, 3]);
  assert.throws(() => nd.add(a, 1, { out: nd.empty([2]) }), {
    code: "ERR_ND_SHAPE",
    message: /out has shape \(2,\)/,
  });
  assert.throws(() => nd.add(nd.ones([2, 3]), 1, { out: nd.empty([3]) }), { code: "ERR_ND_SHAPE" });
  // numpy's same_kind rule: a float result into int32 is refused, float64 into float32 is fine
  assert.throws(() => nd.divide(a, 2, { out: nd.empty([3], "int32") }), {
    code: "ERR_ND_DTYPE",
    message: /float64 result into out of dtype int32/,
  });
  const f32 = nd.empty([3], "float32");
  nd.divide(a, 3, { out: f32 });
  assert.deepEqual(f32.toArray(), Array.from(new Float32Array([1 / 3, 2 / 3, 1])));
  const i32 = nd.empty([3], "int32");
  nd.add(nd.array([1, 2, 3], { dtype: "uint8" }), 1, { out: i32 });
  assert.deepEqual(i32.toArray(), [2, 3, 4]);
});

test("an integer result wraps in its own dtype before it is cast into out, as in numpy", () => {
  const u = nd.array([200, 100], { dtype: "uint8" });
  const out = nd.empty([2], "int32");
  nd.add(u, u, { out });
  assert.deepEqual(out.toArray(), [144, 200]);
  const f = nd.empty([2]);
  nd.multiply(nd.array([65536, 3], { dtype: "int32" }), 65536, { out: f });
  assert.deepEqual(f.toArray(), [0, 196608]);
});

test("comparisons, math functions, where and clip take out too", () => {
  const a = nd.array([-2, 0.5, 3]);
  const mask = nd.empty([3], "bool");
  assert.equal(nd.greater(a, 0, { out: mask }), mask);
  assert.deepEqual(mask.toArray(), [false, true, true]);
  const out = nd.empty([3]);
  nd.abs(a, { out });
  assert.deepEqual(out.toArray(), [2, 0.5, 3]);
  nd.where(mask, a, 0, { out });
  assert.deepEqual(out.toArray(), [0, 0.5, 3]);
  nd.clip(a, -1, 1, { out });
  assert.deepEqual(out.toArray(), [-1, 0.5, 1]);
  nd.clip(out, 0, 0.75, { out });
  assert.deepEqual(out.toArray(), [0, 0.5, 0.75]);
});
