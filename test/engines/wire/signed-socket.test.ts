import assert from "node:assert/strict";
import { test } from "node:test";
import { Dealer, Router } from "zeromq";
import { encodeMessage, makeHeader } from "../../../engines/wire/protocol/frames.js";
import { dispatch, UNHANDLED } from "../../../engines/wire/protocol/message-table.js";
import { accepts, type ClusterHandlers, isMsgType } from "../../../engines/wire/protocol/messages.js";
import { Signer } from "../../../engines/wire/protocol/signing.js";
import { CLUSTER_FRAMING, SignedSocket } from "../../../engines/wire/transport/signed-socket.js";

test("messages with a bad signature are dropped and counted; good ones get through", async () => {
  const router = new Router({ linger: 0 });
  await router.bind("tcp://127.0.0.1:0");
  // One connection, two keys: messages on one connection arrive in order.
  const peer = new Dealer({ linger: 0 });
  peer.connect(router.lastEndpoint!);
  const server = new SignedSocket(router, new Signer("right"), "srv", "test");
  const origWrite = process.stderr.write;
  process.stderr.write = (() => true) as typeof process.stderr.write; // keep the drop log out of the report
  try {
    await new SignedSocket(peer, new Signer("wrong"), "b", "test").send("queue_status_request", {});
    await new SignedSocket(peer, new Signer("right"), "g", "test").send("connect_request", {});
    const it = server.messages()[Symbol.asyncIterator]();
    const first = await it.next();
    assert.equal(first.value!.header.msg_type, "connect_request");
    assert.equal(server.dropped.BAD_SIGNATURE, 1);
  } finally {
    process.stderr.write = origWrite;
    router.close();
    peer.close();
  }
});

test("handler maps dispatch by msg_type; a receiver refuses what it does not accept", () => {
  const seen: string[] = [];
  const handlers: ClusterHandlers<"clientFromLane", string> = {
    stream: (m, from) => void seen.push(`${from}: ${m.content.text}`),
    display_data: () => {},
    execute_result: () => {},
    execute_reply: () => {},
    apply_reply: () => {},
    push_reply: () => {},
    pull_reply: () => {},
    abort_reply: () => {},
    store_place_reply: () => {},
  };
  const msg = (type: string) =>
    ({ header: { msg_type: type }, content: { name: "stdout", text: "hi" } }) as never;
  assert.equal(dispatch(handlers, msg("stream"), "engine 0"), undefined);
  assert.deepEqual(seen, ["engine 0: hi"]);
  // Types of the protocol this receiver does not take, and names that are not types at all.
  for (const type of ["registration_reply", "shutdown_request", "constructor", "__proto__", "toString"])
    assert.equal(dispatch(handlers, msg(type), "x"), UNHANDLED, type);
  assert.equal(accepts("engineFromLane", "apply_request"), true);
  assert.equal(accepts("engineFromLane", "registration_reply"), false);
  assert.equal(accepts("engineFromLane", "shutdown_request"), false);
  assert.equal(isMsgType("apply_request"), true);
  assert.equal(isMsgType("rm_rf_request"), false);
  assert.equal(isMsgType("constructor"), false);
});

test("buffers are covered by signed MACs: the relay refuses a tampered MAC, the receiver drops a tampered buffer", async () => {
  // sender A → relay (the controller's role) → receiver B, over real sockets.
  const router = new Router({ linger: 0 });
  await router.bind("tcp://127.0.0.1:0");
  const a = new Dealer({ linger: 0, routingId: "A" });
  const b = new Dealer({ linger: 0, routingId: "B" });
  a.connect(router.lastEndpoint!);
  b.connect(router.lastEndpoint!);
  const signer = new Signer("k");
  const relay = new SignedSocket(router, signer, "relay", "test relay", "relay");
  const receiver = new SignedSocket(b, signer, "b", "test receiver");
  const origWrite = process.stderr.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    await receiver.send("connect_request", {}); // let the router learn B
    const hello = (await router.receive()) as Buffer[];
    assert.equal(relay.decode(hello)!.header.msg_type, "connect_request");

    // Large enough to be covered by a MAC of its own rather than by the HMAC directly.
    const big = (text: string) => Buffer.concat([Buffer.from(text), Buffer.alloc(70_000, 1)]);
    const payload = big("the payload");
    const frames = () =>
      encodeMessage(
        {
          header: makeHeader("push_request", "a"),
          metadata: { buffer_macs: signer.buffers!.sign([payload]) },
          content: {},
          buffers: [payload],
        },
        signer,
        CLUSTER_FRAMING,
      ).map((f) => Buffer.from(f));
    const viaRelay = async (f: Buffer[]) => {
      await a.send(f);
      const got = relay.decode((await router.receive()) as Buffer[]);
      if (got) await relay.forward(got, [Buffer.from("B")]);
      return got;
    };

    // Intact: relayed, received, MACs stripped from what the receiver hands on.
    assert.ok(await viaRelay(frames()));
    const ok = receiver.decode((await b.receive()) as Buffer[]);
    assert.ok(ok!.buffers[0]!.equals(payload));
    assert.equal(ok!.metadata.buffer_macs, undefined);

    // A tampered buffer passes the relay (it never reads payloads) and is dropped by the receiver.
    const swapped = frames();
    swapped[swapped.length - 1] = big("the paywall!");
    assert.ok(await viaRelay(swapped));
    assert.equal(receiver.decode((await b.receive()) as Buffer[]), undefined);
    assert.equal(receiver.dropped.BAD_BUFFER_MAC, 1);

    // A MAC swapped for one that fits the tampered buffer breaks the HMAC: the relay refuses it.
    const forged = frames();
    const meta = JSON.parse(forged[4]!.toString()) as { buffer_macs: unknown };
    meta.buffer_macs = signer.buffers!.sign([big("the paywall!")]);
    forged[4] = Buffer.from(JSON.stringify(meta)); // [delimiter, hmac, header, parent, metadata, …]
    forged[forged.length - 1] = big("the paywall!");
    assert.equal(await viaRelay(forged), undefined);
    assert.equal(relay.dropped.BAD_SIGNATURE, 1);

    // A buffer without a signed MAC is refused by the relay too.
    const bare = encodeMessage(
      { header: makeHeader("push_request", "a"), content: {}, buffers: [payload] },
      signer,
      CLUSTER_FRAMING,
    ).map((f) => Buffer.from(f));
    assert.equal(await viaRelay(bare), undefined);
    assert.equal(relay.dropped.BAD_BUFFER_MAC, 1);

    // A small buffer is signed with the JSON frames: tampering with it breaks the HMAC at the relay.
    const small = encodeMessage(
      { header: makeHeader("push_request", "a"), content: {}, buffers: [Buffer.from("small")] },
      signer,
      CLUSTER_FRAMING,
    ).map((f) => Buffer.from(f));
    small[small.length - 1] = Buffer.from("smell");
    assert.equal(await viaRelay(small), undefined);
    assert.equal(relay.dropped.BAD_SIGNATURE, 2);
  } finally {
    process.stderr.write = origWrite;
    router.close();
    a.close();
    b.close();
  }
});
