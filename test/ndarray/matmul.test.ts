import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import * as nd from "../../ndarray/index.js";
import { gemmWasmBytes } from "../../ndarray/linalg/gemm-wasm.js";
import { nativeBackendMissing } from "../helpers/system-needs.js";

const NATIVE_SKIP = nativeBackendMissing();
const haveNative = NATIVE_SKIP === undefined;

/** Plain triple-loop reference product over get(), independent of every backend. */
function reference(a: nd.NDArray, b: nd.NDArray): nd.NDArray {
  const [m, k] = a.shape as [number, number];
  const n = b.shape[1]!;
  const out = nd.zeros([m, n]);
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let p = 0; p < k; p++) s += a.get(i, p) * b.get(p, j);
      out.set([i, j], s);
    }
  }
  return out;
}

function withBackend(name: nd.BackendName, body: () => void): void {
  nd.setBackend(name);
  try {
    body();
  } finally {
    nd.setBackend("auto");
  }
}

function backendSuite(name: nd.BackendName): void {
  const opts = name === "native" && !haveNative ? { skip: NATIVE_SKIP } : {};

  test(`${name}: hand-checked products and identities`, opts, () => {
    withBackend(name, () => {
      for (const dtype of ["float64", "float32"] as const) {
        const a = nd.array(
          [
            [1, 2],
            [3, 4],
          ],
          { dtype },
        );
        const b = nd.array(
          [
            [5, 6],
            [7, 8],
          ],
          { dtype },
        );
        const c = a.matmul(b);
        assert.equal(c.dtype, dtype);
        assert.deepEqual(c.toArray(), [
          [19, 22],
          [43, 50],
        ]);
        assert.deepEqual(
          nd.dot(a, b.T),
          nd.array(
            [
              [17, 23],
              [39, 53],
            ],
            { dtype },
          ),
        );
        assert.deepEqual(a.dot(nd.array([1, 1], { dtype })), nd.array([3, 7], { dtype }));
        assert.deepEqual(nd.matmul(nd.array([1, 1], { dtype }), a).toArray(), [4, 6]);
        assert.equal(nd.dot(nd.array([1, 2, 3], { dtype }), nd.array([4, 5, 6], { dtype })), 32);
        assert.equal(nd.matmul(nd.array([1, 2], { dtype }), nd.array([3, 4], { dtype })).item(), 11);
        const r = nd.random.defaultRng(7).random([5, 5], dtype);
        assert.ok(nd.allclose(r.matmul(nd.eye(5, 5, 0, dtype)), r));
        assert.ok(nd.allclose(nd.eye(5, 5, 0, dtype).matmul(r), r));
      }
    });
  });

  test(`${name}: odd sizes, orders, transposes and strided views match the reference`, opts, () => {
    withBackend(name, () => {
      const rng = nd.random.defaultRng(42);
      const shapes: [number, number, number][] = [
        [1, 1, 1],
        [3, 5, 2],
        [7, 9, 13],
        [33, 17, 65],
        [70, 300, 9],
        [5, 3, 4099], // wider than one column block (4096) of the TypeScript kernel
      ];
      for (const dtype of ["float64", "float32"] as const) {
        const tol = dtype === "float64" ? { rtol: 1e-12, atol: 1e-12 } : { rtol: 1e-5, atol: 1e-5 };
        for (const [m, k, n] of shapes) {
          const a = rng.random([m, k], dtype);
          const b = rng.random([k, n], dtype);
          const want = reference(a, b);
          const variants: [string, nd.NDArray, nd.NDArray][] = [
            ["C·C", a, b],
            ["F·C", a.copy("F"), b],
            ["C·F", a, b.copy("F")],
            ["F·F", a.copy("F"), b.copy("F")],
            ["T·T", a.T.copy().T, b.T.copy().T],
          ];
          for (const [label, x, y] of variants) {
            const got = nd.matmul(x, y);
            assert.ok(nd.allclose(got, want, tol), `${name} ${dtype} ${label} ${m}x${k}x${n}`);
          }
        }
        // Sub-blocks of a bigger matrix (leading dimension > columns), and views of views.
        const big = rng.random([40, 50], dtype);
        const a00 = big.slice(":20", ":25");
        const a11 = big.slice("20:", "25:");
        assert.ok(nd.allclose(a00.matmul(a11.T), reference(a00, a11.T), tol), "sub-blocks");
        const vv = big.slice("1:", "2:").slice("::1", "3:30").T; // transposed view of a view
        const w = big.slice("1:40", "10:37");
        assert.ok(nd.allclose(vv.matmul(w), reference(vv, w), tol), "transposed view of a view");
        // Non-unit strides on both axes force a packed copy; reversed rows too.
        const s = big.slice("::2", "::3");
        const rev = big.slice("::-1", ":17");
        assert.ok(nd.allclose(s.matmul(rev.slice(":17")), reference(s, rev.slice(":17")), tol), "strided");
        // Broadcast (stride 0) operand.
        const bc = nd.ones([1, 17], dtype).broadcastTo([6, 17]);
        assert.ok(nd.allclose(bc.matmul(s.T), reference(bc, s.T), tol), "broadcast");
      }
    });
  });

  test(`${name}: gemmInto accumulates into a block of a larger matrix`, opts, () => {
    withBackend(name, () => {
      const rng = nd.random.defaultRng(3);
      const a = rng.random([6, 4]);
      const b = rng.random([4, 5]);
      const c = nd.ones([10, 10]);
      const block = c.slice("2:8", "3:8");
      nd.gemmInto(a, b, block, 2, 1);
      const want = reference(a, b).multiply(2).add(1);
      assert.ok(nd.allclose(block, want));
      assert.equal(c.get(0, 0), 1);
      assert.equal(c.get(2, 2), 1);
      assert.equal(c.get(8, 3), 1);
    });
  });
}

