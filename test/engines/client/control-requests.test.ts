import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Client, InterruptedError } from "../../../engines/index.js";
import { startTestCluster, stopTestClusters, until } from "../cluster-fixture.js";

let rc: Client;
before(async () => {
  rc = (await startTestCluster({ n: 1 })).client!;
});
after(stopTestClusters);

test("getResult of a reply the controller kept settles its request at once", async () => {
  const [msgId] = rc.loadBalancedView().apply(() => 41 + 1).msgIds;
  await rc.getResult(msgId!);
  const other = await Client.connect(rc.info);
  try {
    assert.equal(await other.getResult(msgId!), 42);
    // The kept reply answers the task, not the request: it used to wait for its 10 s timeout.
    assert.ok(await until(() => other.link.pendingRequests === 0, 1000), "no request left waiting");
  } finally {
    await other.close();
  }
});

test("getResult from another client of a flood's tasks, whose replies came back in batches", async () => {
  const lb = rc.loadBalancedView();
  const ars = Array.from({ length: 500 }, (_, i) => lb.apply((x: number) => x * 2, i));
  await Promise.all(ars);
  const other = await Client.connect(rc.info);
  try {
    for (const i of [0, 137, 499]) assert.equal(await other.getResult(ars[i]!.msgIds[0]!), i * 2);
  } finally {
    await other.close();
  }
});

test("a control request whose signal aborts rejects with InterruptedError, not the signal's reason", async () => {
  await assert.rejects(rc.queueStatus({ signal: AbortSignal.abort() }), (e: unknown) => {
    assert.ok(e instanceof InterruptedError, String(e));
    assert.equal(e.code, "INTERRUPTED");
    return true;
  });
  const ac = new AbortController();
  const pending = rc.queueStatus({ signal: ac.signal });
  ac.abort();
  await assert.rejects(pending, (e: unknown) => e instanceof InterruptedError && e.code === "INTERRUPTED");
  // A signal aborted with a TimeoutError keeps it, as every wait of the API does.
  const timedOut = AbortSignal.abort(new DOMException("the time is up", "TimeoutError"));
  await assert.rejects(rc.queueStatus({ signal: timedOut }), (e: unknown) => {
    assert.equal((e as Error).name, "TimeoutError");
    return true;
  });
  assert.ok((await rc.queueStatus()).engines, "the link still works");
});
