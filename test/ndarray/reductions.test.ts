import assert from "node:assert/strict";
import { test } from "node:test";
import * as nd from "../../ndarray/index.js";

const m = () =>
  nd.array([
    [1, 2, 3],
    [4, 5, 6],
  ]);

test("sum, prod, min and max over all elements and along axes", () => {
  const a = m();
  assert.equal(a.sum(), 21);
  assert.deepEqual(a.sum(0).toArray(), [5, 7, 9]);
  assert.deepEqual(a.sum(1).toArray(), [6, 15]);
  assert.deepEqual(a.sum(-1, true).shape, [2, 1]);
  assert.deepEqual(a.sum([0, 1]).toArray(), 21);
  assert.equal(a.sum(0).dtype, "int32");
  assert.equal(nd.sum(a), 21);
  assert.equal(a.prod(), 720);
  assert.deepEqual(a.prod(0).toArray(), [4, 10, 18]);
  assert.equal(a.min(), 1);
  assert.equal(a.max(), 6);
  assert.deepEqual(a.max(0).toArray(), [4, 5, 6]);
  assert.deepEqual(nd.min(a, 1).toArray(), [1, 4]);
  assert.equal(nd.max(nd.array([1, Number.NaN, 3])), Number.NaN);
  const f = a.astype("float32");
  assert.equal(f.sum(0).dtype, "float32");
  assert.deepEqual(f.sum(1).toArray(), [6, 15]);
});

test("mean, var and std", () => {
  const a = m();
  assert.equal(a.mean(), 3.5);
  assert.deepEqual(a.mean(0).toArray(), [2.5, 3.5, 4.5]);
  assert.deepEqual(a.mean(1).toArray(), [2, 5]);
  assert.equal(a.mean(0).dtype, "float64");
  assert.equal(a.astype("float32").mean(1).dtype, "float32");
  // population std of 1..6 is sqrt(35/12)
  assert.ok(Math.abs(a.std() - Math.sqrt(35 / 12)) < 1e-12);
  assert.deepEqual(a.std(0).toArray(), [1.5, 1.5, 1.5]);
  assert.deepEqual(a.var(1).toArray(), [2 / 3, 2 / 3]);
  assert.deepEqual(a.var(1, false, 1).toArray(), [1, 1]);
  assert.ok(Math.abs(nd.std(a) - a.std()) < 1e-15);
  assert.equal(nd.mean(a), 3.5);
});

test("argmax and argmin", () => {
  const a = nd.array([
    [1, 9, 3],
    [7, 5, 7],
  ]);
  assert.equal(a.argmax(), 1);
  assert.equal(a.argmin(), 0);
  assert.deepEqual(a.argmax(0).toArray(), [1, 0, 1]);
  assert.deepEqual(a.argmax(1).toArray(), [1, 0]);
  assert.deepEqual(nd.argmin(a, 1).toArray(), [0, 1]);
  assert.equal(a.T.argmax(), 2);
  assert.equal(nd.argmax(nd.array([1, Number.NaN, 5])), 1);
  assert.equal(a.argmax(0).dtype, "int32");
});

test("reductions over strided views and 3-D arrays", () => {
  const a = nd.arange(24).reshape(2, 3, 4);
  assert.deepEqual(a.sum(1).toArray(), [
    [12, 15, 18, 21],
    [48, 51, 54, 57],
  ]);
  assert.deepEqual(a.sum([0, 2]).toArray(), [60, 92, 124]);
  const v = a.slice(":", "::2", "::-1");
  assert.deepEqual(v.sum(2).toArray(), [
    [6, 38],
    [54, 86],
  ]);
  assert.equal(v.max(), 23);
  // np.sum(A.reshape(m, l, 1) * B.reshape(1, l, n), axis=1) is a matrix product
  const A = nd.arange(6).reshape(2, 3);
  const B = nd.arange(12).reshape(3, 4);
  const C = nd.sum(A.reshape(2, 3, 1).multiply(B.reshape(1, 3, 4)), 1);
  assert.ok(nd.arrayEqual(C, A.matmul(B)));
});

test("reducing an empty array without identity fails clearly", () => {
  assert.equal(nd.zeros([0]).sum(), 0);
  assert.throws(() => nd.zeros([0]).max(), { code: "ERR_ND_VALUE", message: /zero-size array/ });
  assert.throws(() => nd.zeros([0]).argmax(), nd.ValueError);
});
