import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type StartedKernel, startKernel } from "../../helpers/kernel-process.js";

type C = Record<string, unknown>;
const content = (m: { content: unknown }) => m.content as C;
const types = (ms: { header: { msg_type: string } }[]) => ms.map((m) => m.header.msg_type);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("interrupts, stdin, comms, display and shutdown (JS test session)", () => {
  let k: StartedKernel;
  before(async () => {
    k = await startKernel({ launcher: "js" });
  });
  after(async () => {
    await k?.stop();
  });

  /** Starts `code`, waits until it is running (its execute_input is out), then interrupts. */
  async function interrupt(code: string, how: "message" | "signal") {
    const id = await k.client.send("shell", "execute_request", { code });
    await k.client.next(
      "iopub",
      (m) => m.header.msg_type === "execute_input" && (m.parent_header as C).msg_id === id,
    );
    await sleep(100); // let the cell reach its loop or await; the outcome does not depend on it
    if (how === "message") {
      const iid = await k.client.send("control", "interrupt_request", {});
      assert.equal(content(await k.client.reply("control", iid)).status, "ok");
    } else {
      k.process.kill("SIGINT");
    }
    return content(await k.client.reply("shell", id));
  }

  for (const how of ["message", "signal"] as const) {
    test(`interrupt by ${how} stops a synchronous loop and the next cell runs`, async () => {
      const r = await interrupt("while (true) {}", how);
      assert.equal(r.status, "error");
      const next = await k.client.execute("'alive'");
      assert.equal(content(next.reply).status, "ok");
    });

    test(`interrupt by ${how} stops a pending promise and the next cell runs`, async () => {
      const r = await interrupt("await new Promise(() => {})", how);
      assert.equal(r.status, "error");
      assert.equal(r.ename, "Interrupted");
      const next = await k.client.execute("1");
      assert.equal(content(next.reply).status, "ok");
    });
  }

  test("heartbeat answers while a cell blocks the main thread", async () => {
    const id = await k.client.send("shell", "execute_request", { code: "while (true) {}" });
    await k.client.next(
      "iopub",
      (m) => m.header.msg_type === "execute_input" && (m.parent_header as C).msg_id === id,
    );
    assert.equal(await k.client.heartbeat("still here"), "still here");
    const iid = await k.client.send("control", "interrupt_request", {});
    await k.client.reply("control", iid);
    await k.client.reply("shell", id);
  });

  test("input() sends input_request on stdin with the password flag and resolves with the reply", async () => {
    const id = await k.client.send("shell", "execute_request", {
      code: "globalThis.nm = await input('Name: ')\nglobalThis.pw = await input('PIN: ', { password: true })\nnm",
      allow_stdin: true,
    });
    const first = await k.client.next("stdin", (m) => m.header.msg_type === "input_request");
    assert.deepEqual(content(first), { prompt: "Name: ", password: false });
    await k.client.send("stdin", "input_reply", { value: "Ada" }, { parent_header: first.header });
    const second = await k.client.next("stdin", (m) => m.header.msg_type === "input_request");
    assert.deepEqual(content(second), { prompt: "PIN: ", password: true });
    await k.client.send("stdin", "input_reply", { value: "1234" }, { parent_header: second.header });
    assert.equal(content(await k.client.reply("shell", id)).status, "ok");
    const out = await k.client.execute("nm + '/' + pw");
    assert.equal((content(out.outputs.at(-1)!).data as C)["text/plain"], "'Ada/1234'");
  });

  test("input() without allow_stdin fails with a clear error", async () => {
    const { reply } = await k.client.execute("await input('x')", { allow_stdin: false });
    assert.equal(content(reply).status, "error");
    assert.match(String(content(reply).evalue), /this frontend does not support input/);
  });

  test("comms: the frontend opens a user-registered target, messages go both ways, close, comm_info", async () => {
    await k.client.execute(`
      var received = [];
      comms.registerTarget("echo", (comm, open) => {
        comm.send({ hello: open.data.greeting });
        comm.onMsg((msg) => { received.push(msg.data.n); comm.send({ doubled: msg.data.n * 2 }); });
        comm.onClose(() => received.push("closed"));
      });`);
    const commId = "c0ffee";
    await k.client.send("shell", "comm_open", {
      comm_id: commId,
      target_name: "echo",
      data: { greeting: "hi" },
    });
    const hello = await k.client.next("iopub", (m) => m.header.msg_type === "comm_msg");
    assert.deepEqual(content(hello), { comm_id: commId, data: { hello: "hi" } });

    const infoId = await k.client.send("shell", "comm_info_request", { target_name: "echo" });
    const info = await k.client.reply("shell", infoId);
    assert.equal(info.header.msg_type, "comm_info_reply");
    assert.deepEqual(content(info).comms, { [commId]: { target_name: "echo" } });
    const otherId = await k.client.send("shell", "comm_info_request", { target_name: "other" });
    assert.deepEqual(content(await k.client.reply("shell", otherId)).comms, {});

    await k.client.send("shell", "comm_msg", { comm_id: commId, data: { n: 21 } });
    const doubled = await k.client.next("iopub", (m) => m.header.msg_type === "comm_msg");
    assert.deepEqual((content(doubled).data as C).doubled, 42);
    await k.client.send("shell", "comm_close", { comm_id: commId, data: {} });
    const { outputs } = await k.client.execute("received.join(',')");
    assert.equal((content(outputs.at(-1)!).data as C)["text/plain"], "'21,closed'");
  });

  test("comms: a kernel-initiated comm opens, receives a frontend message and closes", async () => {
    const run = await k.client.execute(`
      var kc = comms.open("frontend.target", { v: 1 });
      var got = null;
      kc.onMsg((m) => { got = m.data; });
      kc.commId`);
    const types1 = types(run.outputs);
    assert.ok(types1.includes("comm_open"));
    const open = content(run.outputs.find((m) => m.header.msg_type === "comm_open")!);
    assert.equal(open.target_name, "frontend.target");
    assert.deepEqual(open.data, { v: 1 });
    await k.client.send("shell", "comm_msg", { comm_id: open.comm_id, data: { answer: 7 } });
    const closed = await k.client.execute("kc.close({ bye: true }); JSON.stringify(got)");
    assert.equal((content(closed.outputs.at(-1)!).data as C)["text/plain"], `'{"answer":7}'`);
    const close = content(closed.outputs.find((m) => m.header.msg_type === "comm_close")!);
    assert.deepEqual(close, { comm_id: open.comm_id, data: { bye: true } });
  });

  test("comm_open to an unknown target is answered with comm_close", async () => {
    await k.client.send("shell", "comm_open", { comm_id: "nobody", target_name: "no.such.target", data: {} });
    const close = await k.client.next("iopub", (m) => m.header.msg_type === "comm_close");
    assert.equal(content(close).comm_id, "nobody");
  });

  test("display, MIME shortcuts, handles that update in place, and clear_output", async () => {
    const { reply, outputs } = await k.client.execute(`
      display({ a: 1 });
      display.html("<b>hi</b>");
      display.png(new Uint8Array([137, 80, 78, 71]));
      var h = display("v1", { displayId: true });
      h.update("v2");
      var t = require("tslab").newDisplay();
      t.html("<i>1</i>"); t.html("<i>2</i>");
      clearOutput({ wait: true });
      undefined`);
    assert.equal(content(reply).status, "ok");
    const msgs = outputs.filter((m) => m.header.msg_type !== "execute_input");
    assert.deepEqual(types(msgs), [
      "display_data",
      "display_data",
      "display_data",
      "display_data",
      "update_display_data",
      "display_data",
      "update_display_data",
      "clear_output",
    ]);
    const data = msgs.map((m) => content(m).data as C);
    assert.equal(data[0]!["text/plain"], "{ a: 1 }");
    assert.equal(data[1]!["text/html"], "<b>hi</b>");
    assert.equal(data[2]!["image/png"], Buffer.from([137, 80, 78, 71]).toString("base64"));
    const id = (content(msgs[3]!).transient as C).display_id;
    assert.equal(typeof id, "string");
    assert.equal((content(msgs[4]!).transient as C).display_id, id);
    assert.equal(data[4]!["text/plain"], "'v2'");
    assert.equal(
      (content(msgs[6]!).transient as C).display_id,
      (content(msgs[5]!).transient as C).display_id,
    );
    assert.deepEqual(content(msgs[7]!), { wait: true });
  });

  test("output written after a cell finished goes to that cell, and a throwing timer does not kill the kernel", async () => {
    const first = await k.client.execute("setTimeout(() => { throw new Error('late boom'); }, 0); 1");
    assert.equal(content(first.reply).status, "ok");
    const late = await k.client.next(
      "iopub",
      (m) => m.header.msg_type === "stream" && (m.parent_header as C).msg_id === first.msgId,
    );
    assert.match(String(content(late).text), /late boom/);
    const next = await k.client.execute("2");
    assert.equal(content(next.reply).status, "ok");
  });

  test("shutdown_request on control replies with the restart flag and the process exits 0", async () => {
    const id = await k.client.send("control", "shutdown_request", { restart: true });
    const r = content(await k.client.reply("control", id));
    assert.deepEqual(r, { status: "ok", restart: true });
    assert.equal(await k.exited, 0);
  });
});

test("shutdown_request on shell also ends the kernel with exit code 0", async () => {
  const k = await startKernel({ launcher: "js", transport: "tcp" });
  try {
    const id = await k.client.send("shell", "shutdown_request", { restart: false });
    assert.deepEqual(content(await k.client.reply("shell", id)), { status: "ok", restart: false });
    assert.equal(await k.exited, 0);
  } finally {
    await k.stop();
  }
});
