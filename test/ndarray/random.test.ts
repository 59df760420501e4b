import assert from "node:assert/strict";
import { test } from "node:test";
import * as nd from "../../ndarray/index.js";

test("seeded generators are reproducible", () => {
  nd.random.seed(123);
  const a = nd.random.random([4, 4]);
  nd.random.seed(123);
  const b = nd.random.random([4, 4]);
  assert.ok(nd.arrayEqual(a, b));
  assert.ok(!nd.arrayEqual(a, nd.random.random([4, 4])));
  const g1 = nd.random.defaultRng(9);
  const g2 = nd.random.defaultRng(9);
  assert.ok(nd.arrayEqual(g1.normal(0, 1, [10]), g2.normal(0, 1, [10])));
  assert.deepEqual(nd.random.rand(2, 3).shape, [2, 3]);
  assert.equal(nd.random.random().ndim, 0);
});

test("distributions have the right range and moments", () => {
  const g = nd.random.defaultRng(2024);
  const u = g.random([20000]);
  assert.ok(u.min() >= 0 && u.max() < 1);
  assert.ok(Math.abs(u.mean() - 0.5) < 0.01);
  const v = g.uniform(-2, 3, [20000]);
  assert.ok(v.min() >= -2 && v.max() < 3);
  assert.ok(Math.abs(v.mean() - 0.5) < 0.05);
  const n = g.normal(5, 2, [20000]);
  assert.ok(Math.abs(n.mean() - 5) < 0.05);
  assert.ok(Math.abs(n.std() - 2) < 0.05);
  const r = g.integers(3, 7, [5000]);
  assert.equal(r.dtype, "int32");
  assert.equal(r.min(), 3);
  assert.equal(r.max(), 6);
  nd.random.seed(1);
  const ri = nd.random.randint(10, undefined, [1000], "uint8");
  assert.equal(ri.dtype, "uint8");
  assert.ok(ri.max() <= 9);
  assert.equal(g.random([3], "float32").dtype, "float32");
  assert.deepEqual(nd.random.randn(2, 2).shape, [2, 2]);
  assert.equal(nd.random.uniform(0, 1, [3]).size, 3);
  assert.equal(nd.random.normal(0, 1, 4).size, 4);
  assert.equal(nd.random.standardNormal([2]).size, 2);
  assert.throws(() => g.integers(5, 5), nd.ValueError);
});
