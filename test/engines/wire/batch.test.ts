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
  // Small buffers travel as one frame, covered by the HMAC; their lengths say where each is.
  assert.equal(buffers.length, 1);
  assert.deepEqual(content.packed, [7, 7, 7]);
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

test("buffers adding up to 64 KiB or more stay frames of their own; a bad packing drops the batch", () => {
  const header = makeHeader("apply_request", "s");
  const items = [0, 1].map((i) => ({ header, content: {}, buffers: [Buffer.alloc(40 * 1024, i)] }));
  const big = packBatch(items);
  assert.equal(big.content.packed, undefined);
  assert.equal(big.buffers.length, 2);
  const parts = unpackBatch({ header, content: big.content, buffers: big.buffers } as unknown as AnyMessage);
  assert.deepEqual(
    parts.map((m) => m.buffers[0]![0]),
    [0, 1],
  );

  const small = packBatch([
    { header, content: {}, buffers: [Buffer.from("ab"), Buffer.from("c")] },
    { header, content: {}, buffers: [Buffer.from("def")] },
  ]);
  const msg = (content: unknown, buffers = small.buffers) =>
    ({ header, content, buffers }) as unknown as AnyMessage;
  assert.deepEqual(
    unpackBatch(msg(small.content)).map((m) => m.buffers.map(String)),
    [["ab", "c"], ["def"]],
  );
  // Lengths that do not add up to the frame (truncated, overlong, negative, not numbers) drop it all.
  for (const packed of [[2, 1, 2], [2, 1, 4], [2, -1, 4], ["2", 1, 3], 6]) {
    assert.deepEqual(unpackBatch(msg({ ...small.content, packed })), [], JSON.stringify(packed));
  }
  assert.deepEqual(unpackBatch(msg(small.content, [...small.buffers, Buffer.from("x")])), []);
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
