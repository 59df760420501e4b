import assert from "node:assert/strict";
import { test } from "node:test";
import { packBatch, unpackBatch } from "../../../engines/wire/batch.js";
import { makeHeader } from "../../../engines/wire/frames.js";
import type { AnyMessage } from "../../../engines/wire/messages.js";

test("a batch unpacks into the messages that were packed", () => {
  const request = makeHeader("apply_request", "client-session");
  const items = [0, 1, 2].map((i) => ({
    header: makeHeader("apply_reply", "engine-session"),
    parent_header: { ...request, msg_id: `req-${i}` },
    metadata: { engine_id: 1, duration: i },
    content: { status: "ok" },
    buffers: [Buffer.from(`value ${i}`)],
  }));
  items.push({ ...items[0]!, header: makeHeader("apply_reply", "another-session"), buffers: [] });
  const { content, buffers } = packBatch(items);
  const batch = { identities: [], header: makeHeader("reply_batch", "x"), content, buffers, raw: [] };
  const out = unpackBatch(batch as unknown as AnyMessage);
  assert.equal(out.length, items.length);
  out.forEach((m, i) => {
    assert.deepEqual(m.header, items[i]!.header);
    assert.deepEqual(m.parent_header, items[i]!.parent_header);
    assert.deepEqual(m.metadata, items[i]!.metadata);
    assert.deepEqual(m.buffers, items[i]!.buffers);
  });
});

test("a malformed batch yields only its well-formed parts", () => {
  const header = makeHeader("task_batch", "s");
  const parts = [
    {
      header: { msg_id: "a", msg_type: "apply_request" },
      parent_header: {},
      metadata: {},
      content: {},
      buffers: 0,
    },
    { header: {}, buffers: 0 },
    { header: { msg_id: "b", msg_type: "apply_request" }, buffers: -1 },
  ];
  const batch = { identities: [], header, content: { parts }, buffers: [], raw: [] };
  assert.deepEqual(
    unpackBatch(batch as unknown as AnyMessage).map((m) => m.header.msg_id),
    ["a"],
  );
  assert.deepEqual(unpackBatch({ ...batch, content: { parts: "nope" } } as unknown as AnyMessage), []);
});
