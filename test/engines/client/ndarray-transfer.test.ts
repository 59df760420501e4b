import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { startTestCluster, stopTestClusters } from "../cluster-fixture.js";

declare const a: { shape: number[]; sum(): number };
declare const p: { shape: number[] };
type Grid = { get(i: number, j: number): number };

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

test("what is sent is the value when the call was made: changing it right after does not travel", async () => {
  const nd = (await import(ndarrayEntry)) as {
    full(shape: number[], v: number): Grid & { data: Float64Array; slice(...s: string[]): Grid };
  };
  const rc = (await startTestCluster({ n: 2 })).client!;
  const e = rc.at(0);
  const lb = rc.loadBalancedView();
  const all = rc.view();
  // Twice: the first NDArray is copied before the Arrow codec has loaded, later ones after.
  for (let round = 0; round < 2; round++) {
    const typed = new Float64Array(2 ** 17).fill(7); // 1 MiB: out of band, over a lane
    const pushed = e.push({ typed });
    typed.fill(0);
    await pushed;
    const m = nd.full([256, 256], 3);
    const panel = m.slice(":", "0:128"); // a strided view, packed while it is copied
    const applied = lb.apply((x: Grid) => x.get(5, 1), panel);
    const direct = e.apply((x: Grid) => x.get(200, 100), m);
    m.data.fill(0);
    const small = { x: 1, arr: new Float64Array(4).fill(2) }; // inline, structured clone
    const viaClone = e.apply((o: { x: number; arr: Float64Array }) => o.x + o.arr[0]!, small);
    small.x = 100;
    small.arr[0] = 100;
    const big = new Float32Array(2 ** 18).fill(5);
    const scattered = all.scatter("s", big);
    big.fill(0);
    await scattered;
    const gathered = (await all.gather("s")) as Float32Array;
    assert.equal((await e.pull<Float64Array>("typed"))[12345], 7, `round ${round}: push`);
    assert.equal(await applied, 3, `round ${round}: load-balanced apply of a strided NDArray`);
    assert.equal(await direct, 3, `round ${round}: direct apply of an NDArray`);
    assert.equal(await viaClone, 3, `round ${round}: a small object`);
    assert.ok(
      gathered.every((x) => x === 5),
      `round ${round}: scatter`,
    );
  }
});
