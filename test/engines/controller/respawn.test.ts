import assert from "node:assert/strict";
import { after, test } from "node:test";
import { InvalidOptionError } from "../../../engines/index.js";
import { startTestCluster, stopTestClusters, until } from "../cluster-fixture.js";

after(stopTestClusters);

test("a killed engine is replaced by a fresh one until the respawn budget is spent", async () => {
  const cluster = await startTestCluster({ n: 2, respawn: 1 });
  const rc = cluster.client!;
  const removed: string[] = [];
  rc.on("engineRemoved", (_e, why) => removed.push(why ?? ""));
  const [first, second] = rc.ids as [number, number];
  const [pid] = await rc.view([first]).apply(() => process.pid);
  await rc.view([second]).execute("var kept = 'state'");
  process.kill(pid!, "SIGKILL");
  assert.ok(
    await until(() => rc.ids.length === 2 && !rc.ids.includes(first), 15_000),
    "a replacement joined",
  );
  const fresh = rc.ids.find((id) => id !== second)!;
  assert.ok(fresh > second, "the replacement has a new id");
  assert.match(removed[0]!, /killed by SIGKILL; a replacement is starting \(0 more allowed\)/);
  assert.deepEqual(await rc.view([fresh]).apply(() => typeof (globalThis as { kept?: string }).kept), [
    "undefined",
  ]);
  assert.deepEqual(await rc.view([second]).apply(() => (globalThis as { kept?: string }).kept), ["state"]);
  const status = await rc.queueStatus();
  assert.equal(status.respawned, 1);
  assert.equal(status.respawns_left, 0);

  // The budget is spent: the next death is not replaced.
  const [pid2] = await rc.view([fresh]).apply(() => process.pid);
  process.kill(pid2!, "SIGKILL");
  assert.ok(await until(() => rc.ids.length === 1, 10_000), "dropped");
  await new Promise((r) => setTimeout(r, 1500));
  assert.deepEqual(rc.ids, [second], "and not replaced");
  assert.doesNotMatch(removed[1]!, /replacement/);
});

test("stops, scale-downs and restarts that were asked for are not replaced", async () => {
  const cluster = await startTestCluster({ n: 2, respawn: 5 });
  const rc = cluster.client!;
  await cluster.restartEngine(rc.ids[0]!);
  assert.equal(rc.ids.length, 2, "a restart is one engine for one");
  await cluster.scale(1);
  await rc.shutdown({ targets: [rc.ids[0]!] });
  assert.ok(await until(() => rc.ids.length === 0, 10_000));
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal(rc.ids.length, 0, "nothing came back");
  assert.equal((await rc.queueStatus()).respawned, 0);
});

test("a respawn budget that is not a whole number ≥ 0 is an InvalidOptionError", async () => {
  await assert.rejects(startTestCluster({ n: 1, respawn: -1 }), InvalidOptionError);
  await assert.rejects(startTestCluster({ n: 1, respawn: 1.5 }), InvalidOptionError);
});
