import assert from "node:assert/strict";
import { test } from "node:test";
import {
  type Batchable,
  type BatchContent,
  type Outgoing,
  openPart,
  packBatch,
  relayedPart,
  sealedParts,
  unpackBatch,
} from "../../../engines/wire/protocol/batch.js";
import { SIGNED_BUFFER_LIMIT } from "../../../engines/wire/protocol/buffer-macs.js";
import { makeHeader } from "../../../engines/wire/protocol/frames.js";
import type { AnyMessage } from "../../../engines/wire/protocol/messages.js";

/** A received batch message around what packBatch made. */
function received(
  batch: { content: BatchContent; buffers: Buffer[] },
  identities: Buffer[] = [],
): AnyMessage {
  return {
    identities,
    header: makeHeader("reply_batch", "x"),
    parent_header: {},
    metadata: {},
    content: batch.content,
    buffers: batch.buffers,
    raw: [],
  } as unknown as AnyMessage;
}

function onlyBatch<T>(out: Outgoing<T>[]): { content: BatchContent; buffers: Buffer[] } {
  assert.equal(out.length, 1);
  assert.ok("batch" in out[0]!);
  return out[0].batch;
}

const replies = () => {
  const request = makeHeader("apply_request", "client-session");
  const items: Batchable[] = [0, 1, 2].map((i) => ({
    header: makeHeader("apply_reply", "engine-session"),
    parent_header: { ...request, msg_id: `req-${i}` },
    metadata: { engine_id: 1, duration: i },
    content: { status: i === 2 ? "error" : "ok", ename: "Émile ✓" },
    buffers: [Buffer.from(`value ${i}`), Buffer.from("ab")],
  }));
  items.push({ ...items[0]!, header: makeHeader("apply_reply", "another-session"), buffers: [] });
  return items;
};

test("a batch unpacks into the messages that were packed, buffers included", () => {
  const items = replies();
  const batch = onlyBatch(packBatch(items));
  // Two frames, covered by the HMAC: the parts' JSON as one array, their buffers end to end.
  assert.equal(batch.buffers.length, 2);
  assert.equal(JSON.parse(batch.buffers[0]!.toString()).length, 4);
  assert.equal(String(batch.buffers[1]), "value 0abvalue 1abvalue 2ab");
  const out = unpackBatch(received(batch));
  assert.equal(out.length, items.length);
  out.forEach((m, i) => {
    assert.deepEqual(m.header, items[i]!.header);
    assert.deepEqual(m.parent_header, items[i]!.parent_header);
    assert.deepEqual(m.metadata, items[i]!.metadata);
    assert.deepEqual(m.content, items[i]!.content);
    assert.deepEqual(m.buffers.map(String), (items[i]!.buffers ?? []).map(String));
  });
});

test("the index tells a relay what it routes by, and a relay forwards parts without reading them", () => {
  const reply = onlyBatch(packBatch(replies()));
  assert.deepEqual(
    reply.content.parts.map((p) => [p.type, p.parent_id, p.status, p.duration]),
    [
      ["apply_reply", "req-0", "ok", 0],
      ["apply_reply", "req-1", "ok", 1],
      ["apply_reply", "req-2", "error", 2],
      ["apply_reply", "req-0", "ok", 0],
    ],
  );
  const task = makeHeader("apply_request", "client-session");
  const route = { kind: "lb", retries: 1 };
  const tasks = onlyBatch(
    packBatch([
      { header: task, metadata: { route }, content: { fn: "(x) => x" }, buffers: [Buffer.from("1")] },
    ]),
  );
  assert.deepEqual(tasks.content.parts[0], {
    type: "apply_request",
    msg_id: task.msg_id,
    meta: { route },
    sizes: tasks.content.parts[0]!.sizes,
  });
  const asRelayed = relayedPart(sealedParts(received(tasks))[0]!, []);
  assert.equal(asRelayed.header.msg_id, task.msg_id);
  assert.deepEqual(asRelayed.metadata, { route });

  // The controller re-batches what it received: only sizes go on, and the parts arrive intact.
  const identity = [Buffer.from("engine-1")];
  const relayed = sealedParts(received(reply, identity)).map((p) => relayedPart(p, identity));
  assert.deepEqual(
    relayed.map((m) => [m.parent_header.msg_id, (m.content as { status: string }).status]),
    [
      ["req-0", "ok"],
      ["req-1", "ok"],
      ["req-2", "error"],
      ["req-0", "ok"],
    ],
  );
  const onward = onlyBatch(packBatch(relayed));
  assert.ok(onward.content.parts.every((p) => Object.keys(p).join() === "sizes"));
  assert.deepEqual(
    unpackBatch(received(onward)).map((m) => [m.header, m.content]),
    replies().map((m, i) => [unpackBatch(received(reply))[i]!.header, m.content]),
  );
  // A stored part opens into the whole message (a late getResult signs it on its own).
  const opened = openPart(relayed[2]!.sealed, []);
  assert.equal(opened?.parent_header.msg_id, "req-2");
  assert.deepEqual(opened?.buffers.map(String), ["value 2", "ab"]);
});