for (const name of nd.BACKENDS) backendSuite(name);

test("mixed and integer dtypes", () => {
  const i = nd.array([
    [1, 2],
    [3, 4],
  ]);
  assert.equal(i.matmul(i).dtype, "int32");
  assert.deepEqual(i.matmul(i).toArray(), [
    [7, 10],
    [15, 22],
  ]);
  const f32 = i.astype("float32");
  assert.equal(f32.matmul(i.astype("float64")).dtype, "float64");
  assert.equal(f32.matmul(i).dtype, "float64");
  assert.equal((nd.dot(2, i) as nd.NDArray).dtype, "int32");
  assert.deepEqual(nd.dot(i, 0.5).toString(), "array([[0.5, 1. ],\n       [1.5, 2. ]])");
});

test("stacks of matrices broadcast over leading axes", () => {
  const a = nd.arange(12).reshape(2, 2, 3).astype("float64");
  const b = nd.arange(6).reshape(3, 2).astype("float64");
  const c = nd.matmul(a, b);
  assert.deepEqual(c.shape, [2, 2, 2]);
  assert.deepEqual(c.slice(1).toArray(), reference(a.slice(1), b).toArray());
});

test("mismatched inner dimensions name both shapes", () => {
  assert.throws(() => nd.matmul(nd.zeros([2, 3]), nd.zeros([4, 5])), {
    code: "ERR_ND_SHAPE",
    message: "shapes (2, 3) and (4, 5) not aligned: 3 (dim 1) != 4 (dim 0)",
  });
  assert.throws(() => nd.dot(nd.zeros([3]), nd.zeros([4])), /shapes \(3,\) and \(4,\) not aligned/);
  assert.throws(() => nd.matmul(nd.zeros([2]), 3), nd.ValueError);
});

test("zero-size products", () => {
  assert.deepEqual(nd.matmul(nd.zeros([0, 3]), nd.zeros([3, 2])).shape, [0, 2]);
  assert.deepEqual(nd.matmul(nd.ones([2, 0]), nd.ones([0, 3])).toArray(), [
    [0, 0, 0],
    [0, 0, 0],
  ]);
});

