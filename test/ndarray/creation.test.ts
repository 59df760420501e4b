import assert from "node:assert/strict";
import { test } from "node:test";
import * as nd from "../../ndarray/index.js";

test("zeros, ones, empty and full in every dtype and order", () => {
  for (const dtype of nd.DTYPES) {
    const z = nd.zeros([2, 3], dtype);
    assert.equal(z.dtype, dtype);
    assert.deepEqual(z.shape, [2, 3]);
    assert.deepEqual(z.strides, [3, 1]);
    assert.equal(z.sum(), 0);
    assert.equal(nd.ones([2, 3], dtype).sum(), 6);
    assert.equal(nd.empty(4, dtype).size, 4);
  }
  assert.deepEqual(nd.zeros([2, 3], "float64", "F").strides, [1, 2]);
  assert.deepEqual(nd.full([2, 2], 7).toArray(), [
    [7, 7],
    [7, 7],
  ]);
  assert.equal(nd.full([2], 7).dtype, "int32");
  assert.equal(nd.full([2], 0.5).dtype, "float64");
  assert.equal(nd.full([2], true).dtype, "bool");
  assert.equal(nd.zeros([3]).data.constructor, Float64Array);
  assert.equal(nd.zeros([3], "float32").data.constructor, Float32Array);
  assert.equal(nd.zeros([3], "int32").data.constructor, Int32Array);
  assert.equal(nd.zeros([3], "uint8").data.constructor, Uint8Array);
});

test("like-constructors copy shape and dtype", () => {
  const a = nd.arange(6).reshape(2, 3);
  assert.deepEqual(nd.zerosLike(a).shape, [2, 3]);
  assert.equal(nd.onesLike(a).dtype, "int32");
  assert.equal(nd.fullLike(a, 2, "float32").sum(), 12);
  assert.equal(nd.emptyLike(a).size, 6);
});

test("arange and linspace", () => {
  assert.deepEqual(nd.arange(5).toArray(), [0, 1, 2, 3, 4]);
  assert.deepEqual(nd.arange(2, 10, 3).toArray(), [2, 5, 8]);
  assert.deepEqual(nd.arange(5, 0, -2).toArray(), [5, 3, 1]);
  assert.equal(nd.arange(5).dtype, "int32");
  assert.equal(nd.arange(0, 1, 0.25).dtype, "float64");
  assert.deepEqual(nd.arange(0, 1, 0.25).toArray(), [0, 0.25, 0.5, 0.75]);
  assert.deepEqual(nd.arange(3, undefined, 1, "float32").toArray(), [0, 1, 2]);
  assert.equal(nd.arange(3, 0).size, 0);
  assert.deepEqual(nd.linspace(0, 1, 5).toArray(), [0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(nd.linspace(0, 1, 4, { endpoint: false }).toArray(), [0, 0.25, 0.5, 0.75]);
  assert.equal(nd.linspace(0, 1).size, 50);
  assert.deepEqual(nd.linspace(2, 3, 1).toArray(), [2]);
});

test("eye and identity", () => {
  assert.deepEqual(nd.eye(3).toArray(), [
    [1, 0, 0],
    [0, 1, 0],
    [0, 0, 1],
  ]);
  assert.deepEqual(nd.eye(2, 3, 1).toArray(), [
    [0, 1, 0],
    [0, 0, 1],
  ]);
  assert.deepEqual(nd.eye(3, 2, -1, "int32").toArray(), [
    [0, 0],
    [1, 0],
    [0, 1],
  ]);
  assert.ok(nd.arrayEqual(nd.identity(4), nd.eye(4)));
});

test("array infers shape and dtype from nested arrays", () => {
  const a = nd.array([
    [1, 2],
    [3, 4],
  ]);
  assert.equal(a.dtype, "int32");
  assert.deepEqual(a.shape, [2, 2]);
  assert.equal(a.get(1, 0), 3);
  assert.equal(nd.array([1, 2.5]).dtype, "float64");
  assert.equal(nd.array([true, false]).dtype, "bool");
  assert.equal(nd.array([3e9]).dtype, "float64");
  assert.equal(nd.array(5).ndim, 0);
  assert.equal(nd.array([[1, 2]], { dtype: "float32" }).dtype, "float32");
  const f = nd.array(
    [
      [1, 2],
      [3, 4],
    ],
    { order: "F" },
  );
  assert.deepEqual(f.strides, [1, 2]);
  assert.deepEqual(Array.from(f.data), [1, 3, 2, 4]);
  assert.throws(() => nd.array([[1, 2], [3]]), nd.ShapeError);
});

test("array copies, asarray does not when it need not", () => {
  const t = new Float64Array([1, 2, 3]);
  const a = nd.array(t);
  a.set([0], 9);
  assert.equal(t[0], 1);
  const b = nd.asarray(t);
  b.set([0], 9);
  assert.equal(t[0], 9);
  assert.equal(nd.asarray(b), b);
  assert.notEqual(nd.asarray(b, { dtype: "float32" }), b);
  assert.equal(nd.array(b).data === b.data, false);
});

test("asarray and astype without copy return a strided view as it is, unless an order is asked for", () => {
  const m = nd.arange(12, undefined, 1, "float64").reshape(3, 4);
  const inner = m.slice("1:3", "1:3"); // neither C- nor F-contiguous
  assert.equal(nd.asarray(inner), inner);
  assert.equal(inner.astype("float64", { copy: false }), inner);
  const packed = inner.astype("float64", { copy: false, order: "C" });
  assert.notEqual(packed, inner);
  assert.deepEqual(packed.strides, [2, 1]);
  // elementwise steps read the view in place: no hidden copy, and the result is right
  assert.deepEqual(nd.add(inner, inner.T).toArray(), [
    [10, 15],
    [15, 20],
  ]);
});

test("frombuffer views raw bytes", () => {
  const buf = new ArrayBuffer(32);
  new Float64Array(buf).set([1, 2, 3, 4]);
  const a = nd.frombuffer(buf, "float64");
  assert.deepEqual(a.toArray(), [1, 2, 3, 4]);
  const b = nd.frombuffer(buf, "float64", { offset: 8, count: 2 });
  assert.deepEqual(b.toArray(), [2, 3]);
  b.set([0], 20);
  assert.equal(a.get(1), 20);
  assert.throws(() => nd.frombuffer(buf, "float64", { offset: 4 }), nd.ValueError);
});
