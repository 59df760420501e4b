import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { Client, EngineError } from "../../../engines/index.js";
import type { AnyMessage } from "../../../engines/wire/protocol/messages.js";
import { startTestCluster, stopTestClusters } from "../cluster-fixture.js";

/** How long the controller waits for an assigned task's payload to reach its engine, here. */
const ASSIGNMENT_TIMEOUT_MS = 1500;

let rc: Client;
let file: string;
before(async () => {
  process.env.TSPARALLEL_ASSIGNMENT_TIMEOUT_MS = String(ASSIGNMENT_TIMEOUT_MS);
  // One engine with the strict limit: two assignments that never end would hold it for good.
  const cluster = await startTestCluster({ n: 1, hwm: 2 });
  delete process.env.TSPARALLEL_ASSIGNMENT_TIMEOUT_MS;
  rc = cluster.client!;
  file = cluster.file;
});
after(stopTestClusters);

const INDEX = fileURLToPath(new URL("../../../engines/index.js", import.meta.url));

test("a client that dies after its tasks were assigned, before their payloads left, frees the engine", async () => {
  // Another process asks for two assignments (what a large load-balanced apply does first) and
  // is killed as soon as the controller names the engine: its payloads never leave.
  const script = `
    import { Client } from ${JSON.stringify(INDEX)};
    const rc = await Client.connect(${JSON.stringify(file)});
    let assigned = 0;
    for (let i = 0; i < 2; i++) {
      const header = rc.router.header("apply_request");
      rc.link.submit({
        header,
        content: { fn: "() => 1", name: "", mode: "call" },
        metadata: { route: { kind: "lb" }, assign: true },
        buffers: [],
        listener: {
          output: (m) => { if (m.header.msg_type === "task_assigned" && ++assigned === 2) process.kill(process.pid, "SIGKILL"); },
          reply: () => {},
          lost: () => {},
        },
      });
    }
  `;
  const child = spawn(process.execPath, ["--input-type=module", "-e", script], { stdio: "inherit" });
  const kill = setTimeout(() => child.kill("SIGKILL"), 10_000);
  await new Promise((r) => child.once("exit", r));
  clearTimeout(kill);
  const started = Date.now();
  const ar = rc.loadBalancedView().apply(() => "scheduled");
  // Sooner than the payload timeout: the controller hears that the client is gone.
  assert.equal(await ar.wait({ timeout: ASSIGNMENT_TIMEOUT_MS - 500 }), true, "load balancing goes on");
  assert.equal(await ar, "scheduled");
  assert.ok(Date.now() - started < ASSIGNMENT_TIMEOUT_MS);
});

test("an assignment whose payload never comes ends after the timeout with EngineError", async () => {
  const header = rc.router.header("apply_request");
  const failed = new Promise<AnyMessage>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error("the assignment never ended")),
      ASSIGNMENT_TIMEOUT_MS + 3000,
    );
    rc.link.submit({
      header,
      content: { fn: "() => 1", name: "", mode: "call" },
      metadata: { route: { kind: "lb" }, assign: true },
      buffers: [],
      listener: {
        output: () => {}, // task_assigned: this client never sends the payload
        reply: (m) => {
          clearTimeout(timer);
          resolve(m);
        },
        lost: reject,
      },
    });
  });
  const reply = (await failed).content as { status: string; ename?: string; evalue?: string };
  assert.equal(reply.status, "error");
  assert.equal(reply.ename, "EngineError");
  assert.match(reply.evalue ?? "", /did not reach engine \d+ within \d+ ms/);
  assert.equal(await rc.loadBalancedView().apply(() => "next"), "next");
});

test("a large assigned task that runs longer than the payload timeout is not cut short", async () => {
  // No store: the payload goes by assignment over the engine's lane.
  const plain = await Client.connect(rc.info, { store: false });
  try {
    const ar = plain.loadBalancedView().apply(
      async (a: Float64Array) => {
        await new Promise((r) => setTimeout(r, 2500));
        return a.length;
      },
      new Float64Array(256 << 10), // 2 MiB
    );
    assert.equal(await ar, 256 << 10);
  } catch (e) {
    assert.fail(e instanceof EngineError ? `cut short: ${e.message}` : String(e));
  } finally {
    await plain.close();
  }
});
