import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { type StartedKernel, startKernel } from "../../helpers/kernel-process.js";

type C = Record<string, unknown>;
const content = (m: { content: unknown }) => m.content as C;
const types = (ms: { header: { msg_type: string } }[]) => ms.map((m) => m.header.msg_type);

describe("the real kernel command with the TypeScript session", () => {
  let k: StartedKernel;
  before(async () => {
    k = await startKernel({ launcher: "cli" });
  });
  after(async () => {
    await k?.stop();
  });

  test("the display, comms and input globals type-check with their declarations", async () => {
    const { reply, outputs } = await k.client.execute(`
      const h: DisplayHandle = display("first", { displayId: true });
      h.update({ n: 2 });
      display.png(new Uint8Array([1, 2, 3]));
      const open: (t: string) => Comm = (t) => comms.open(t);
      const ask: (p: string) => Promise<string> = (p) => input(p, { password: true });
      clearOutput({ wait: true });
      typeof open + typeof ask`);
    assert.equal(content(reply).status, "ok", JSON.stringify(content(reply)));
    assert.deepEqual(types(outputs), [
      "execute_input",
      "display_data",
      "update_display_data",
      "display_data",
      "clear_output",
      "execute_result",
    ]);
  });

  test("a misuse of the display API is a type error and nothing runs", async () => {
    const { reply, outputs } = await k.client.execute(`display.png(42)`);
    assert.equal(content(reply).status, "error");
    assert.equal(content(reply).ename, "CompileError");
    assert.deepEqual(types(outputs), ["execute_input", "error"]);
  });

  test("tslab notebooks run unchanged: import * as tslab, display.html, newDisplay updating in place", async () => {
    const { reply, outputs } = await k.client.execute(`
      import * as tslab from "tslab";
      tslab.display.html("<b>a</b>");
      const d = tslab.newDisplay();
      d.markdown("# one");
      d.markdown("# two");`);
    assert.equal(content(reply).status, "ok", JSON.stringify(content(reply)));
    assert.deepEqual(types(outputs), [
      "execute_input",
      "display_data",
      "display_data",
      "update_display_data",
    ]);
    assert.equal((content(outputs[3]!).data as C)["text/markdown"], "# two");
  });

  test("a cell that is an object literal displays the object, one-line, multi-line or with a comment", async () => {
    const shown = async (code: string) => {
      const { reply, outputs } = await k.client.execute(code);
      assert.equal(content(reply).status, "ok", JSON.stringify(content(reply)));
      const result = outputs.find((m) => m.header.msg_type === "execute_result");
      return result && (content(result).data as C)["text/plain"];
    };
    assert.equal(await shown("{ a: 1, b: 2 }"), "{ a: 1, b: 2 }");
    assert.equal(await shown('{\n  name: "x",\n  values: [1, 2],\n}'), "{ name: 'x', values: [ 1, 2 ] }");
    assert.equal(await shown("{ a: 1 } // the answer"), "{ a: 1 }");
    const failing = await k.client.execute('{ a: JSON.parse("{") }');
    assert.match((content(failing.reply).traceback as string[]).join("\n"), /at cell \d+:1:11$/m);
  });

  test("a cell that is a real block runs as a block", async () => {
    const { reply, outputs } = await k.client.execute("{ const inner = 1; console.log(inner) }");
    assert.equal(content(reply).status, "ok", JSON.stringify(content(reply)));
    assert.deepEqual(types(outputs), ["execute_input", "stream"]);
    assert.equal(content(outputs[1]!).text, "1\n");
  });

  test("SIGINT stops a pending await and the kernel stays usable", async () => {
    const id = await k.client.send("shell", "execute_request", {
      code: "await new Promise<void>(() => {});",
    });
    await k.client.next(
      "iopub",
      (m) => m.header.msg_type === "execute_input" && (m.parent_header as C).msg_id === id,
    );
    await new Promise((r) => setTimeout(r, 200)); // let the cell reach its await
    k.process.kill("SIGINT");
    assert.equal(content(await k.client.reply("shell", id)).status, "error");
    const next = await k.client.execute("1 + 1");
    assert.equal((content(next.outputs.at(-1)!).data as C)["text/plain"], "2");
  });
});

describe("a fresh TypeScript kernel, interrupted while it compiles its first cell", () => {
  let k: StartedKernel;
  before(async () => {
    // Started and answering kernel_info: the compiler loads from here on.
    k = await startKernel({ launcher: "cli" });
  });
  after(async () => {
    await k?.stop();
  });

  test("an interrupt sent as the first cell starts stops it; kernel_info and the next cell are answered", async () => {
    const idle = await k.client.send("control", "interrupt_request", {});
    assert.equal(content(await k.client.reply("control", idle)).status, "ok");
    const info = await k.client.send("shell", "kernel_info_request", {});
    assert.equal(content(await k.client.reply("shell", info)).implementation, "tsparallel");
    const id = await k.client.send("shell", "execute_request", {
      code: "await new Promise<void>(() => {});",
    });
    await k.client.next(
      "iopub",
      (m) => m.header.msg_type === "execute_input" && (m.parent_header as C).msg_id === id,
    );
    const stop = await k.client.send("control", "interrupt_request", {});
    assert.equal(content(await k.client.reply("control", stop)).status, "ok");
    const stopped = content(await k.client.reply("shell", id, 30_000));
    assert.equal(stopped.ename, "Interrupted");
    const { reply, outputs } = await k.client.execute("const early: number = 40;\nearly + 2", {}, 30_000);
    assert.equal(content(reply).status, "ok", JSON.stringify(content(reply)));
    assert.equal((content(outputs.at(-1)!).data as C)["text/plain"], "42");
  });
});
