import assert from "node:assert/strict";
import { test } from "node:test";
import * as nd from "../../ndarray/index.js";

// The compiled loops have separate paths for contiguous operands (unrolled by 8, with and
// without offsets), broadcast scalars (step 0) and general strides; lengths like 19 exercise the
// unrolled body and its tail. Expected values are computed by hand from the index formula.

const N = 19;
const ramp = <T>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));

test("binary ops on contiguous, offset, scalar and strided operands", () => {
  const a = nd.arange(N).astype("float64"); // 0..18
  const b = nd.arange(N).astype("float64").multiply(10); // 0, 10, …, 180
  assert.deepEqual(
    a.add(b).toArray(),
    ramp(N, (i) => 11 * i),
  );
  assert.deepEqual(
    a.slice("1:").subtract(b.slice(":-1")).toArray(),
    ramp(N - 1, (i) => i + 1 - 10 * i),
  );
  assert.deepEqual(
    a.multiply(3).toArray(),
    ramp(N, (i) => 3 * i),
  );
  assert.deepEqual(
    nd.subtract(100, a).toArray(),
    ramp(N, (i) => 100 - i),
  );
  assert.deepEqual(
    a.slice("::-1").add(a).toArray(),
    ramp(N, () => 18),
  );
  assert.deepEqual(
    a.slice("::2").multiply(b.slice("::2")).toArray(),
    ramp(10, (i) => 40 * i * i),
  );
  // A 2-D transpose plus a row: general strides on both inputs.
  const m = nd.arange(20).reshape(4, 5).astype("float32");
  const s = m.T.add(nd.array([1, 2, 3, 4], { dtype: "float32" }));
  assert.equal(s.dtype, "float32");
  assert.deepEqual(s.shape, [5, 4]);
  for (let i = 0; i < 5; i++) for (let j = 0; j < 4; j++) assert.equal(s.get(i, j), j * 5 + i + (j + 1));
});

test("integer ops wrap, floor and take the divisor's sign like numpy", () => {
  const big = nd.full([N], 65536, "int32");
  assert.deepEqual(
    big.multiply(big).toArray(),
    ramp(N, () => 0),
  ); // 2^32 wraps to 0
  assert.deepEqual(
    nd.full([N], 2147483647, "int32").add(1).toArray(),
    ramp(N, () => -2147483648),
  );
  const x = nd.arange(-9, 10); // -9..9
  assert.deepEqual(
    nd.mod(x, 4).toArray(),
    ramp(N, (i) => (((i - 9) % 4) + 4) % 4),
  );
  assert.deepEqual(
    nd.mod(x, -4).toArray(),
    ramp(N, (i) => -((((9 - i) % 4) + 4) % 4) || 0),
  );
  assert.deepEqual(
    nd.floorDivide(x, 4).toArray(),
    ramp(N, (i) => Math.floor((i - 9) / 4)),
  );
  assert.deepEqual(
    nd.floorDivide(x, 0).toArray(),
    ramp(N, () => 0),
  );
  assert.deepEqual(nd.mod(nd.array([5.5, -5.5]), 2).toArray(), [1.5, 0.5]);
  assert.deepEqual(x.square().slice(":3").toArray(), [81, 64, 49]);
});

test("comparisons give 0/1 bools, NaN compares false (true for !=)", () => {
  const a = nd.array(ramp(N, (i) => (i === 5 ? Number.NaN : i)));
  assert.deepEqual(
    a.less(9).toArray(),
    ramp(N, (i) => i !== 5 && i < 9),
  );
  assert.deepEqual(
    a.greaterEqual(a).toArray(),
    ramp(N, (i) => i !== 5),
  );
  assert.deepEqual(
    a.notEqual(a).toArray(),
    ramp(N, (i) => i === 5),
  );
  assert.deepEqual(
    a.equal(a.slice("::-1")).toArray(),
    ramp(N, (i) => i === 9),
  );
  assert.equal(a.less(1).dtype, "bool");
  assert.deepEqual(nd.lessEqual(3, nd.arange(5)).toArray(), [false, false, false, true, true]);
});

