import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Client } from "../../../engines/index.js";
import { makeHeader } from "../../../engines/wire/protocol/frames.js";
import type { AnyMessage, ReplyStatus } from "../../../engines/wire/protocol/messages.js";
import { startTestCluster, stopTestClusters } from "../cluster-fixture.js";

let rc: Client;
before(async () => {
  rc = (await startTestCluster({ n: 1 })).client!;
});
after(stopTestClusters);

/**
 * Sends a signed task_batch of one part whose index says `execute_request` with msg_id `indexId`,
 * its part being `part` (JSON as given); resolves with the reply to `indexId` (or rejects after 4 s).
 */
async function sendMismatched(indexId: string, part: unknown): Promise<AnyMessage> {
  const json = Buffer.from(JSON.stringify(part));
  const group = Buffer.concat([Buffer.from("["), json, Buffer.from("]")]);
  const answer = new Promise<AnyMessage>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no reply to ${indexId} within 4 s`)), 4000);
    rc.link.listen(indexId, {
      output: () => {},
      reply: (m) => {
        clearTimeout(timer);
        resolve(m);
      },
      lost: reject,
    });
  });
  await rc.link.sock.send(
    "task_batch",
    {
      parts: [
        { type: "execute_request", msg_id: indexId, meta: { route: { kind: "lb" } }, sizes: [json.length] },
      ],
    },
    { buffers: [group, Buffer.alloc(0)] },
  );
  return answer;
}

const refused = (m: AnyMessage) => {
  const c = m.content as ReplyStatus;
  assert.equal(c.status, "error");
  assert.equal((c as { ename: string }).ename, "ProtocolError");
  return (c as { evalue: string }).evalue;
};

test("a batch part whose type is not the one its index names is refused with an error reply", async () => {
  const h = makeHeader("execute_request", rc.link.sock.session);
  const abort = { ...h, msg_type: "abort_request" };
  const evalue = refused(await sendMismatched(h.msg_id, [abort, {}, {}, { msg_ids: 5 }]));
  assert.match(evalue, /abort_request/);
});

test("a batch part whose msg_id is not the one its index names is refused, not run", async () => {
  const h = makeHeader("execute_request", rc.link.sock.session);
  const other = makeHeader("execute_request", rc.link.sock.session);
  const part = [other, {}, {}, { code: "globalThis.ranTheOtherOne = true", silent: true }];
  assert.match(refused(await sendMismatched(h.msg_id, part)), /msg_id/);
  assert.equal(
    await rc.at(0).apply(() => (globalThis as { ranTheOtherOne?: boolean }).ranTheOtherOne),
    undefined,
  );
});

test("a batch part that is not a message is refused, and refusals hold no engine slot", async () => {
  for (let i = 0; i < 3; i++) {
    const h = makeHeader("execute_request", rc.link.sock.session);
    assert.match(refused(await sendMismatched(h.msg_id, { not: "a message" })), /malformed/);
  }
  // One engine, two load-balanced slots: refusals that were never answered used to hold them.
  const ar = rc.loadBalancedView().apply(() => "scheduled");
  assert.equal(await ar.wait({ timeout: 5000 }), true, "load balancing still schedules");
  assert.equal(await ar, "scheduled");
});
