import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { processAlive } from "../../../engines/launchers/process-alive.js";
import { startTestCluster, stopTestClusters, until } from "../cluster-fixture.js";

after(stopTestClusters);

const alive = processAlive;

test("a controller paused for 9 s: its client reconnects, its tasks finish, its engines stay", async (t) => {
  const cluster = await startTestCluster({ n: 2 });
  const rc = cluster.client!;
  const pids = await rc.view().apply(() => process.pid);
  const ids = rc.ids;
  const lost: unknown[] = [];
  rc.on("controllerLost", (e) => lost.push(e));
  // A task through the controller, answered while it is stopped: the reply waits for it.
  const ar = rc.loadBalancedView().apply(async () => {
    await new Promise((r) => setTimeout(r, 1000));
    return "finished";
  });
  await new Promise((r) => setTimeout(r, 100));
  process.kill(rc.info.controller_pid, "SIGSTOP");
  try {
    await new Promise((r) => setTimeout(r, 9000));
    assert.equal(rc.lostReason, undefined, "a stopped controller is not a lost one");
  } finally {
    process.kill(rc.info.controller_pid, "SIGCONT");
  }
  const resumed = Date.now();
  assert.equal(await ar.get({ timeout: 5000 }), "finished");
  t.diagnostic(`the task's reply came ${Date.now() - resumed} ms after SIGCONT`);
  assert.deepEqual(lost, []);
  assert.equal(await rc.loadBalancedView().apply(() => "after"), "after");
  assert.ok(pids.every(alive), "the engines were not killed");
  await new Promise((r) => setTimeout(r, 3500)); // past the heartbeat limit after the resume
  assert.deepEqual(rc.ids, ids, "and are still registered");
  assert.deepEqual(await rc.view().apply(() => process.pid), pids);
});

test("Cluster.stop returns and removes the connection file when its controller is stopped or gone", async () => {
  for (const how of ["SIGSTOP", "SIGKILL"] as const) {
    const cluster = await startTestCluster({ n: 1 });
    const pid = cluster.client!.info.controller_pid;
    process.kill(pid, how);
    if (how === "SIGKILL") await until(() => cluster.client!.lostReason !== undefined, 8000);
    const started = Date.now();
    await cluster.stop();
    assert.ok(Date.now() - started < 8000, `${how}: stop took ${Date.now() - started} ms`);
    assert.equal(existsSync(cluster.file), false, `${how}: the connection file is gone`);
    assert.ok(await until(() => !alive(pid), 2000), `${how}: the controller is gone`);
  }
});

test("a script whose controller was lost reaches the code after `await cluster.stop()`", async () => {
  const index = fileURLToPath(new URL("../../../engines/index.js", import.meta.url));
  const script = `
    import { Cluster } from ${JSON.stringify(index)};
    const cluster = await Cluster.launch({ n: 1 });
    process.kill(cluster.client.info.controller_pid, "SIGSTOP");
    await new Promise((r) => setTimeout(r, 5000)); // the client has been waiting for it
    await cluster.stop();
    console.log("after stop");
  `;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], {
    stdio: ["ignore", "pipe", "inherit"],
    env: process.env,
  });
  let out = "";
  child.stdout.on("data", (d: Buffer) => {
    out += d.toString();
  });
  const kill = setTimeout(() => child.kill("SIGKILL"), 25_000);
  const code = await new Promise<number | null>((r) => child.once("exit", r));
  clearTimeout(kill);
  assert.equal(code, 0, "not 13: the script did not end with an await unsettled");
  assert.equal(out.trim(), "after stop");
});
