import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { type Client, ClusterError, EngineError, RemoteError } from "../../../engines/index.js";
import { processAlive as isAlive } from "../../../engines/launchers/process-alive.js";
import { startTestCluster, stopTestClusters, until } from "../cluster-fixture.js";

let rc: Client;
before(async () => {
  rc = (await startTestCluster({ n: 3 })).client!;
});
after(stopTestClusters);

test("an interrupted engine stops its task and runs the next one", async () => {
  const e = rc.at(0);
  const ar = e.apply(() => {
    for (;;) {}
  });
  await until(() => false, 200); // let it start
  await rc.signal(e.targets[0]!, "SIGINT");
  await assert.rejects(
    async () => await ar,
    (err: unknown) => err instanceof RemoteError && err.ename === "Interrupted",
  );
  assert.equal(await e.apply(() => "next task ran"), "next task ran");
});

test("an interrupt abandons an awaited task; a SIGINT to an idle engine is harmless and forgotten", async () => {
  const id = rc.ids[1]!;
  const e = rc.view([id]);
  const [pid] = await e.apply(() => process.pid);
  const hanging = e.apply(() => new Promise(() => {}));
  await until(() => false, 200);
  await rc.signal(id, "SIGINT");
  await assert.rejects(
    async () => await hanging,
    (err: unknown) => err instanceof RemoteError && err.ename === "Interrupted",
  );
  // Idle now: the signal must neither kill the engine nor stop the next (async) task.
  process.kill(pid!, "SIGINT");
  await until(() => false, 100);
  assert.deepEqual(
    await e.apply(async () => {
      await new Promise((r) => setTimeout(r, 150));
      return "not interrupted";
    }),
    ["not interrupted"],
  );
  assert.ok(rc.ids.includes(id));
});

test("an engine busy in a synchronous task longer than the heartbeat limit stays alive and shows busy", async () => {
  const id = rc.ids[2]!;
  const spin = rc.view([id]).apply(() => {
    const end = Date.now() + 4000; // the controller declares silent engines dead after 3 s
    while (Date.now() < end) {}
    return "done";
  });
  assert.ok(
    await until(async () => (await rc.queueStatus()).engines[id]?.state === "busy", 2000),
    "reported busy while blocked",
  );
  assert.deepEqual(await spin, ["done"]);
  assert.ok(rc.ids.includes(id), "not declared dead");
  assert.ok(
    await until(async () => (await rc.queueStatus()).engines[id]?.state === "idle", 2000),
    "reported idle again",
  );
});

test("user code that throws or rejects after its task ended does not take the engine down", async () => {
  const e0 = rc.ids[0]!;
  const ids = rc.ids;
  await rc
    .view([e0])
    .execute(
      "setTimeout(() => { throw new Error('late throw') }, 5); Promise.reject(new Error('nobody awaits me')); 1",
    );
  await new Promise((r) => setTimeout(r, 200));
  // While a task runs, such an error shows up in that task's stderr.
  const ar = rc.view([e0]).apply(async () => {
    setTimeout(() => {
      throw new Error("thrown during the next task");
    }, 1);
    await new Promise((r) => setTimeout(r, 50));
    return "still here";
  });
  assert.deepEqual(await ar, ["still here"]);
  assert.match(ar.stderr[0] ?? "", /thrown during the next task/);
  assert.deepEqual(rc.ids, ids, "no engine died");
});

test("a wrong-key client is refused and the controller carries on", async () => {
  const { Client } = await import("../../../engines/index.js");
  const origWrite = process.stderr.write;
  await assert.rejects(
    Client.connect({ ...rc.info, key: "not-the-key" }, { timeout: 1000 }),
    (e: unknown) => {
      assert.ok(e instanceof ClusterError);
      assert.equal(e.code, "CONTROLLER_UNREACHABLE");
      assert.match(e.message, /key/);
      return true;
    },
  );
  process.stderr.write = origWrite;
  assert.equal((await rc.view().apply(() => 1)).length, 3);
});

test("an engine killed with SIGKILL mid-task gives EngineError while the others carry on", async (t) => {
  const [victimPid] = await rc
    .at(0)
    .apply(() => process.pid)
    .then((p) => [p]);
  const victimId = rc.ids[0]!;
  const others = rc.ids.slice(1);
  const running = rc.at(0).apply(() => {
    for (;;) {}
  });
  const lbWithRetry = rc.loadBalancedView([victimId]).apply(() => 1);
  await until(() => false, 100);
  const killedAt = Date.now();
  process.kill(victimPid, "SIGKILL");
  await assert.rejects(
    async () => await running,
    (e: unknown) => {
      assert.ok(e instanceof EngineError);
      assert.equal(e.code, "ENGINE_ERROR");
      assert.match(e.message, /died/);
      return true;
    },
  );
  t.diagnostic(`EngineError arrived ${Date.now() - killedAt} ms after SIGKILL`);
  await assert.rejects(async () => await lbWithRetry, EngineError);
  assert.ok(await until(() => !rc.ids.includes(victimId)), "the dead engine leaves the client's ids");
  assert.deepEqual(
    await rc.view(others).apply(() => "carrying on"),
    others.map(() => "carrying on"),
  );
  await assert.rejects(async () => await rc.view([victimId]).apply(() => 1), /does not exist/);
});

test("an engine that stops answering heartbeats (SIGSTOP) is declared dead and its task fails", async (t) => {
  const victimId = rc.ids[0]!;
  const pid = await rc.view([victimId]).apply(() => process.pid);
  const ar = rc.view([victimId]).apply(() => new Promise(() => {}));
  await until(() => false, 100);
  const stoppedAt = Date.now();
  process.kill(pid[0]!, "SIGSTOP");
  try {
    await assert.rejects(
      async () => await ar,
      (e: unknown) => e instanceof EngineError && /heartbeat/.test(e.message),
    );
    t.diagnostic(`EngineError arrived ${Date.now() - stoppedAt} ms after SIGSTOP`);
    assert.ok(await until(() => !isAlive(pid[0]!)), "the controller killed the hung engine");
  } finally {
    if (isAlive(pid[0]!)) process.kill(pid[0]!, "SIGKILL");
  }
});

test("the controller going away fails pending work and new calls instead of hanging", async () => {
  const pids = await rc.view().apply(() => process.pid);
  const ar = rc.at(0).apply(() => new Promise(() => {}));
  await until(() => false, 100);
  process.kill(rc.info.controller_pid, "SIGKILL");
  await assert.rejects(
    async () => await ar,
    (e: unknown) => e instanceof ClusterError && e.code === "CONTROLLER_LOST",
  );
  assert.throws(
    () => rc.at(0).apply(() => 1),
    (e: unknown) => e instanceof ClusterError && e.code === "CONTROLLER_LOST",
  );
  assert.ok(await until(() => pids.every((p) => !isAlive(p)), 10_000), "orphaned engines exit on their own");
});
