import assert from "node:assert/strict";
import { test } from "node:test";
import { Dealer } from "zeromq";
import { encodeMessage, makeHeader } from "../../../engines/wire/protocol/frames.js";
import { Signer } from "../../../engines/wire/protocol/signing.js";
import { channelAddress } from "../../../kernel/protocol/connection-file.js";
import { FuzzSource } from "../../helpers/fuzz-source.js";
import { startKernel } from "../../helpers/kernel-process.js";
import { rssMB } from "../../helpers/processes.js";

/** Messages sent to each of the kernel's stdin and heartbeat sockets. */
const MESSAGES = 10_000;

type C = Record<string, unknown>;

test("10,000 hostile messages on stdin while a cell waits for input, and 10,000 on the heartbeat: the cell gets only its real answer", async (t) => {
  const k = await startKernel({ launcher: "js", transport: "tcp" });
  t.after(() => k.stop());
  const fuzz = new FuzzSource(20261207);
  const random = () => fuzz.next();
  const pick = <T>(xs: readonly T[]): T => fuzz.pick(xs);
  const bytes = (n: number) => fuzz.bytes(n);
  const wrongKey = new Signer("not the kernel's key");

  await k.client.execute("1");
  await new Promise((r) => setTimeout(r, 1000));
  const pid = k.process.pid!;
  const idle = rssMB(pid);

  // A cell that waits for input; the fuzz then targets the request it waits on.
  const cell = await k.client.send("shell", "execute_request", {
    code: "globalThis.answer = await input('Name: ')\nanswer",
    silent: false,
    store_history: true,
    user_expressions: {},
    allow_stdin: true,
    stop_on_error: true,
  });
  const request = await k.client.next("stdin", (m) => m.header.msg_type === "input_request");
  const message = (i: number): Uint8Array[] => {
    const kind = i % 4;
    if (kind === 0)
      return Array.from({ length: 1 + Math.floor(random() * 6) }, () => bytes(Math.floor(random() * 200)));
    const header = makeHeader(
      pick(["input_reply", "execute_request", "no_such_reply", ""]),
      k.client.session,
    );
    // Signed with the kernel's key but malformed (no parent, a value that is not text, junk),
    // or a well-formed answer to the waiting request signed with another key.
    const parent = kind === 3 || random() < 0.5 ? request.header : {};
    const content =
      kind === 3
        ? { value: "mallory", status: "ok" }
        : pick([null, 0, "", [], {}, { value: 5 }, { value: null }, { value: ["a"] }, { status: "error" }]);
    return encodeMessage(
      {
        header: kind === 3 ? { ...header, msg_type: "input_reply" } : header,
        parent_header: parent as never,
        content: content as never,
      },
      kind === 3 ? wrongKey : k.client.signer,
      { signBuffersBelow: 0 },
    );
  };
  for (let i = 0; i < MESSAGES; i++) await k.client.sendRaw("stdin", message(i));

  // The heartbeat echoes whatever a REQ sends; a DEALER that sends junk without the envelope
  // delimiter must not stop it.
  const junk = new Dealer({ linger: 0, sendHighWaterMark: 0 });
  junk.connect(channelAddress(k.info, "hb"));
  for (let i = 0; i < MESSAGES; i++) {
    const frames = Array.from({ length: 1 + Math.floor(random() * 4) }, () =>
      bytes(Math.floor(random() * 300)),
    );
    if (i % 2) frames.unshift(Buffer.alloc(0)); // with a delimiter: an echo goes back to us, unread
    await junk.send(frames);
  }
  junk.close();

  assert.equal(await k.client.heartbeat("after"), "after", "the heartbeat answers");
  await k.client.send("stdin", "input_reply", { value: "Ada" }, { parent_header: request.header });
  const reply = await k.client.reply("shell", cell, 30_000);
  assert.equal((reply.content as C).status, "ok", JSON.stringify(reply.content));
  const { outputs } = await k.client.execute("answer");
  const result = outputs.find((m) => m.header.msg_type === "execute_result");
  assert.equal(
    ((result?.content as C | undefined)?.data as C | undefined)?.["text/plain"],
    "'Ada'",
    "only the real answer counts",
  );
  // Memory: back near idle once the kernel has been quiet (see kernel-fuzz.test.ts).
  const deadline = Date.now() + 15_000;
  while (rssMB(pid) >= idle * 1.5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  const after = rssMB(pid);
  t.diagnostic(`kernel RSS before ${idle.toFixed(0)} MB, after ${after.toFixed(0)} MB`);
  assert.ok(after < idle * 1.5, `kernel RSS ${idle.toFixed(0)} → ${after.toFixed(0)} MB`);
});
