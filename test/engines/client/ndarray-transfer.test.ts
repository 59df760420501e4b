import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { startTestCluster, stopTestClusters } from "../cluster-fixture.js";

declare const a: { shape: number[]; sum(): number };
declare const p: { shape: number[] };

after(stopTestClusters);

const ndarrayEntry = fileURLToPath(new URL("../../../ndarray/index.js", import.meta.url));

test("NDArrays cross the wire as Arrow frames, keep their methods, and scatter/gather along axis 0", async (t) => {
  if (!existsSync(ndarrayEntry)) {
    console.log("SKIP: tsparallel/ndarray is not built (dist/ndarray/index.js missing)");
    t.skip("ndarray not built");
    return;
  }
  const nd = (await import(ndarrayEntry)) as {
    arange(n: number): { reshape(s: number[]): unknown };
    arrayEqual(x: unknown, y: unknown): boolean;
  };
  const rc = (await startTestCluster({ n: 2 })).client!;
  const m = nd.arange(24).reshape([6, 4]);
  await rc.view().push({ a: m });
  assert.deepEqual(await rc.at(0).apply(() => [a.shape, a.sum()]), [[6, 4], 276]);
  const all = rc.view();
  await all.scatter("p", m);
  assert.deepEqual(await all.apply(() => p.shape), [
    [3, 4],
    [3, 4],
  ]);
  const g = (await all.gather("p")) as { shape: number[] };
  assert.deepEqual(g.shape, [6, 4]);
  assert.ok(nd.arrayEqual(g, m));
  const back = await rc.at(1).pull("a");
  assert.ok(nd.arrayEqual(back, m));
});
