import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type AsyncResult, Client, TaskAborted, TaskTimeout } from "../../../engines/index.js";
import { startTestCluster, stopTestClusters } from "../cluster-fixture.js";

declare const flaky: boolean | undefined;

let rc: Client;
before(async () => {
  rc = (await startTestCluster({ n: 2 })).client!;
});
after(stopTestClusters);

test("load-balanced apply spreads a flood of tasks over both engines", async () => {
  const lb = rc.loadBalancedView();
  const ars = Array.from({ length: 200 }, (_, i) =>
    lb.apply((x: number) => [x * 2, process.pid] as const, i),
  );
  const results = await Promise.all(ars.map((ar) => ar.get()));
  assert.deepEqual(
    results.map((r) => r[0]),
    Array.from({ length: 200 }, (_, i) => i * 2),
  );
  assert.equal(new Set(results.map((r) => r[1])).size, 2, "both engines got work");
  assert.ok(
    ars.every((ar) => ar.engineIds[0]! >= 0),
    "the engine is known once answered",
  );
});

test("a burst of thousands of tasks travels in batches and every result comes back right", async () => {
  const lb = rc.loadBalancedView();
  const big = new Float64Array(20_000).fill(3); // 160 kB: sent on its own, between batches
  const ars = Array.from({ length: 3000 }, (_, i) =>
    i === 1500 ? lb.apply((a: Float64Array) => a[0]! * 500 + 1, big) : lb.apply((x: number) => x + 1, i),
  );
  const out = await Promise.all(ars);
  assert.deepEqual(
    out,
    Array.from({ length: 3000 }, (_, i) => i + 1),
  );
  // A reply that came back inside a batch is still in the controller's table for other clients.
  const other = await Client.connect(rc.info);
  try {
    assert.equal(await other.getResult(ars[2999]!.msgIds[0]!), 3000);
  } finally {
    await other.close();
  }
});

test("map honours chunksize and ordered, and imap yields every item", async () => {
  const lb = rc.loadBalancedView();
  const xs = Array.from({ length: 25 }, (_, i) => i);
  const ar = lb.map((x: number) => x * x, xs, { chunksize: 4 });
  assert.equal(ar.msgIds.length, 7, "25 items in chunks of 4");
  assert.deepEqual(
    await ar,
    xs.map((x) => x * x),
  );
  const unordered: number[] = [];
  for await (const v of lb.imap(
    (x: number) => new Promise<number>((r) => setTimeout(() => r(x), x === 0 ? 150 : 1)),
    [0, 1, 2, 3],
    { ordered: false },
  )) {
    unordered.push(v);
  }
  assert.deepEqual([...unordered].sort(), [0, 1, 2, 3]);
  assert.notEqual(unordered[0], 0, "the slow first item does not hold back the others");
});

test("after waits for a dependency and follow runs where it ran", async () => {
  const lb = rc.loadBalancedView();
  const first = lb.apply(() => new Promise<number>((r) => setTimeout(() => r(Date.now()), 150)));
  const second = lb.withFlags({ after: first }).apply(() => Date.now());
  const third = lb.withFlags({ follow: first }).apply(() => process.pid);
  await first;
  const firstPid = await rc.view([first.engineIds[0]!]).apply(() => process.pid);
  assert.ok((await second) >= (await first));
  assert.equal(await third, firstPid[0]);
  assert.equal(third.engineIds[0], first.engineIds[0]);
});

test("retries re-run a failed task on another engine", async () => {
  await rc.at(0).execute("var flaky = true;");
  await rc.at(1).execute("var flaky = false;");
  const lb = rc.loadBalancedView().withFlags({ retries: 1 });
  const results = await Promise.all(
    Array.from({ length: 6 }, () =>
      lb.apply(() => {
        if (flaky) throw new Error("flaky engine");
        return "ok";
      }),
    ),
  );
  assert.deepEqual(results, Array(6).fill("ok"));
});

test("a load-balanced timeout stops the running task and the engine runs the next one", async () => {
  const lb = rc.loadBalancedView().withFlags({ timeout: 200 });
  await assert.rejects(
    async () =>
      await lb.apply(() => {
        for (;;) {}
      }),
    TaskTimeout,
  );
  assert.deepEqual((await rc.view().apply(() => "alive")).length, 2);
});

test("abort cancels tasks that have not started; started ones finish", async () => {
  const lb = rc.loadBalancedView();
  const ars: AsyncResult[] = Array.from({ length: 10 }, () =>
    lb.apply(() => new Promise((r) => setTimeout(() => r("done"), 100))),
  );
  const aborted = await rc.abort(ars);
  assert.ok(aborted.length >= 1, "some tasks were still queued in the controller");
  const outcomes = await Promise.all(
    ars.map((ar) =>
      ar.get().then(
        (v) => v,
        (e: unknown) => e,
      ),
    ),
  );
  assert.ok(outcomes.some((o) => o === "done"));
  assert.ok(outcomes.some((o) => o instanceof TaskAborted));
  assert.ok(outcomes.every((o) => o === "done" || o instanceof TaskAborted));
});

test("output goes only to the client that asked", async () => {
  const other = await Client.connect(rc.info);
  try {
    const ar = rc.loadBalancedView().apply(() => console.log("for the first client only"));
    await ar;
    assert.equal(ar.stdout[0], "for the first client only\n");
    await other.queueStatus(); // a round trip, so anything stray would have arrived
    assert.equal(other.link.unmatched, 0);
  } finally {
    await other.close();
  }
});

test("queueStatus reports every engine's counts, state and memory", async () => {
  const qs = await rc.queueStatus();
  assert.deepEqual(Object.keys(qs.engines).map(Number), rc.ids);
  for (const e of Object.values(qs.engines)) {
    assert.ok(e.completed > 0);
    assert.ok(e.rss > 10_000_000);
    assert.ok(e.state === "idle" || e.state === "busy");
  }
  assert.equal(qs.unassigned, 0);
});
