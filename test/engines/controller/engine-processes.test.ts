import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { after, before, test } from "node:test";
import { type Client, ClusterError } from "../../../engines/index.js";
import { startTestCluster, stopTestClusters, until } from "../cluster-fixture.js";
import { engineByHand } from "../engine-by-hand.js";
import { FakeEngine } from "../fake-engine.js";

let rc: Client;
let file: string;
let real: number;
const victims: ChildProcess[] = [];
before(async () => {
  const cluster = await startTestCluster({ n: 1 });
  rc = cluster.client!;
  file = cluster.file;
  real = rc.ids[0]!;
});
after(async () => {
  for (const v of victims) v.kill("SIGKILL");
  await stopTestClusters();
});

/** A process the cluster did not start (a user's editor, say). */
function bystander(): ChildProcess {
  const child = spawn(process.execPath, ["-e", "setInterval(() => {}, 1000)"], { stdio: "ignore" });
  victims.push(child);
  return child;
}

const alive = (p: ChildProcess) => p.exitCode === null && p.signalCode === null;

test("an engine that registers another process's pid and dies gets that process no signal", async () => {
  const victim = bystander();
  // No heart: the controller declares it dead after 3 s, and used to SIGKILL the pid it claimed.
  const fake = await FakeEngine.register(rc.info, { pid: victim.pid!, heart: false });
  try {
    assert.ok(await until(() => rc.ids.includes(fake.id)));
    await assert.rejects(rc.signal(fake.id, "SIGTERM"), (e: unknown) => {
      assert.ok(e instanceof ClusterError);
      assert.equal(e.code, "SIGNAL_FAILED");
      assert.match(e.message, /not started by this cluster/);
      return true;
    });
    assert.ok(await until(() => !rc.ids.includes(fake.id), 6000), "declared dead (no heartbeat)");
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(alive(victim), "the bystander lives");
  } finally {
    await fake.close();
  }
});

test("a registration that claims the pid of a running engine is refused", async () => {
  const [pid] = await rc.view([real]).apply(() => process.pid);
  await assert.rejects(FakeEngine.register(rc.info, { pid: pid! }), /registration refused: .*pid/);
  assert.deepEqual(await rc.view([real]).apply(() => "the real engine carries on"), [
    "the real engine carries on",
  ]);
});

test("the cluster's own engines are still signalled by pid", async () => {
  const ar = rc.view([real]).apply(() => {
    for (;;) {}
  });
  await new Promise((r) => setTimeout(r, 200));
  await rc.signal(real, "SIGINT");
  await assert.rejects(async () => await ar, /Interrupted/);
});

test("an engine started by hand on the controller's host is interrupted through its signal thread", async () => {
  const { child: byHand, id } = await engineByHand(rc, file);
  victims.push(byHand);
  const ar = rc.view([id]).apply(() => {
    for (;;) {}
  });
  await new Promise((r) => setTimeout(r, 200));
  await rc.signal(id, "SIGINT");
  await assert.rejects(async () => await ar, /Interrupted/);
  byHand.kill("SIGTERM");
});

test("an engine that stops on its own says so: clients hear at once, not after the heartbeat limit", async () => {
  const { child: byHand, id } = await engineByHand(rc, file);
  victims.push(byHand);
  const removed = new Promise<[number, string | undefined, number]>((resolve) =>
    rc.on("engineRemoved", (e, why) => {
      if (e.id === id) resolve([e.id, why, Date.now()]);
    }),
  );
  const stopped = Date.now();
  byHand.kill("SIGTERM");
  const [, why, at] = await removed;
  assert.match(why ?? "", /SIGTERM/);
  assert.ok(at - stopped < 1500, `heard after ${at - stopped} ms (the heartbeat limit is 3 s)`);
});
