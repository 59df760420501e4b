import assert from "node:assert/strict";
import { test } from "node:test";
import { runInNewContext } from "node:vm";
import { tableFromIPC } from "apache-arrow";
import { dtypeOfTypedArray } from "../../ndarray/dtype.js";
import * as nd from "../../ndarray/index.js";

/** A typed array made inside a fresh vm context: its constructor is not this realm's. */
function foreign<T>(source: string): T {
  return runInNewContext(source) as T;
}

test("typed arrays from a vm context are recognised by their type tag", () => {
  const f64 = foreign<Float64Array>("new Float64Array([1, 2, 3])");
  assert.equal(f64 instanceof Float64Array, false); // the premise: a different realm
  assert.equal(dtypeOfTypedArray(f64), "float64");
  assert.equal(dtypeOfTypedArray(foreign("new Float32Array(2)")), "float32");
  assert.equal(dtypeOfTypedArray(foreign("new Int32Array(2)")), "int32");
  assert.equal(dtypeOfTypedArray(foreign("new Uint8Array(2)")), "uint8");
  assert.equal(dtypeOfTypedArray(foreign("new Uint16Array(2)")), null);
  assert.equal(dtypeOfTypedArray(foreign("[1, 2]")), null);
  assert.equal(nd.toDType(foreign<Float32ArrayConstructor>("Float32Array")), "float32");
});

test("array, asarray, frombuffer and the constructor accept foreign typed arrays", () => {
  const f64 = foreign<Float64Array>("new Float64Array([1, 2, 3])");
  const a = nd.array(f64);
  assert.equal(a.dtype, "float64");
  assert.deepEqual(a.toArray(), [1, 2, 3]);
  // asarray wraps without copying: writes show through to the vm's array.
  const v = nd.asarray(f64);
  assert.equal(v.dtype, "float64");
  v.set(0, 10);
  assert.equal(f64[0], 10);
  assert.ok(v.data instanceof Float64Array, "re-viewed as this realm's Float64Array");
  const i32 = nd.asarray(foreign<Int32Array>("new Int32Array([7, -8])"));
  assert.equal(i32.dtype, "int32");
  assert.deepEqual(i32.multiply(2).toArray(), [14, -16]);
  const fb = nd.frombuffer(foreign<Float64Array>("new Float64Array([4, 5, 6])"), "float64", { offset: 8 });
  assert.deepEqual(fb.toArray(), [5, 6]);
  const fromBuf = nd.frombuffer(foreign<ArrayBuffer>("new Float32Array([1.5, 2.5]).buffer"), "float32");
  assert.deepEqual(fromBuf.toArray(), [1.5, 2.5]);
  const m = new nd.NDArray(foreign<Float64Array>("new Float64Array([1, 2, 3, 4])"), [2, 2]);
  assert.equal(m.dtype, "float64");
  assert.deepEqual(m.matmul(m).toArray(), [
    [7, 10],
    [15, 22],
  ]);
  assert.equal(nd.asarray(foreign<Uint8Array>("new Uint8Array([1, 0])"), { dtype: "bool" }).dtype, "bool");
});

test("the Arrow encoder takes NDArrays over foreign memory and bare foreign typed arrays", () => {
  const f32 = foreign<Float32Array>("new Float32Array([0.5, 1.5, 2.5, 3.5])");
  const a = nd.asarray(f32).reshape(2, 2);
  const back = nd.ndarrayFromArrowIPC(nd.ndarrayToArrowIPC(a));
  assert.equal(back.dtype, "float32");
  assert.deepEqual(back.toArray(), [
    [0.5, 1.5],
    [2.5, 3.5],
  ]);
  const bytes = nd.ndarrayToArrowIPC(foreign<Int32Array>("new Int32Array([3, 1, 4])"));
  const t = tableFromIPC(bytes);
  assert.equal(t.schema.metadata.get("tsparallel.dtype"), "int32");
  assert.deepEqual(nd.ndarrayFromArrowIPC(bytes).toArray(), [3, 1, 4]);
});