test("unary math on contiguous, reversed and transposed inputs", () => {
  const a = nd.arange(N).astype("float64");
  assert.deepEqual(
    a.square().toArray(),
    ramp(N, (i) => i * i),
  );
  assert.deepEqual(
    a.slice("::-1").negative().toArray(),
    ramp(N, (i) => -(18 - i)),
  );
  assert.deepEqual(
    a.square().sqrt().toArray(),
    ramp(N, (i) => i),
  );
  assert.deepEqual(
    nd.subtract(a, 9).abs().toArray(),
    ramp(N, (i) => Math.abs(i - 9)),
  );
  assert.deepEqual(nd.arange(-3, 4).abs().toArray(), [3, 2, 1, 0, 1, 2, 3]);
  const m = nd.arange(6).reshape(2, 3).T.exp();
  assert.deepEqual(m.shape, [3, 2]);
  assert.equal(m.get(2, 1), Math.exp(5));
  assert.ok(Number.isNaN(nd.array([-1]).sqrt().get(0)));
});

test("sums and extremes over long runs (8 partial accumulators) and along axes", () => {
  const a = nd.arange(37).astype("float64");
  assert.equal(a.sum(), (36 * 37) / 2);
  assert.equal(a.slice("3:").sum(), (36 * 37) / 2 - 3); // offset start
  assert.equal(a.slice("::-1").sum(), 666);
  assert.equal(a.max(), 36);
  assert.equal(a.min(), 0);
  assert.equal(a.mean(), 18);
  const withNaN = a.copy();
  withNaN.set(20, Number.NaN);
  assert.ok(Number.isNaN(withNaN.max()));
  assert.ok(Number.isNaN(withNaN.sum()));
  // 20 x 17: element (i, j) = 17 i + j.
  const m = nd.arange(340).reshape(20, 17).astype("float64");
  assert.deepEqual(
    m.sum(1).toArray(),
    ramp(20, (i) => 17 * 17 * i + 136),
  );
  assert.deepEqual(
    m.sum(0).toArray(),
    ramp(17, (j) => 17 * 190 + 20 * j),
  );
  assert.deepEqual(
    m.max(1).toArray(),
    ramp(20, (i) => 17 * i + 16),
  );
  assert.deepEqual(
    m.mean(0).toArray(),
    ramp(17, (j) => (17 * 190 + 20 * j) / 20),
  );
  assert.deepEqual(
    m.T.sum(0).toArray(),
    ramp(20, (i) => 17 * 17 * i + 136),
  );
  assert.equal(m.astype("int32").prod(1).get(0), 0);
  assert.deepEqual(nd.arange(1, 7).reshape(2, 3).prod(1).toArray(), [6, 120]);
  // variance of 0..36 is (37^2 - 1) / 12
  assert.ok(Math.abs(a.var() - (37 * 37 - 1) / 12) < 1e-9);
});

test("copies, dtype conversion and fill take the bulk paths correctly", () => {
  const f = nd.array([1.9, -1.9, 300.5, -0.5, Number.NaN]);
  assert.deepEqual(f.astype("int32").toArray(), [1, -1, 300, 0, 0]);
  assert.deepEqual(f.astype("uint8").toArray(), [1, 255, 44, 0, 0]);
  assert.deepEqual(f.astype("bool").toArray(), [true, true, true, true, true]);
  assert.deepEqual(nd.array([0, 2]).astype("bool").toArray(), [false, true]);
  const m = nd.arange(6).reshape(2, 3);
  const F = m.copy("F");
  assert.equal(F.flags.f_contiguous, true);
  assert.deepEqual(Array.from(F.data), [0, 3, 1, 4, 2, 5]);
  assert.deepEqual(F.copy("C").toArray(), m.toArray());
  const z = nd.zeros([3, 4]);
  z.slice(":", "1::2").fill(7); // strided view: generic path
  z.slice(2).fill(1); // contiguous row: TypedArray.fill
  assert.deepEqual(z.toArray(), [
    [0, 7, 0, 7],
    [0, 7, 0, 7],
    [1, 1, 1, 1],
  ]);
  const b = nd.zeros([2, 2], "bool").fill(true);
  assert.deepEqual(Array.from(b.data), [1, 1, 1, 1]);
});
