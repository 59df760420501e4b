import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type Client, type Cluster, CompositeError, EngineError } from "../../../engines/index.js";
import * as nd from "../../../ndarray/index.js";
import { startTestCluster, stopTestClusters } from "../cluster-fixture.js";

let cluster: Cluster;
let rc: Client;
before(async () => {
  cluster = await startTestCluster({ n: 2 });
  rc = cluster.client!;
});
after(stopTestClusters);

const MiB = 1 << 20;

test("a gather lands the engines' parts side by side in its result: no copy, values intact", async () => {
  const view = rc.view();
  const a = new Float64Array(3 * MiB).map((_, i) => i * 0.5 - 7);
  await view.scatter("x", a);
  const ar = view.gather<Float64Array>("x");
  const parts: Float64Array[] = [];
  for await (const p of ar) parts.push(p as Float64Array);
  const g = await ar;
  assert.deepEqual(Buffer.from(g.buffer, g.byteOffset, g.byteLength), Buffer.from(a.buffer));
  assert.equal(g.buffer.byteLength, a.byteLength, "the result owns exactly its bytes");
  assert.ok(
    parts.every((p) => p.buffer === g.buffer),
    "each engine's part was received into the result itself",
  );

  // NDArrays join along axis 0 the same way.
  const m = nd.arange(6 * 200_000).reshape([2 * 200_000, 3]);
  await view.scatter("m", m);
  const gm = (await view.gather("m")) as nd.NDArray;
  assert.deepEqual(gm.shape, [400_000, 3]);
  assert.deepEqual(Array.from(gm.data), Array.from(m.data));

  // A Float32Array of odd length (its Arrow body is padded) still comes back exactly.
  const f = new Float32Array(MiB + 3).map((_, i) => i);
  await view.scatter("f", f);
  const gf = (await view.gather("f")) as Float32Array;
  assert.equal(gf.length, f.length);
  assert.ok(gf.every((x, i) => x === f[i]));
  assert.equal(rc.router.landings.size, 0, "no gather is left waiting");
});

test("parts that cannot share one result are joined the ordinary way", async () => {
  const [e0, e1] = [rc.at(rc.ids[0]!), rc.at(rc.ids[1]!)];
  await e0.push({ y: new Float64Array(MiB / 4).fill(1) });
  await e1.push({ y: new Int32Array(MiB / 2).fill(2) });
  const mixed = (await rc.view().gather("y")) as number[];
  assert.equal(mixed.length, MiB / 4 + MiB / 2, "different kinds become one plain array");
  assert.equal(mixed[MiB / 4 + 1], 2);

  await e1.push({ y: new Float64Array(10).fill(3) });
  const small = (await rc.view().gather("y")) as Float64Array;
  assert.equal(small.length, MiB / 4 + 10, "a small part next to a large one");
  assert.equal(small[small.length - 1], 3);

  await e1.execute("delete globalThis.y;");
  await assert.rejects(
    async () => await rc.view().gather("y"),
    (e: unknown) => e instanceof CompositeError && /NameError/.test(e.message),
  );
  assert.equal(rc.router.landings.size, 0);
});

test("a part never waits long for a busy engine, and one engine named twice is gathered twice", async () => {
  const [id0, id1] = rc.ids as [number, number];
  const big = new Float64Array(2 * MiB).fill(4);
  await rc.view().push({ z: big });
  const twice = (await rc.view([id0, id0]).gather("z")) as Float64Array;
  assert.equal(twice.length, 2 * big.length, "both parts from the same lane");

  const [pid1] = await rc.view([id1]).apply(() => process.pid);
  // Engine 1 is busy for good, so engine 0's part arrives first and waits for engine 1's size.
  void rc
    .view([id1])
    .apply(() => new Promise(() => {}))
    .catch(() => {});
  const gathering = rc.view([id0, id1]).gather("z");
  const t0 = Date.now();
  const z0 = (await rc.at(id0).pull("z")) as Float64Array;
  assert.equal(z0.length, big.length, "engine 0's lane is not held by the waiting gather");
  assert.ok(Date.now() - t0 < 3000, "engine 0 answers promptly");
  assert.equal(rc.router.landings.size, 0, "the gather gave up waiting");
  process.kill(pid1!, "SIGKILL");
  await assert.rejects(
    async () => await gathering,
    (e: unknown) =>
      (e instanceof CompositeError && e.errors.some((x) => x instanceof EngineError)) ||
      e instanceof EngineError,
  );
});
