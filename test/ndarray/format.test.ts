import assert from "node:assert/strict";
import { test } from "node:test";
import * as nd from "../../ndarray/index.js";

// Expected strings are numpy 2.x's repr of the same arrays (checked with numpy 2.4).
test("toString matches numpy's repr", () => {
  const cases: [nd.NDArray, string][] = [
    [nd.array([1e-5, 1.5e10]), "array([1.0e-05, 1.5e+10])"],
    [nd.array([0, 1e-5]), "array([0.e+00, 1.e-05])"],
    [nd.array([1e9], { dtype: "float64" }), "array([1.e+09])"],
    [nd.array([Number.NaN, 1.5, Number.NEGATIVE_INFINITY]), "array([ nan,  1.5, -inf])"],
    [nd.array([0.1], { dtype: "float32" }), "array([0.1], dtype=float32)"],
    [nd.array([1 / 3, 2], { dtype: "float32" }), "array([0.33333334, 2.        ], dtype=float32)"],
    [nd.array([123456.789, 1e-3]), "array([1.23456789e+05, 1.00000000e-03])"],
    [nd.array([true, false]), "array([ True, False])"],
    [
      nd.array([
        [1, -20],
        [3, 4],
      ]),
      "array([[  1, -20],\n       [  3,   4]], dtype=int32)",
    ],
    [nd.zeros([2, 2, 2]), "array([[[0., 0.],\n        [0., 0.]],\n\n       [[0., 0.],\n        [0., 0.]]])"],
    [nd.array(3.5), "array(3.5)"],
    [nd.zeros([0, 3]), "array([], shape=(0, 3), dtype=float64)"],
    [nd.zeros([0], "float32"), "array([], dtype=float32)"],
    [
      nd.arange(12, undefined, 1, "uint8").reshape(3, 4),
      "array([[ 0,  1,  2,  3],\n       [ 4,  5,  6,  7],\n       [ 8,  9, 10, 11]], dtype=uint8)",
    ],
    [nd.array([1e20, -1e-20]), "array([ 1.e+20, -1.e-20])"],
    [nd.array([-0, 5], { dtype: "float64" }), "array([-0.,  5.])"],
    [nd.array([1, 2.5]), "array([1. , 2.5])"],
  ];
  for (const [a, want] of cases) assert.equal(a.toString(), want);
});

test("long rows wrap at 75 columns and big arrays are summarised", () => {
  assert.equal(
    nd.arange(30).multiply(1.5).toString(),
    "array([ 0. ,  1.5,  3. ,  4.5,  6. ,  7.5,  9. , 10.5, 12. , 13.5, 15. ,\n" +
      "       16.5, 18. , 19.5, 21. , 22.5, 24. , 25.5, 27. , 28.5, 30. , 31.5,\n" +
      "       33. , 34.5, 36. , 37.5, 39. , 40.5, 42. , 43.5])",
  );
  assert.equal(
    nd.arange(2000, undefined, 1, "float64").toString(),
    "array([0.000e+00, 1.000e+00, 2.000e+00, ..., 1.997e+03, 1.998e+03,\n       1.999e+03], shape=(2000,))",
  );
  const big = nd.arange(1e6).reshape(1000, 1000);
  const text = big.toString();
  assert.ok(text.startsWith("array([[     0,      1,      2, ...,    997,    998,    999],"));
  assert.ok(text.includes("       ...,\n"));
  assert.ok(
    text.endsWith(
      "[999000, 999001, 999002, ..., 999997, 999998, 999999]],\n      shape=(1000, 1000), dtype=int32)",
    ),
  );
});

test("views print their logical elements", () => {
  const a = nd.arange(6).reshape(2, 3).T.astype("float64");
  assert.equal(a.toString(), "array([[0., 3.],\n       [1., 4.],\n       [2., 5.]])");
  assert.equal(`${nd.arange(4).slice("::-1")}`, "array([3, 2, 1, 0], dtype=int32)");
});

test("Jupyter display gives text/plain and an HTML table for 2-D arrays", () => {
  const a = nd.array([
    [1, 2],
    [3, 4.5],
  ]);
  const display = (a as unknown as Record<symbol, () => nd.MimeBundle>)[Symbol.for("Jupyter.display")]!;
  const bundle = display.call(a);
  assert.equal(bundle["text/plain"], a.toString());
  const html = bundle["text/html"]!;
  assert.match(html, /^<table/);
  assert.match(html, /<td>4.5<\/td>/);
  assert.match(html, /<caption>NDArray \(2, 2\) float64<\/caption>/);
  const big = nd.zeros([100, 100]);
  const bigHtml = (big as unknown as Record<symbol, () => nd.MimeBundle>)[
    Symbol.for("Jupyter.display")
  ]!.call(big)["text/html"]!;
  assert.equal((bigHtml.match(/<tr>/g) ?? []).length, 22); // header + 20 rows + ellipsis row
  const cube = nd.zeros([2, 2, 2]);
  assert.equal(
    (cube as unknown as Record<symbol, () => nd.MimeBundle>)[Symbol.for("Jupyter.display")]!.call(cube)[
      "text/html"
    ],
    undefined,
  );
});
