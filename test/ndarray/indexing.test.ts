import assert from "node:assert/strict";
import { test } from "node:test";
import * as nd from "../../ndarray/index.js";

const grid = () => nd.arange(12).reshape(3, 4); // [[0..3],[4..7],[8..11]]

test("integer indexing, negative indices and get/set", () => {
  const a = grid();
  assert.equal(a.get(1, 2), 6);
  assert.equal(a.get(-1, -1), 11);
  a.set([0, -1], 100);
  assert.equal(a.get(0, 3), 100);
  assert.deepEqual(a.slice(1).toArray(), [4, 5, 6, 7]);
  assert.deepEqual(a.slice(-1).toArray(), [8, 9, 10, 11]);
  assert.equal(a.slice(2, 1).ndim, 0);
  assert.equal(a.slice(2, 1).item(), 9);
  assert.equal(a.item(5), 5);
});

test("start:stop:step slices are views", () => {
  const a = grid();
  const v = a.slice("1:", "::2");
  assert.deepEqual(v.toArray(), [
    [4, 6],
    [8, 10],
  ]);
  assert.equal(v.data, a.data);
  assert.deepEqual(v.strides, [4, 2]);
  assert.equal(v.offset, 4);
  v.set([0, 0], -1);
  assert.equal(a.get(1, 0), -1);
  assert.deepEqual(a.slice(":", "::-1").slice(0).toArray(), [3, 2, 1, 0]);
  assert.deepEqual(a.slice("::-2", 0).toArray(), [8, 0]);
  assert.deepEqual(a.slice(0, "-3:-1").toArray(), [1, 2]);
  assert.deepEqual(a.slice(0, nd.s(1, 3)).toArray(), [1, 2]);
  assert.deepEqual(a.slice(0, { step: 3 }).toArray(), [0, 3]);
  assert.equal(a.slice("5:").size, 0);
  assert.deepEqual(a.slice("...", 1).toArray(), [1, 5, 9]);
  assert.deepEqual(a.slice(nd.ellipsis, 1).toArray(), [1, 5, 9]);
});

test("new axes", () => {
  const r = nd.arange(3);
  assert.deepEqual(r.slice(null, ":").shape, [1, 3]);
  assert.deepEqual(r.slice(":", nd.newaxis).shape, [3, 1]);
  assert.deepEqual(r.slice(":", "newaxis").toArray(), [[0], [1], [2]]);
  // aRow[:, np.newaxis] * B broadcasts a column against a matrix.
  const prod = r.slice(":", null).multiply(nd.ones([3, 2], "int32"));
  assert.deepEqual(prod.toArray(), [
    [0, 0],
    [1, 1],
    [2, 2],
  ]);
});

test("views of views compose offsets and strides", () => {
  const a = nd.arange(60).reshape(3, 4, 5);
  const v = a.slice("::2", "1:", "::-2").slice(-1, "::2").T;
  // numpy: a[::2, 1:, ::-2][-1, ::2].T.tolist() == [[49, 59], [47, 57], [45, 55]]
  // (a[2] rows 1 and 3 are 45..49 and 55..59; columns read backwards in steps of 2).
  assert.deepEqual(v.toArray(), [
    [49, 59],
    [47, 57],
    [45, 55],
  ]);
  assert.equal(v.data, a.data);
  assert.deepEqual(v.copy().toArray(), v.toArray());
});

test("transpose, swapaxes and T are views", () => {
  const a = grid();
  const t = a.T;
  assert.deepEqual(t.shape, [4, 3]);
  assert.deepEqual(t.strides, [1, 4]);
  assert.equal(t.get(3, 2), 11);
  assert.equal(t.data, a.data);
  const b = nd.arange(24).reshape(2, 3, 4);
  assert.deepEqual(b.transpose(1, 0, 2).shape, [3, 2, 4]);
  assert.equal(b.transpose([2, 0, 1]).get(3, 1, 2), b.get(1, 2, 3));
  assert.deepEqual(b.swapaxes(0, 2).shape, [4, 3, 2]);
  assert.equal(b.swapaxes(0, -1).get(1, 2, 0), b.get(0, 2, 1));
  assert.ok(t.flags.f_contiguous && !t.flags.c_contiguous);
});

