import assert from "node:assert/strict";
import { test } from "node:test";
import { Dealer, Router } from "zeromq";
import { dispatch, type HandlerMap, isMsgType } from "../../../engines/wire/messages.js";
import { SignedSocket } from "../../../engines/wire/signed-socket.js";
import { Signer } from "../../../engines/wire/signing.js";

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

test("handler maps dispatch by msg_type and unknown types are recognised", () => {
  const seen: string[] = [];
  const handlers: HandlerMap = { stream: (m) => void seen.push(m.content.text) };
  const msg = { header: { msg_type: "stream" }, content: { name: "stdout", text: "hi" } } as never;
  assert.equal(dispatch(handlers, msg), true);
  assert.deepEqual(seen, ["hi"]);
  assert.equal(isMsgType("apply_request"), true);
  assert.equal(isMsgType("rm_rf_request"), false);
});