test("frames stay under the signed-buffer limit; a part too large for one goes alone, in order", () => {
  const header = makeHeader("apply_request", "s");
  const part = (i: number, kib: number): Batchable => ({
    header: { ...header, msg_id: `m${i}` },
    content: {},
    buffers: [Buffer.alloc(kib * 1024, i)],
  });
  // Two 40 KiB buffers, or 70 KiB of JSON (a long function source), fit no frame.
  const twoBuffers = { ...part(3, 40), buffers: [Buffer.alloc(40 * 1024), Buffer.alloc(40 * 1024)] };
  const longJson = { ...part(5, 1), content: { fn: "x".repeat(70 * 1024) } };
  const items = [part(0, 30), part(1, 30), part(2, 30), twoBuffers, part(4, 63.99), longJson, part(6, 1)];
  const out = packBatch(items);
  // A group (its JSON array, its buffers) closes when the next part would take a frame past 64 KiB.
  assert.deepEqual(
    out.map((o) => ("alone" in o ? `alone ${o.alone.header.msg_id}` : `batch ${o.batch.buffers.length}`)),
    ["batch 4", "alone m3", "batch 2", "alone m5", "batch 2"],
  );
  for (const o of out)
    if ("batch" in o) for (const f of o.batch.buffers) assert.ok(f.length < SIGNED_BUFFER_LIMIT);
  const first = out[0] as { batch: { content: BatchContent; buffers: Buffer[] } };
  assert.deepEqual(
    unpackBatch(received(first.batch)).map((m) => [m.header.msg_id, m.buffers[0]![0], m.buffers[0]!.length]),
    [
      ["m0", 0, 30 * 1024],
      ["m1", 1, 30 * 1024],
      ["m2", 2, 30 * 1024],
    ],
  );
});

test("an index that does not match the frames drops the whole batch; a malformed part only itself", () => {
  const batch = onlyBatch(packBatch(replies()));
  const withParts = (parts: unknown, buffers = batch.buffers) =>
    received({ content: { parts } as BatchContent, buffers });
  assert.equal(sealedParts(withParts(batch.content.parts)).length, 4);
  const sizes = batch.content.parts.map((p) => p.sizes);
  const [a, b] = [sizes[0]!, sizes[1]!];
  const bad = [
    sizes.slice(0, 3), // bytes left over
    [...sizes.slice(0, 3), [sizes[3]![0]! + 1]], // runs past the array
    [[a[0]! + 1, ...a.slice(1)], [b[0]! - 1, ...b.slice(1)], ...sizes.slice(2)], // not at a comma
    [a, b, sizes[2]!.slice(0, 2), sizes[3]!], // buffer bytes left over
    [...sizes.slice(0, 3), [-1, sizes[3]![0]! + 1]],
    [...sizes.slice(0, 3), ["12"]],
    [...sizes.slice(0, 3), []],
  ];
  for (const s of bad)
    assert.deepEqual(sealedParts(withParts(s.map((x) => ({ sizes: x })))), [], JSON.stringify(s));
  assert.deepEqual(sealedParts(withParts("nope")), []);
  assert.deepEqual(sealedParts(withParts(batch.content.parts, [...batch.buffers, Buffer.from("x")])), []);

  assert.deepEqual(sealedParts(withParts(batch.content.parts, batch.buffers.slice(0, 1))), []);
  const unclosed = Buffer.from(batch.buffers[0]!);
  unclosed[unclosed.length - 1] = ",".charCodeAt(0); // the JSON array does not end
  assert.deepEqual(sealedParts(withParts(batch.content.parts, [unclosed, batch.buffers[1]!])), []);

  // A part whose JSON is not a message is skipped; the others still arrive.
  const good = makeHeader("apply_request", "s");
  const junk = '{"not":"a message"}';
  const one = onlyBatch(
    packBatch([
      { header: good, content: {} },
      { header: good, content: {} },
    ]),
  );
  const text = Buffer.from(`[${junk},${one.buffers[0]!.subarray(1)}`);
  const parts = [{ sizes: [junk.length] }, ...one.content.parts];
  assert.deepEqual(
    unpackBatch(received({ content: { parts }, buffers: [text, one.buffers[1]!] })).map(
      (m) => m.header.msg_id,
    ),
    [good.msg_id, good.msg_id],
  );
});
