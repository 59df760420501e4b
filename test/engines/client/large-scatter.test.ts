import assert from "node:assert/strict";
import { freemem } from "node:os";
import { after, test } from "node:test";
import { startTestCluster, stopTestClusters } from "../cluster-fixture.js";

after(stopTestClusters);

const GiB = 1024 ** 3;

test("a 1 GiB Float64Array survives scatter and gather over 2 engines bit for bit", async (t) => {
  // Peak use is about 7 GiB across the processes (source, one send copy, engine copies, gathered result).
  if (freemem() < 9 * GiB) {
    t.skip(`SKIP: needs ~9 GiB free memory, ${(freemem() / GiB).toFixed(1)} GiB free`);
    console.log(
      `SKIP: 1 GiB scatter/gather needs ~9 GiB free memory, ${(freemem() / GiB).toFixed(1)} GiB free`,
    );
    return;
  }
  const rc = (await startTestCluster({ n: 2 })).client!;
  const n = GiB / 8;
  let src: Float64Array | undefined = new Float64Array(n);
  for (let i = 0; i < n; i++) src[i] = i * 1.000001 - 7.5;
  src[12345] = Number.NaN;
  src[n - 1] = -0;
  const view = rc.view();
  let t0 = performance.now();
  await view.scatter("chunk", src);
  const scatterMs = performance.now() - t0;
  assert.deepEqual(await view.apply(() => (globalThis as unknown as { chunk: Float64Array }).chunk.length), [
    n / 2,
    n / 2,
  ]);
  t0 = performance.now();
  let back: Float64Array | undefined = (await view.gather("chunk")) as Float64Array;
  const gatherMs = performance.now() - t0;
  t.diagnostic(
    `scatter ${scatterMs.toFixed(0)} ms, gather ${gatherMs.toFixed(0)} ms (${((2 * GiB) / ((scatterMs + gatherMs) / 1000) / 1e9).toFixed(2)} GB/s round trip)`,
  );
  assert.equal(back.length, n);
  const a = new Uint32Array(src.buffer);
  const b = new Uint32Array(back.buffer, back.byteOffset, back.length * 2);
  let firstDiff = -1;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) {
      firstDiff = i;
      break;
    }
  }
  assert.equal(firstDiff, -1, "gathered bytes equal the source");
  src = undefined;
  back = undefined;
  await view.execute("chunk = undefined;");
});