test("backend selection, forcing and BLAS threads", (t) => {
  const avail = nd.availableBackends();
  assert.ok(avail.includes("wasm") && avail.includes("ts"));
  assert.equal(nd.backend(), avail[0]);
  nd.setBackend("ts");
  assert.equal(nd.backend(), "ts");
  nd.setBackend("auto");
  assert.equal(nd.backend(), avail[0]);
  assert.throws(() => nd.setBackend("cuda" as nd.BackendName), nd.BackendUnavailableError);
  if (!haveNative) {
    assert.throws(() => nd.setBackend("native"), { code: "ERR_ND_BACKEND" });
    t.skip(NATIVE_SKIP);
    return;
  }
  // Engines run one BLAS thread unless OPENBLAS_NUM_THREADS says otherwise.
  if (!process.env.OPENBLAS_NUM_THREADS) assert.equal(nd.blasThreads(), 1);
  nd.setBlasThreads(2);
  assert.equal(nd.blasThreads(), 2);
  nd.setBlasThreads(1);
  assert.equal(nd.blasThreads(), 1);
});

test("the embedded wasm module is the committed ndarray/wasm/gemm.wasm", () => {
  const file = readFileSync(new URL("../../../ndarray/wasm/gemm.wasm", import.meta.url));
  assert.deepEqual(Buffer.from(gemmWasmBytes()), file);
});

/**
 * Strassen-Winograd (TS backend) against the classical path. Strassen satisfies only a normwise
 * bound, so the error is max|C - C_classical| / max(|A|·|B|), not elementwise.
 * Measured, uniform [0,1) and [-0.5,0.5) data: float64 0 to 4e-15 on the shapes below (crossover 16,
 * up to 3 levels) and 0.6e-15 to 5.4e-15 at n = 256..2048 (default crossover, up to 4 levels);
 * float32 1e-8 to 5.4e-8, identical to the classical float32 result, since both compute in float64
 * and round once. Bounds: float64 5e-14, ~10x the worst measured; float32 2^-23: rounding to
 * float32 costs at most 2^-24·|C_ij| <= 2^-24·max(|A||B|), doubled for slack.
 */
const STRASSEN_TOL = { float64: 5e-14, float32: 2 ** -23 };

function normwiseError(got: nd.NDArray, want: nd.NDArray, a: nd.NDArray, b: nd.NDArray): number {
  const scale = nd.max(nd.matmul(nd.abs(a.astype("float64")), nd.abs(b.astype("float64")))) as number;
  return (nd.max(nd.abs(got.astype("float64").subtract(want))) as number) / scale;
}

function withStrassen(body: () => void): void {
  const saved = nd.strassen();
  nd.setBackend("ts");
  try {
    body();
  } finally {
    nd.setStrassen(saved);
    nd.setBackend("auto");
  }
}

test("ts: Strassen-Winograd matches the classical product (odd sizes, views, both dtypes)", () => {
  withStrassen(() => {
    const rng = nd.random.defaultRng(11);
    // [crossover, m, k, n]: odd, even and non-square, on both sides of the crossover.
    const cases: [number, number, number, number][] = [
      [16, 16, 16, 16],
      [16, 15, 16, 17],
      [16, 17, 16, 16],
      [16, 32, 33, 31],
      [16, 64, 64, 64],
      [16, 100, 129, 67],
      [16, 127, 128, 129],
      [nd.strassen().crossover, 255, 256, 257],
      [nd.strassen().crossover, 257, 300, 260],
    ];
    let differs = false;
    for (const dtype of ["float64", "float32"] as const) {
      for (const [crossover, m, k, n] of cases) {
        const big = rng.random([2 * m + 3, 2 * k + 3], dtype).subtract(0.5);
        const a = rng.random([m, k], dtype).subtract(0.5);
        const b = rng.random([k, n], dtype).subtract(0.5);
        const variants: [string, nd.NDArray, nd.NDArray][] = [
          ["C·C", a, b],
          ["F·T", a.copy("F"), b.T.copy().T],
          ["block·C", big.slice(`1:${m + 1}`, `2:${k + 2}`), b], // leading dimension > columns
          ["strided·C", big.slice(`::2`, `1:${2 * k + 1}:2`).slice(`:${m}`), b], // no unit stride: packed copy
        ];
        // The two cases at the default crossover are ~100x larger: the two layouts are enough there.
        for (const [label, x, y] of m > 200 ? variants.slice(0, 2) : variants) {
          nd.setStrassen(false);
          const want = nd.matmul(x.astype("float64"), y.astype("float64"));
          nd.setStrassen({ enabled: true, crossover });
          const got = nd.matmul(x, y);
          assert.equal(got.dtype, dtype);
          const err = normwiseError(got, want, x, y);
          assert.ok(err <= STRASSEN_TOL[dtype], `${dtype} ${label} ${m}x${k}x${n}: error ${err}`);
          if (dtype === "float64" && err > 0) differs = true;
        }
      }
    }
    assert.ok(differs, "Strassen never ran: every float64 result equals the classical one bit for bit");
  });
});

