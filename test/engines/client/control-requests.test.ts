import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { Client } from "../../../engines/index.js";
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
