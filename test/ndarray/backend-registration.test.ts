import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import * as nd from "../../ndarray/index.js";

const DIST_NDARRAY = fileURLToPath(new URL("../../ndarray/", import.meta.url));

/** Runs an ES module source in a fresh Node process (nothing of tsparallel loaded) and returns its stdout. */
function runFresh(source: string): string {
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", source], { encoding: "utf8" });
  assert.equal(r.status, 0, `child failed:\n${r.stderr}`);
  return r.stdout.trim();
}

test("an array decoded by arrow.ts alone multiplies (no import of the package entry)", () => {
  const arrow = new URL("arrow.js", `file://${DIST_NDARRAY}`).href;
  const out = runFresh(`
    const { ndarrayFromArrowIPC, ndarrayToArrowIPC } = await import(${JSON.stringify(arrow)});
    const { NDArray } = await import(${JSON.stringify(new URL("ndarray.js", `file://${DIST_NDARRAY}`).href)});
    const wire = (a) => ndarrayFromArrowIPC(ndarrayToArrowIPC(a));
    const a = wire(new NDArray(new Float64Array([1, 2, 3, 4]), [2, 2]));
    const b = wire(new NDArray(new Float64Array([5, 6, 7, 8]), [2, 2]));
    const { backend } = await import(${JSON.stringify(new URL("linalg/backend.js", `file://${DIST_NDARRAY}`).href)});
    console.log(JSON.stringify({ c: a.dot(b).toArray(), f32: a.astype("float32").matmul(b.astype("float32")).toArray(), backend: backend() }));
  `);
  const r = JSON.parse(out) as { c: number[][]; f32: number[][]; backend: string };
  assert.deepEqual(r.c, [
    [19, 22],
    [43, 50],
  ]);
  assert.deepEqual(r.f32, r.c);
  // The fresh process picks the same fastest backend as a process that imported the entry.
  assert.equal(r.backend, nd.backend());
});

test("ndarray.ts alone: dot and matmul work on the first call", () => {
  const out = runFresh(`
    const { NDArray } = await import(${JSON.stringify(new URL("ndarray.js", `file://${DIST_NDARRAY}`).href)});
    const a = new NDArray(new Float64Array([1, 2, 3, 4, 5, 6]), [2, 3]);
    console.log(JSON.stringify([a.dot(a.T).toArray(), a.T.matmul(a).slice(0).toArray()]));
  `);
  assert.deepEqual(JSON.parse(out), [
    [
      [14, 32],
      [32, 77],
    ],
    [17, 22, 27],
  ]);
});
