/**
 * Stopping what a notebook started: `rc.shutdown()` of a client from `Cluster.start` stops the
 * whole cluster, and engines that leave because they were asked to are not reported as deaths.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, test } from "node:test";
import { Cluster } from "../../engines/index.js";
import { processAlive } from "../../engines/launchers/process-alive.js";
import { startTestCluster, stopTestClusters, until, useTempClusterDir } from "./cluster-fixture.js";

const tmp = useTempClusterDir();
after(async () => {
  await stopTestClusters();
  tmp.cleanup();
});

test("a notebook's closing rc.shutdown() stops the cluster it started: controller, engines and connection file", async () => {
  const cluster = await startTestCluster({ n: 2 });
  const rc = cluster.client!;
  const controller = rc.info.controller_pid;
  const engines = await rc.view().apply(() => process.pid);
  await rc.shutdown();
  assert.ok(await until(() => !processAlive(controller), 5000), "the controller still runs");
  assert.ok(await until(() => engines.every((p) => !processAlive(p)), 5000), "an engine still runs");
  assert.equal(existsSync(cluster.file), false, "the connection file stayed");
});

test("engines a client shuts down leave as planned: no death is reported, and the controller stays up", async () => {
  const log = join(tmp.dir, "planned.log");
  // A daemon's log is a file, where what the controller reports can be read.
  const cluster = await Cluster.launch({ n: 2, name: "planned", daemonLog: log, timeout: 20_000 });
  try {
    const rc = cluster.client!;
    const reasons: (string | undefined)[] = [];
    rc.on("engineRemoved", (_e, why) => reasons.push(why));
    await rc.shutdown({ targets: "all" });
    assert.ok(await until(() => rc.ids.length === 0, 5000), "the engines did not leave");
    assert.deepEqual(reasons, ["shut down", "shut down"]);
    assert.ok(processAlive(rc.info.controller_pid), "shutting down engines stopped the controller");
    assert.equal(await rc.scale(1), 1);
    assert.doesNotMatch(readFileSync(log, "utf8"), /is dead/);
  } finally {
    await cluster.stop();
  }
});
