import assert from "node:assert/strict";
import { test } from "node:test";
import * as nd from "../../ndarray/index.js";

test("dtype names and numpy aliases resolve", () => {
  assert.equal(nd.toDType("f8"), "float64");
  assert.equal(nd.toDType("<f4"), "float32");
  assert.equal(nd.toDType("i4"), "int32");
  assert.equal(nd.toDType("u1"), "uint8");
  assert.equal(nd.toDType("?"), "bool");
  assert.equal(nd.toDType(Float32Array), "float32");
  assert.equal(nd.promoteTypes("int32", "float32"), "float64");
  assert.equal(nd.promoteTypes("uint8", "int32"), "int32");
  assert.equal(nd.promoteTypes("bool", "uint8"), "uint8");
});

test("unsupported dtypes are a clear error, not a silent float64", () => {
  for (const bad of ["int64", "complex128", "float16", "object", ""]) {
    assert.throws(() => nd.zeros([2], bad), {
      code: "ERR_ND_DTYPE",
      message: new RegExp(
        `unsupported dtype "${bad}"; supported dtypes are float64, float32, int32, uint8, bool`,
      ),
    });
  }
  assert.throws(() => nd.arange(3).astype("int64"), nd.DTypeError);
  assert.throws(() => nd.array([1], { dtype: "uint16" }), nd.DTypeError);
  assert.throws(() => nd.random.random([2], "int32"), nd.ValueError);
});

test("errors are classes with literal codes", () => {
  const e = new nd.ShapeError("x");
  assert.ok(e instanceof nd.NDArrayError && e instanceof Error);
  assert.equal(e.code, "ERR_ND_SHAPE");
  assert.equal(e.name, "ShapeError");
  assert.throws(() => nd.zeros([-1]), nd.ValueError);
  assert.throws(() => nd.zeros([1.5]), nd.ValueError);
});
