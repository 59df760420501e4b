import assert from "node:assert/strict";
import { test } from "node:test";
import * as nd from "../../ndarray/index.js";

const a = () =>
  nd.array([
    [1, 2],
    [3, 4],
  ]);

test("concatenate, stack, vstack and hstack", () => {
  const x = a();
  const y = nd.array([[5, 6]]);
  assert.deepEqual(nd.concatenate([x, y]).toArray(), [
    [1, 2],
    [3, 4],
    [5, 6],
  ]);
  assert.deepEqual(nd.concatenate([x, y.T], 1).toArray(), [
    [1, 2, 5],
    [3, 4, 6],
  ]);
  assert.deepEqual(nd.concatenate([x, x.T], -1).toArray(), [
    [1, 2, 1, 3],
    [3, 4, 2, 4],
  ]);
  assert.equal(nd.concatenate([x, x.astype("float32")]).dtype, "float64");
  assert.deepEqual(nd.stack([x, x]).shape, [2, 2, 2]);
  assert.deepEqual(nd.stack([nd.arange(2), nd.arange(2)], 1).toArray(), [
    [0, 0],
    [1, 1],
  ]);
  assert.deepEqual(nd.vstack([nd.arange(2), nd.arange(2)]).shape, [2, 2]);
  assert.deepEqual(nd.hstack([nd.arange(2), nd.arange(3)]).toArray(), [0, 1, 0, 1, 2]);
  assert.throws(() => nd.concatenate([x, nd.zeros([2, 3])]), {
    code: "ERR_ND_SHAPE",
    message: /\(2, 2\), \(2, 3\)/,
  });
  assert.throws(() => nd.stack([x, nd.zeros([3])]), nd.ShapeError);
});

test("block reassembles tiles into a matrix", () => {
  const m = nd.arange(16).reshape(4, 4);
  const q = [m.slice(":2", ":2"), m.slice(":2", "2:"), m.slice("2:", ":2"), m.slice("2:", "2:")];
  const back = nd.block([
    [q[0]!, q[1]!],
    [q[2]!, q[3]!],
  ]);
  assert.ok(nd.arrayEqual(back, m));
  assert.deepEqual(nd.block([nd.arange(2), nd.arange(3)]).toArray(), [0, 1, 0, 1, 2]);
  assert.deepEqual(nd.block([[nd.ones([2, 2], "int32"), nd.zeros([2, 1], "int32")]]).toArray(), [
    [1, 1, 0],
    [1, 1, 0],
  ]);
  assert.throws(() => nd.block([[m], m] as never), nd.ValueError);
  // Uneven tiles, mixed dtypes (promoted), and a 1-D tile lifted to a row.
  const uneven = nd.block([[nd.ones([1, 3], "int32"), nd.full([1, 1], 2.5)], [nd.arange(4).reshape(1, 4)]]);
  assert.equal(uneven.dtype, "float64");
  assert.deepEqual(uneven.toArray(), [
    [1, 1, 1, 2.5],
    [0, 1, 2, 3],
  ]);
  assert.deepEqual(nd.block([[nd.arange(2)], [nd.arange(2, 4)]]).toArray(), [
    [0, 1],
    [2, 3],
  ]);
  // Three levels: a 3-D array from 2×2×2 cubes of one element each.
  const cube = nd.arange(8).reshape(2, 2, 2);
  const cells = [0, 1].map((i) =>
    [0, 1].map((j) => [0, 1].map((k) => cube.slice(`${i}:${i + 1}`, `${j}:${j + 1}`, `${k}:${k + 1}`))),
  );
  assert.ok(nd.arrayEqual(nd.block(cells), cube));
  assert.throws(
    () => nd.block([[nd.ones([2, 2]), nd.ones([3, 1])]]),
    /dimensions except for the concatenation axis must match exactly; got shapes \(2, 2\), \(3, 1\)/,
  );
});

test("take, repeat and tile", () => {
  const x = a();
  assert.deepEqual(nd.take(x, [0, 3]).toArray(), [1, 4]);
  assert.deepEqual(x.take([1, 0], 0).toArray(), [
    [3, 4],
    [1, 2],
  ]);
  assert.deepEqual(x.take([-1], 1).toArray(), [[2], [4]]);
  assert.deepEqual(x.take(1, 1).toArray(), [2, 4]);
  assert.throws(() => x.take([2], 0), { code: "ERR_ND_INDEX", message: /axis 0 with size 2/ });
  // np.repeat(np.arange(m), n) and np.tile(np.arange(n), m) enumerate (i, j) pairs.
  assert.deepEqual(nd.repeat(nd.arange(3), 2).toArray(), [0, 0, 1, 1, 2, 2]);
  assert.deepEqual(nd.tile(nd.arange(3), 2).toArray(), [0, 1, 2, 0, 1, 2]);
  assert.deepEqual(x.repeat(2, 0).toArray(), [
    [1, 2],
    [1, 2],
    [3, 4],
    [3, 4],
  ]);
  assert.deepEqual(x.repeat([1, 2], 1).toArray(), [
    [1, 2, 2],
    [3, 4, 4],
  ]);
  assert.deepEqual(nd.tile(x, [2, 1]).shape, [4, 2]);
  assert.deepEqual(nd.tile(nd.arange(2), [2, 2]).toArray(), [
    [0, 1, 0, 1],
    [0, 1, 0, 1],
  ]);
  assert.deepEqual(nd.tile(nd.arange(2), 0).shape, [0]);
  assert.equal(nd.repeat(nd.arange(1000), 1000).size, 1e6);
});

test("put writes at flat indices (numpy's C[i, j] = v with index arrays)", () => {
  const m = 2;
  const n = 3;
  const C = nd.zeros([m, n]);
  const i = nd.repeat(nd.arange(m), n);
  const j = nd.tile(nd.arange(n), m);
  nd.put(C, i.multiply(n).add(j), nd.arange(6).multiply(10));
  assert.deepEqual(C.toArray(), [
    [0, 10, 20],
    [30, 40, 50],
  ]);
  const F = nd.zeros([2, 2], "int32", "F");
  nd.put(F, [1, -1], 7);
  assert.deepEqual(F.toArray(), [
    [0, 7],
    [0, 7],
  ]);
  F.set([0, 0], nd.array(5));
  assert.equal(F.get(0, 0), 5);
  assert.throws(() => nd.put(F, [4], 1), nd.IndexError);
});
