import assert from "node:assert/strict";
import { test } from "node:test";
import { tableFromIPC } from "apache-arrow";
import * as nd from "../../ndarray/index.js";
import { isNDArray, ndarrayFromArrowIPC, ndarrayToArrowIPC } from "../../ndarray/index.js";

test("round-trips every dtype and order, with shape/dtype/order in the schema metadata", () => {
  const rng = nd.random.defaultRng(1);
  for (const dtype of nd.DTYPES) {
    const src = rng.integers(0, 100, [3, 4], dtype);
    for (const a of [
      src,
      src.copy("F"),
      src.T,
      src.slice("::2", "1:3"),
      nd.zeros([0, 2], dtype),
      nd.array(7, { dtype }),
    ]) {
      const bytes = ndarrayToArrowIPC(a);
      const back = ndarrayFromArrowIPC(bytes);
      assert.equal(back.dtype, dtype);
      assert.deepEqual(back.shape, a.shape);
      assert.ok(nd.arrayEqual(back, a), `${dtype} ${a.shape}`);
    }
  }
  const t = tableFromIPC(ndarrayToArrowIPC(nd.arange(6).reshape(2, 3).T));
  assert.equal(t.schema.metadata.get("tsparallel.shape"), "[3,2]");
  assert.equal(t.schema.metadata.get("tsparallel.dtype"), "int32");
  assert.equal(t.schema.metadata.get("tsparallel.order"), "F");
  assert.deepEqual(Array.from(t.getChildAt(0)!.toArray() as Int32Array), [0, 1, 2, 3, 4, 5]);
});

test("encoding copies; decoding is a zero-copy view of the bytes", () => {
  const a = nd.arange(8).astype("float64");
  const bytes = ndarrayToArrowIPC(a);
  a.fill(-1); // mutating after encode must not change the message
  const back = ndarrayFromArrowIPC(bytes);
  assert.deepEqual(back.toArray(), [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(back.data.buffer, bytes.buffer);
  back.set([0], 42);
  assert.equal(ndarrayFromArrowIPC(bytes).get(0), 42);
});

test("decodes from a Node Buffer inside a larger allocation", () => {
  const bytes = ndarrayToArrowIPC(nd.linspace(0, 1, 5));
  const pool = Buffer.alloc(bytes.length + 16);
  pool.set(bytes, 8);
  const frame = pool.subarray(8, 8 + bytes.length);
  const back = ndarrayFromArrowIPC(frame);
  assert.deepEqual(back.toArray(), [0, 0.25, 0.5, 0.75, 1]);
  assert.equal(back.data.buffer, pool.buffer);
});

test("bad bytes give an ArrowFormatError", () => {
  assert.throws(() => ndarrayFromArrowIPC(new Uint8Array([1, 2, 3, 4])), { code: "ERR_ND_ARROW" });
});

test("isNDArray checks the cross-module brand", () => {
  assert.ok(isNDArray(nd.zeros(2)));
  assert.ok(!isNDArray({ shape: [2] }));
  assert.ok(!isNDArray(null));
  assert.ok(!isNDArray(new Float64Array(2)));
  // An object from another copy of the module carries the same registered symbol.
  const foreign = { [Symbol.for("tsparallel.NDArray")]: true };
  assert.ok(isNDArray(foreign));
});
