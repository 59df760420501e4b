import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, describe, test } from "node:test";
import { encodeMessage, makeHeader } from "../../../engines/wire/protocol/frames.js";
import { type StartedKernel, startKernel } from "../../helpers/kernel-process.js";

/** Writes `bytes` to 127.0.0.1:`port` on a fresh connection, then drops it (however the peer answers). */
function sendRaw(port: number, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port }, () =>
      s.write(bytes, () => setTimeout(() => s.destroy(), 100)),
    );
    s.on("error", () => {}); // the kernel may drop such a connection: that is what we want
    s.on("close", () => resolve());
  });
}

describe("a kernel facing peers that do not hold its key", () => {
  let k: StartedKernel;
  before(async () => {
    k = await startKernel({ launcher: "js", transport: "tcp" });
  });
  after(async () => {
    await k?.stop();
  });

  test("the heartbeat survives a ZMTP/1.0 greeting and message from an unauthenticated connection", async () => {
    assert.equal(await k.client.heartbeat("before"), "before");
    // ZMTP/1.0: an empty identity frame (length 1, flags 0), then a 6-byte message.
    const greeting = Uint8Array.from([0x01, 0x00, 0x07, 0x00, ...Buffer.from("hello!")]);
    for (let i = 0; i < 3; i++) await sendRaw(k.info.hb_port as number, greeting);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await k.client.heartbeat("after"), "after");
    assert.doesNotMatch(k.stderr(), /heartbeat stopped/);
  });

  test("the same signed execute_request sent three times runs once", async () => {
    const header = makeHeader("execute_request", k.client.session, "test");
    const frames = encodeMessage(
      {
        header,
        content: {
          code: "globalThis.replays = (globalThis.replays ?? 0) + 1",
          silent: false,
          store_history: false,
          user_expressions: {},
          allow_stdin: false,
          stop_on_error: true,
        },
      },
      k.client.signer,
      { signBuffersBelow: 0 },
    );
    for (let i = 0; i < 3; i++) await k.client.sendRaw("shell", frames);
    await k.client.reply("shell", header.msg_id);
    await assert.rejects(k.client.reply("shell", header.msg_id, 1000), /timed out/, "no second reply");
    const { outputs } = await k.client.execute("globalThis.replays");
    const result = outputs.find((m) => m.header.msg_type === "execute_result");
    assert.ok(result, "the value came back");
    assert.equal((result.content as { data: Record<string, string> }).data["text/plain"], "1");
    assert.match(k.stderr(), /replay/);
  });

  test("the heartbeat survives random bytes and a connection closed mid-frame", async () => {
    const junk = Buffer.alloc(4096);
    for (let i = 0; i < junk.length; i++) junk[i] = (i * 7919) & 0xff;
    await sendRaw(k.info.hb_port as number, junk);
    await sendRaw(k.info.hb_port as number, Uint8Array.from([0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3]));
    await new Promise((r) => setTimeout(r, 300));
    for (let i = 0; i < 3; i++) assert.equal(await k.client.heartbeat(`beat ${i}`), `beat ${i}`);
  });
});
