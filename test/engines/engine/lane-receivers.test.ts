import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { LaneServer } from "../../../engines/engine/lane-server.js";
import type { Client } from "../../../engines/index.js";
import { processAlive as isAlive } from "../../../engines/launchers/process-alive.js";
import { MessageCodec } from "../../../engines/wire/protocol/message-codec.js";
import { Signer } from "../../../engines/wire/protocol/signing.js";
import { StreamSocket } from "../../../engines/wire/transport/stream-socket.js";
import { tcpEndpoint } from "../../../engines/wire/transport/tcp-endpoint.js";
import { encodeValueNow } from "../../../engines/wire/values/serialize.js";
import { startTestCluster, stopTestClusters, until } from "../cluster-fixture.js";
import { FakeEngine } from "../fake-engine.js";

let rc: Client;
before(async () => {
  rc = (await startTestCluster({ n: 1 })).client!;
});
after(stopTestClusters);

/** A lane connection to engine `id` that speaks with the cluster's key. */
async function laneTo(id: number): Promise<StreamSocket> {
  const codec = new MessageCodec(new Signer(rc.info.key), "someone-with-the-key", "test lane");
  const lane = StreamSocket.connect(tcpEndpoint(rc.engines.get(id)!.lane!)!, codec, () => {});
  await new Promise((r) => lane.socket.once("connect", r));
  return lane;
}

test("an engine's lane obeys no registration, shutdown or batch: the engine carries on", async () => {
  const id = rc.ids[0]!;
  const [pid] = await rc.view([id]).apply(() => process.pid);
  const lane = await laneTo(id);
  lane.send("registration_reply", { status: "error", evalue: "go away" });
  lane.send("registration_reply", { status: "ok", id: 99, hb_interval: 1 });
  lane.send("shutdown_request", { targets: "all", hub: true });
  lane.send("task_batch", { parts: [] });
  await new Promise((r) => setTimeout(r, 500));
  lane.socket.destroy();
  assert.ok(isAlive(pid!), "the engine is alive");
  assert.deepEqual(rc.ids, [id]);
  assert.deepEqual(await rc.view([id]).apply(() => "still working"), ["still working"]);
  assert.equal((await rc.view([id]).apply(() => process.pid))[0], pid);
});

test("a client's lane takes only task replies, outputs and abort replies as a task's answer", async () => {
  // A fake engine whose lane answers a task with a reply of another type first, then its real one.
  const codec = () => new MessageCodec(new Signer(rc.info.key), "fake-engine", "fake lane");
  const server = new LaneServer(codec, false, (msg, lane) => {
    if (msg.header.msg_type !== "apply_request") return;
    const parent = msg.header;
    lane.send("shutdown_reply", { status: "ok" }, { parent });
    lane.send("connect_reply", { engines: [], scheme: "leastload", hwm: 1, cluster: "x" }, { parent });
    setTimeout(
      () =>
        lane.send(
          "apply_reply",
          { status: "ok" },
          {
            parent,
            metadata: { engine_id: fake.id, started: 0, completed: 0 },
            buffers: encodeValueNow("the real reply", { name: "result" }) as Buffer[],
          },
        ),
      100,
    );
  });
  const port = await server.listen("127.0.0.1");
  const fake = await FakeEngine.register(rc.info, { lane: `tcp://127.0.0.1:${port}` });
  try {
    assert.ok(await until(() => rc.ids.includes(fake.id)), "the client heard of the fake engine");
    assert.deepEqual(await rc.view([fake.id]).apply(() => 0), ["the real reply"]);
  } finally {
    server.close();
    await fake.close();
  }
});
