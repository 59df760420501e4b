import assert from "node:assert/strict";
import { test } from "node:test";
import * as nd from "../../ndarray/index.js";

test("get: 1-D and 2-D fast paths, negative indices, views and higher ranks", () => {
  const a = nd.arange(12).reshape(3, 4); // [[0..3], [4..7], [8..11]]
  assert.equal(a.get(1, 2), 6);
  assert.equal(a.get(-1, -1), 11);
  assert.equal(a.get(0, -4), 0);
  assert.equal(a.T.get(3, 1), 7); // transposed view: element (1, 3) of a
  assert.equal(a.slice("::-1", "1:").get(0, 0), 9); // reversed rows, offset view
  const v = nd.array([5, 6, 7]);
  assert.equal(v.get(0), 5);
  assert.equal(v.get(-1), 7);
  assert.equal(v.slice("::-2").get(1), 5);
  const c = nd.arange(24).reshape(2, 3, 4);
  assert.equal(c.get(1, 2, 3), 23);
  assert.equal(c.get(-1, 0, 1), 13);
  assert.equal(nd.array(4.5).get(), 4.5); // 0-d
});

test("get: bad indices throw IndexError with the same messages as before", () => {
  const a = nd.zeros([2, 3]);
  assert.throws(() => a.get(2, 0), /index 2 is out of bounds for axis 0 with size 2/);
  assert.throws(() => a.get(0, -4), /index -4 is out of bounds for axis 1 with size 3/);
  assert.throws(() => a.get(0.5, 0), /index 0.5 for axis 0 is not an integer/);
  assert.throws(() => a.get(Number.NaN, 0), nd.IndexError);
  assert.throws(() => a.get(1), /expected 2 indices for shape \(2, 3\), got 1/);
  assert.throws(() => nd.zeros([4]).get(4), nd.IndexError);
  assert.throws(() => nd.zeros([4]).get(0, 0), /expected 1 indices/);
});

test("set: number indices then the value, or an index array then the value", () => {
  const a = nd.zeros([2, 3], "int32");
  a.set(1, 2, 7).set(-2, 0, 3.9).set([0, 1], 5);
  assert.deepEqual(a.toArray(), [
    [3, 5, 0],
    [0, 0, 7],
  ]);
  const v = nd.zeros([3]);
  v.set(-1, 2.5).set(0, nd.array([4]));
  assert.deepEqual(v.toArray(), [4, 0, 2.5]);
  const b = nd.zeros([2, 2], "bool");
  b.set(0, 1, true).set(1, 0, 2);
  assert.deepEqual(b.toArray(), [
    [false, true],
    [true, false],
  ]);
  const c = nd.zeros([2, 2, 2]);
  c.set(1, 1, 0, 9);
  assert.equal(c.get(1, 1, 0), 9);
  const t = nd.zeros([2, 3]);
  t.T.set(2, 1, 1); // writes through a transposed view
  assert.equal(t.get(1, 2), 1);
  assert.throws(() => a.set(2, 0, 1), /out of bounds for axis 0/);
  assert.throws(() => a.set(0, 1), /expected 2 indices/);
});

test("the documented fast way: data, offset and strides", () => {
  const a = nd.arange(12).reshape(3, 4).slice("1:", "::2"); // [[4, 6], [8, 10]]
  const { data, offset } = a;
  const [s0, s1] = a.strides as [number, number];
  const out: number[] = [];
  for (let i = 0; i < a.shape[0]!; i++)
    for (let j = 0; j < a.shape[1]!; j++) out.push(data[offset + i * s0 + j * s1]!);
  assert.deepEqual(out, [4, 6, 8, 10]);
  assert.equal(a.flatIndex([1, 1]), offset + s0 + s1);
});
