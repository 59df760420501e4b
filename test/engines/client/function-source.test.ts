import assert from "node:assert/strict";
import { test } from "node:test";
import { ClusterError } from "../../../engines/client/errors.js";
import { shipFunction } from "../../../engines/client/function-source.js";
import { blockBounds, concatParts, partition } from "../../../engines/client/partition.js";

test("arrow functions, function expressions and async functions ship as their source", () => {
  assert.equal(shipFunction((x: number) => x + 1).source, "(x) => x + 1");
  assert.match(
    shipFunction(function named(a: number) {
      return a;
    }).source,
    /^function named/,
  );
  assert.match(shipFunction(async () => 1).source, /^async/);
});

test("method shorthand is wrapped into an expression that yields the method", () => {
  const obj = {
    twice(x: number) {
      return 2 * x;
    },
  };
  const shipped = shipFunction(obj.twice);
  assert.equal(new Function(`return ${shipped.source}`)()(21), 42);
});

test("native and bound functions get an error that says what to do", () => {
  assert.throws(
    () => shipFunction(Math.max),
    (e: unknown) =>
      e instanceof ClusterError && e.code === "UNSHIPPABLE_FUNCTION" && /wrap it/.test(e.message),
  );
  assert.throws(
    () => shipFunction(((x: number) => x).bind(null)),
    /bound function.*pass the bound values as arguments/,
  );
  assert.throws(() => shipFunction(42 as never), /must be a function/);
});

test("block partitioning matches ipyparallel: the first n % p parts get one more", () => {
  assert.deepEqual(blockBounds(10, 3), [
    [0, 4],
    [4, 7],
    [7, 10],
  ]);
  assert.deepEqual(partition([1, 2, 3], 3, true), [1, 2, 3]);
  const f = new Float64Array([1, 2, 3, 4, 5]);
  const parts = partition(f, 2) as Float64Array[];
  assert.equal(parts[0]!.buffer, f.buffer, "typed-array parts are views");
  assert.deepEqual(concatParts(parts), f);
  assert.deepEqual(concatParts([[1, 2], [3]]), [1, 2, 3]);
});