test("reshape is a view when the layout allows and a copy otherwise", () => {
  const a = nd.arange(12);
  const r = a.reshape(3, 4);
  assert.equal(r.data, a.data);
  assert.deepEqual(a.reshape([2, -1]).shape, [2, 6]);
  assert.deepEqual((r.reshape(4, 3).toArray() as number[][])[1], [3, 4, 5]);
  // A row block of a C array stays contiguous: view.
  const rows = r.slice("1:3").reshape(8);
  assert.equal(rows.data, a.data);
  assert.deepEqual(rows.toArray(), [4, 5, 6, 7, 8, 9, 10, 11]);
  // Splitting one strided axis is still a view.
  const every2 = a.slice("::2").reshape(2, 3);
  assert.equal(every2.data, a.data);
  assert.deepEqual(every2.toArray(), [
    [0, 2, 4],
    [6, 8, 10],
  ]);
  // A transpose flattened in C order needs a copy.
  const tf = r.T.reshape(12);
  assert.notEqual(tf.data, a.data);
  assert.deepEqual((tf.toArray() as number[]).slice(0, 4), [0, 4, 8, 1]);
  // ... but in F order it is a view.
  assert.equal(r.T.reshape([12], { order: "F" }).data, a.data);
  assert.deepEqual((r.reshape([2, 6], { order: "F" }).toArray() as number[][])[0], [0, 8, 5, 2, 10, 7]);
  assert.deepEqual(r.ravel().shape, [12]);
  assert.notEqual(r.flatten().data, a.data);
  assert.deepEqual(nd.zeros([1, 3, 1]).squeeze().shape, [3]);
  assert.deepEqual(nd.zeros([3]).expandDims(0).shape, [1, 3]);
  assert.throws(() => a.reshape(5, 3), nd.ShapeError);
});

test("copy in C and F order, astype across every dtype", () => {
  const a = grid();
  const f = a.copy({ order: "F" });
  assert.deepEqual(f.strides, [1, 3]);
  assert.deepEqual(f.toArray(), a.toArray());
  assert.deepEqual(Array.from(f.data).slice(0, 4), [0, 4, 8, 1]);
  assert.deepEqual(a.T.copy("K").strides, [1, 4]);
  assert.deepEqual(a.T.copy().strides, [3, 1]);
  const x = nd.array([-1.7, 0, 2.5, 300.2]);
  assert.deepEqual(x.astype("int32").toArray(), [-1, 0, 2, 300]);
  assert.deepEqual(x.astype("uint8").toArray(), [255, 0, 2, 44]);
  assert.deepEqual(x.astype("bool").toArray(), [true, false, true, true]);
  assert.deepEqual(x.astype("float32").toArray(), [Math.fround(-1.7), 0, 2.5, Math.fround(300.2)]);
  assert.equal(x.astype("float64", { copy: false }), x);
  assert.equal(nd.array([1, 2], { dtype: "uint8" }).astype("float64").dtype, "float64");
  // Long contiguous runs inside a strided view (a column panel) are copied in bulk, row by row.
  const big = nd.arange(40 * 100).reshape(40, 100);
  const panel = big.slice(":", "30:90");
  const packed = panel.copy();
  assert.deepEqual(packed.strides, [60, 1]);
  assert.equal(packed.get(39, 59), 39 * 100 + 89);
  assert.deepEqual(packed.toArray(), panel.toArray());
  const flipped = big.slice("::-1", "30:90").copy();
  assert.deepEqual([flipped.get(0, 0), flipped.get(0, 1), flipped.get(39, 59)], [3930, 3931, 89]);
});

test("assign and fill write through views with broadcasting", () => {
  const c = nd.zeros([3, 3]);
  c.slice(1, ":").assign([1, 2, 3]);
  c.slice(":", 0).fill(7);
  c.slice("...", 2).assign(nd.array([9]));
  assert.deepEqual(c.toArray(), [
    [7, 0, 9],
    [7, 2, 9],
    [7, 0, 9],
  ]);
  const m = nd.arange(4).reshape(2, 2);
  m.assign(m.T); // overlapping source is snapshotted
  assert.deepEqual(m.toArray(), [
    [0, 2],
    [1, 3],
  ]);
});

test("out-of-range indices name the axis", () => {
  const a = grid();
  assert.throws(() => a.get(3, 0), {
    code: "ERR_ND_INDEX",
    message: /index 3 is out of bounds for axis 0 with size 3/,
  });
  assert.throws(() => a.get(0, -5), { message: /axis 1 with size 4/ });
  assert.throws(() => a.slice(0, 4), { message: /axis 1/ });
  assert.throws(() => a.slice(0, 0, 0), nd.IndexError);
  assert.throws(() => a.sum(2), { code: "ERR_ND_INDEX", message: /axis 2 is out of bounds/ });
  assert.throws(() => a.slice("::0"), nd.ValueError);
});
