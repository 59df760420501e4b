import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Client } from "../../../engines/index.js";
import type { AnyMessage } from "../../../engines/wire/protocol/messages.js";
import { startTestCluster, stopTestClusters } from "../cluster-fixture.js";

let rc: Client;
before(async () => {
  rc = (await startTestCluster({ n: 1 })).client!;
});
after(stopTestClusters);

const count = () => rc.at(0).apply(() => (globalThis as { replayed?: number }).replayed ?? 0);

test("the same signed task sent to the controller three times runs once", async () => {
  const { frames } = rc.link.sock.codec.encode(
    "execute_request",
    { code: "globalThis.replayed = (globalThis.replayed ?? 0) + 1", silent: true },
    { metadata: { route: { kind: "direct", target: rc.ids[0]! } } },
  );
  for (let i = 0; i < 3; i++) await rc.link.sock.queue.send(frames);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(await count(), 1);
});

test("a load-balanced retry on the engine that failed it still runs (it is signed anew)", async () => {
  const lb = rc.loadBalancedView().setFlags({ retries: 2 });
  const flaky = () => {
    const g = globalThis as { tries?: number };
    g.tries = (g.tries ?? 0) + 1;
    if (g.tries < 3) throw new Error(`try ${g.tries} fails`);
    return `ran on try ${g.tries}`;
  };
  const ar = lb.apply(flaky);
  assert.equal(await ar.wait({ timeout: 5000 }), true, "the retries were not dropped as replays");
  assert.equal(await ar, "ran on try 3");
});

test("getResult from the controller of a reply this client already had is signed anew, not dropped", async () => {
  const ar = rc.loadBalancedView().apply(() => "kept");
  assert.equal(await ar, "kept");
  const msgId = ar.msgIds[0]!;
  // What a client that forgot the result does (getResult asks only for results it forgot).
  const reply = new Promise<AnyMessage>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("the kept reply did not come")), 3000);
    rc.link.listen(msgId, {
      output: () => {},
      reply: (m) => {
        clearTimeout(timer);
        resolve(m);
      },
      lost: reject,
    });
  });
  const answer = await rc.link.request("result_request", { msg_id: msgId });
  assert.equal(answer.content.status, "sent");
  assert.equal((await reply).header.msg_type, "apply_reply");
});
