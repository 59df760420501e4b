import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";
import { Dealer } from "zeromq";
import { Client, ClusterError, RemoteError } from "../../../engines/index.js";
import { startTestCluster, stopTestClusters, until } from "../cluster-fixture.js";

let rc: Client;
before(async () => {
  rc = (await startTestCluster({ n: 1, maxMessageBytes: 8 << 20 })).client!;
});
after(stopTestClusters);

/** The controller's peak resident memory so far, in bytes (Linux). */
function controllerPeak(): number {
  const status = readFileSync(`/proc/${rc.info.controller_pid}/status`, "utf8");
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

test("a peer without the key gets no frame into the controller: 64 MiB sent to each socket takes nothing", async () => {
  const peak = controllerPeak();
  for (const url of [rc.info.client_url, rc.info.engine_url, rc.info.heartbeat_url]) {
    const intruder = new Dealer({ linger: 0, sendTimeout: 2000 });
    intruder.connect(url);
    await intruder.send(["<IDS|MSG>", "not a signature", Buffer.alloc(64 << 20, 1)]).catch(() => {});
    await new Promise((r) => setTimeout(r, 500));
    intruder.close();
  }
  const grew = controllerPeak() - peak;
  assert.ok(grew < 32 << 20, `the controller's peak grew by ${(grew / 2 ** 20).toFixed(0)} MiB`);
  assert.equal(await rc.at(0).apply(() => "carrying on"), "carrying on");
});

test("a task larger than the controller's limit fails at the call with MESSAGE_TOO_LARGE; the link lives", async () => {
  // With retries (and no same-host store) a task carries its payload through the controller.
  const plain = await Client.connect(rc.info, { store: false });
  try {
    const lb = plain.loadBalancedView().setFlags({ retries: 1 });
    const ar = lb.apply((a: Float64Array) => a.length, new Float64Array(2 << 20)); // 16 MiB
    await assert.rejects(
      async () => await ar,
      (e: unknown) => {
        assert.ok(e instanceof ClusterError, String(e));
        assert.equal(e.code, "MESSAGE_TOO_LARGE");
        assert.match(e.message, /maxMessageBytes/);
        return true;
      },
    );
    assert.equal(plain.lostReason, undefined);
    assert.equal(await lb.apply((a: Float64Array) => a.length, new Float64Array(1 << 10)), 1024);
  } finally {
    await plain.close();
  }
});

test("an engine's reply larger than the limit is an error reply, not a lost engine", async () => {
  const plain = await Client.connect(rc.info, { store: false, lanes: false });
  try {
    const ar = plain.loadBalancedView().apply(() => new Float64Array(2 << 20));
    await assert.rejects(
      async () => await ar,
      (e: unknown) =>
        e instanceof RemoteError && e.ename === "MessageTooLarge" && /maxMessageBytes/.test(e.message),
    );
    assert.ok(await until(() => plain.ids.length === 1), "the engine is still registered");
    assert.equal(await plain.loadBalancedView().apply(() => "small"), "small");
  } finally {
    await plain.close();
  }
});
