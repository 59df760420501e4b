import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { DELIMITER } from "../../../engines/wire/protocol/frames.js";
import { type StartedKernel, startKernel } from "../../helpers/kernel-process.js";

type C = Record<string, unknown>;
const content = (m: { content: unknown }) => m.content as C;
const types = (ms: { header: { msg_type: string } }[]) => ms.map((m) => m.header.msg_type);

describe("kernel protocol over real ZeroMQ (JS test session)", () => {
  let k: StartedKernel;
  before(async () => {
    k = await startKernel({ launcher: "js" });
  });
  after(async () => {
    await k?.stop();
  });

  test("kernel_info_reply has status ok, protocol 5.3 and TypeScript language_info on shell and control", async () => {
    for (const channel of ["shell", "control"] as const) {
      const id = await k.client.send(channel, "kernel_info_request", {});
      const r = content(await k.client.reply(channel, id));
      assert.equal(r.status, "ok");
      assert.equal(r.protocol_version, "5.3");
      assert.equal(r.implementation, "tsparallel");
      const li = r.language_info as C;
      assert.equal(li.name, "typescript");
      assert.equal(li.file_extension, ".ts");
      assert.equal(li.mimetype, "text/typescript");
      assert.match(String(li.version), /^5\./);
    }
  });

  test("execute publishes busy, execute_input, stream, execute_result, idle and counts executions", async () => {
    const { reply, outputs } = await k.client.execute("console.log('out'); console.error('err'); 6 * 7");
    assert.equal(content(reply).status, "ok");
    const count = content(reply).execution_count as number;
    assert.deepEqual(types(outputs), ["execute_input", "stream", "stream", "execute_result"]);
    assert.deepEqual(content(outputs[1]!), { name: "stdout", text: "out\n" });
    assert.deepEqual(content(outputs[2]!), { name: "stderr", text: "err\n" });
    const result = content(outputs[3]!);
    assert.equal(result.execution_count, count);
    assert.equal((result.data as C)["text/plain"], "42");
    const next = await k.client.execute("1");
    assert.equal(content(next.reply).execution_count, count + 1);
  });

  test("silent and store_history=false do not bump the count; silent sends no execute_input or result", async () => {
    const before = content((await k.client.execute("0")).reply).execution_count as number;
    const silent = await k.client.execute("5", { silent: true });
    assert.equal(content(silent.reply).execution_count, before);
    assert.deepEqual(types(silent.outputs), []);
    const noHistory = await k.client.execute("6", { store_history: false });
    assert.equal(content(noHistory.reply).execution_count, before);
    assert.deepEqual(types(noHistory.outputs), ["execute_input", "execute_result"]);
    const after = await k.client.execute("7");
    assert.equal(content(after.reply).execution_count, before + 1);
  });

  test("an exception gives an error message and an error reply with ename, evalue and traceback", async () => {
    const { reply, outputs } = await k.client.execute("throw new RangeError('too far')");
    const r = content(reply);
    assert.equal(r.status, "error");
    assert.equal(r.ename, "RangeError");
    assert.equal(r.evalue, "too far");
    assert.ok(Array.isArray(r.traceback));
    assert.deepEqual(types(outputs), ["execute_input", "error"]);
    assert.equal(content(outputs[1]!).ename, "RangeError");
  });

  test("user_expressions are evaluated into display dicts or error dicts", async () => {
    await k.client.execute("var ux = 20");
    const { reply } = await k.client.execute("ux + 1", { user_expressions: { a: "ux * 2", b: "nope.x" } });
    const ue = content(reply).user_expressions as Record<string, C>;
    assert.equal(ue.a!.status, "ok");
    assert.equal((ue.a!.data as C)["text/plain"], "40");
    assert.equal(ue.b!.status, "error");
    assert.equal(ue.b!.ename, "ReferenceError");
  });

  test("stop_on_error aborts the requests already queued, but not the ones sent after the error reply", async () => {
    const failing = await k.client.send("shell", "execute_request", {
      code: "throw new Error('first')",
      stop_on_error: true,
    });
    const queued1 = await k.client.send("shell", "execute_request", { code: "globalThis.ran1 = 1" });
    const queued2 = await k.client.send("shell", "execute_request", { code: "globalThis.ran2 = 1" });
    assert.equal(content(await k.client.reply("shell", failing)).status, "error");
    assert.equal(content(await k.client.reply("shell", queued1)).status, "aborted");
    assert.equal(content(await k.client.reply("shell", queued2)).status, "aborted");
    // Sent immediately after the error reply: tslab aborted these for 200 ms.
    const later = await k.client.execute("typeof globalThis.ran1 + ',' + typeof globalThis.ran2");
    assert.equal(content(later.reply).status, "ok");
    assert.equal((content(later.outputs.at(-1)!).data as C)["text/plain"], "'undefined,undefined'");
  });

  test("stop_on_error=false lets queued requests run", async () => {
    const failing = await k.client.send("shell", "execute_request", {
      code: "throw 1",
      stop_on_error: false,
    });
    const queued = await k.client.send("shell", "execute_request", { code: "2" });
    assert.equal(content(await k.client.reply("shell", failing)).status, "error");
    assert.equal(content(await k.client.reply("shell", queued)).status, "ok");
  });

  test("history answers tail, range and search with [session, line, input] triples", async () => {
    await k.client.execute("var hist_a = 1");
    await k.client.execute("var hist_b = 2");
    await k.client.execute("hist_a + hist_b");
    const tailId = await k.client.send("shell", "history_request", {
      hist_access_type: "tail",
      n: 2,
      raw: true,
      output: false,
    });
    const tail = content(await k.client.reply("shell", tailId)).history as [number, number, string][];
    assert.deepEqual(
      tail.map((h) => h[2]),
      ["var hist_b = 2", "hist_a + hist_b"],
    );
    const [session, line] = tail[0]!;
    const rangeId = await k.client.send("shell", "history_request", {
      hist_access_type: "range",
      session,
      start: line,
      stop: line + 2,
      raw: true,
      output: true,
    });
    const range = content(await k.client.reply("shell", rangeId)).history as [
      number,
      number,
      [string, string | null],
    ][];
    assert.deepEqual(range, [
      [session, line, ["var hist_b = 2", null]],
      [session, line + 1, ["hist_a + hist_b", "3"]],
    ]);
    const searchId = await k.client.send("shell", "history_request", {
      hist_access_type: "search",
      pattern: "var hist_?*",
      raw: true,
      output: false,
      unique: true,
    });
    const found = content(await k.client.reply("shell", searchId)).history as [number, number, string][];
    assert.deepEqual(
      found.map((h) => h[2]),
      ["var hist_a = 1", "var hist_b = 2"],
    );
  });

  test("complete and inspect convert cursor positions between code points and UTF-16", async () => {
    await k.client.execute("var zeta_value = 1");
    const code = "'😀😀'; zeta_v";
    const id = await k.client.send("shell", "complete_request", { code, cursor_pos: [...code].length });
    const r = content(await k.client.reply("shell", id));
    assert.deepEqual(r.matches, ["zeta_value"]);
    assert.equal(r.cursor_end, [...code].length);
    assert.equal(r.cursor_start, [...code].length - "zeta_v".length);
    const iid = await k.client.send("shell", "inspect_request", {
      code: "'😀'; zeta_value",
      cursor_pos: 6,
      detail_level: 0,
    });
    const ir = content(await k.client.reply("shell", iid));
    assert.equal(ir.status, "ok");
    assert.equal(ir.found, true);
    assert.match(String((ir.data as C)["text/plain"]), /zeta_value/);
  });

  test("is_complete says complete, incomplete or invalid", async () => {
    for (const [code, status] of [
      ["1 + 1", "complete"],
      ["function f() {", "incomplete"],
      ["1 +* )", "invalid"],
    ]) {
      const id = await k.client.send("shell", "is_complete_request", { code });
      assert.equal(content(await k.client.reply("shell", id)).status, status, code);
    }
  });

  test("`name?` puts the inspection into a page payload", async () => {
    const { reply } = await k.client.execute("Math.max?");
    const payload = content(reply).payload as C[];
    assert.equal(payload.length, 1);
    assert.equal(payload[0]!.source, "page");
    assert.ok("text/plain" in (payload[0]!.data as C));
  });

  test("a message with a bad signature is dropped and logged, and the kernel keeps answering", async () => {
    const frames = [
      DELIMITER,
      "0".repeat(64),
      JSON.stringify({
        msg_id: "x",
        msg_type: "execute_request",
        session: "s",
        username: "u",
        date: "",
        version: "5.3",
      }),
      "{}",
      "{}",
      JSON.stringify({ code: "globalThis.forged = 1" }),
    ];
    await k.client.sendRaw("shell", frames);
    await k.client.sendRaw("shell", [DELIMITER, "", "{}", "{}", "{}", "{}"]);
    const { outputs } = await k.client.execute("typeof globalThis.forged");
    assert.equal((content(outputs.at(-1)!).data as C)["text/plain"], "'undefined'");
    assert.match(k.stderr(), /BAD_SIGNATURE/);
  });

  test("malformed frames and invalid UTF-8 are dropped and logged", async () => {
    await k.client.sendRaw("shell", ["no delimiter here"]);
    await k.client.sendRaw("shell", [DELIMITER, "sig"]);
    const bad = Buffer.from([0xff, 0xfe, 0x7b]);
    const json = [bad, Buffer.from("{}"), Buffer.from("{}"), Buffer.from("{}")];
    await k.client.sendRaw("shell", [DELIMITER, Buffer.from(k.client.signer.sign(json)), ...json]);
    const { reply } = await k.client.execute("1");
    assert.equal(content(reply).status, "ok");
    assert.match(k.stderr(), /MISSING_DELIMITER/);
    assert.match(k.stderr(), /TOO_FEW_FRAMES/);
    assert.match(k.stderr(), /INVALID_UTF8/);
  });

  test("an unknown message type gets an error reply named UnknownMessageType on shell and control", async () => {
    for (const channel of ["shell", "control"] as const) {
      const id = await k.client.send(channel, "frobnicate_request", {});
      const reply = await k.client.reply(channel, id);
      assert.equal(reply.header.msg_type, "frobnicate_reply");
      assert.equal(content(reply).status, "error");
      assert.equal(content(reply).ename, "UnknownMessageType");
    }
  });

  test("an execute_request without code gets an error reply that says what is wrong", async () => {
    const id = await k.client.send("shell", "execute_request", { code: 42 });
    const r = content(await k.client.reply("shell", id));
    assert.equal(r.status, "error");
    assert.match(String(r.evalue), /code must be a string/);
  });

  test("a 10 MB cell runs", async () => {
    const big = `var big = "${"x".repeat(10 * 1024 * 1024)}"; big.length`;
    const { reply, outputs } = await k.client.execute(big, {}, 60000);
    assert.equal(content(reply).status, "ok");
    assert.equal((content(outputs.at(-1)!).data as C)["text/plain"], String(10 * 1024 * 1024));
  });

  test("heartbeat echoes", async () => {
    assert.equal(await k.client.heartbeat("beat"), "beat");
  });
});