test("ts: Strassen honours alpha, beta and an output block of a larger matrix", () => {
  withStrassen(() => {
    nd.setStrassen({ enabled: true, crossover: 16 });
    const rng = nd.random.defaultRng(12);
    for (const dtype of ["float64", "float32"] as const) {
      const a = rng.random([37, 40], dtype);
      const b = rng.random([40, 35], dtype).T.copy().T; // stored transposed
      const c0 = rng.random([50, 50], dtype);
      for (const [alpha, beta] of [
        [2, 0.5],
        [1, 1],
        [-1, 0],
      ] as const) {
        const c = c0.copy();
        if (beta === 0) c.slice("3:40", "5:40").assign(nd.full([37, 35], Number.NaN, dtype)); // beta = 0 ignores C
        const block = c.slice("3:40", "5:40");
        nd.gemmInto(a, b, block, alpha, beta);
        nd.setStrassen(false);
        const want = reference(a, b)
          .multiply(alpha)
          .add(c0.slice("3:40", "5:40").astype("float64").multiply(beta));
        nd.setStrassen(true);
        const err = normwiseError(block, want, a, b);
        assert.ok(err <= 2 * STRASSEN_TOL[dtype], `${dtype} alpha=${alpha} beta=${beta}: error ${err}`);
        assert.deepEqual(c.slice(":3").toArray(), c0.slice(":3").toArray(), "rows above the block untouched");
        assert.deepEqual(c.slice(":", ":5").slice("3:40").toArray(), c0.slice("3:40", ":5").toArray());
      }
    }
  });
});

test("ts: the kernel is valid asm.js, so V8 compiles it ahead of time instead of warning", () => {
  // V8 reports a module that fails validation on stderr ("Invalid asm.js: …") and runs it as
  // plain JavaScript, about half as fast.
  const index = new URL("../../ndarray/index.js", import.meta.url).href;
  const r = spawnSync(
    process.execPath,
    [
      "--input-type=module",
      "-e",
      `import * as nd from ${JSON.stringify(index)}; nd.setBackend("ts"); const a = nd.ones([9, 7]); console.log(nd.matmul(a, a.T).get(8, 8));`,
    ],
    { encoding: "utf8" },
  );
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), "7");
  assert.doesNotMatch(r.stderr, /asm\.js/);
});

test("setStrassen turns the TS backend's Strassen path off and sets its crossover", () => {
  withStrassen(() => {
    const rng = nd.random.defaultRng(13);
    const a = rng.random([70, 66]);
    const b = rng.random([66, 68]);
    nd.setStrassen({ enabled: true, crossover: 1024 });
    const classical = nd.matmul(a, b); // below the crossover: the classical loop
    nd.setStrassen({ crossover: 16 });
    assert.deepEqual(nd.strassen(), { enabled: true, crossover: 16 });
    assert.notDeepEqual(nd.matmul(a, b).toArray(), classical.toArray(), "crossover 16 recurses");
    nd.setStrassen(false);
    assert.deepEqual(nd.strassen(), { enabled: false, crossover: 16 });
    assert.deepEqual(nd.matmul(a, b).toArray(), classical.toArray(), "off: bit for bit the classical result");
    assert.throws(() => nd.setStrassen({ crossover: 1 }), RangeError);
    assert.throws(() => nd.setStrassen({ crossover: 2.5 }), RangeError);
  });
});
