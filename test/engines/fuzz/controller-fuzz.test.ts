import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { Dealer } from "zeromq";
import { processAlive } from "../../../engines/launchers/process-alive.js";
import { encodeMessage, makeHeader } from "../../../engines/wire/protocol/frames.js";
import { ACCEPTS } from "../../../engines/wire/protocol/messages.js";
import { Signer } from "../../../engines/wire/protocol/signing.js";
import { controllerCredentials } from "../../../engines/wire/transport/controller-auth.js";
import { FuzzSource } from "../../helpers/fuzz-source.js";
import { rssMB } from "../../helpers/processes.js";
import { startTestCluster, stopTestClusters, until } from "../cluster-fixture.js";

after(stopTestClusters);

/** Messages sent to each of the controller's sockets. */
const MESSAGES = 10_000;

test("10,000 hostile messages on each controller socket: no crash, no unsigned code run, memory comes back", async (t) => {
  const cluster = await startTestCluster({ n: 2 });
  const rc = cluster.client!;
  const pid = rc.info.controller_pid;
  const marks = mkdtempSync(join(tmpdir(), "tsp-fuzz-"));
  t.after(() => rmSync(marks, { recursive: true, force: true }));
  const marker = join(marks, "ran");
  const signer = new Signer(rc.info.key);
  const wrongKey = new Signer("not the cluster's key");
  const fuzz = new FuzzSource(20261207);
  const random = () => fuzz.next();
  const pick = <T>(xs: readonly T[]): T => fuzz.pick(xs);
  const bytes = (n: number) => fuzz.bytes(n);
  // A key holder may stop, scale, restart or signal the cluster on purpose: signed junk of those
  // types is sent only in shapes the controller must refuse (checked below), never well-formed.
  const CONTROL = new Set(["shutdown_request", "scale_request", "restart_engine_request", "signal_request"]);
  // Signed task requests are a key holder's tasks: they run (their junk fails on the engine) and
  // the task table keeps them, as it keeps any task. Those go with another key only (kind 3).
  const TASKS = new Set(["execute_request", "apply_request", "push_request", "pull_request", "task_batch"]);
  const types = [...new Set(Object.values(ACCEPTS).flat()), "no_such_type", ""].filter((x) => !TASKS.has(x));
  const junkValue = () =>
    fuzz.junkValue(["code", "fn", "msg_ids", "targets", "names", "n", "id", "signal", "hub", "x"]);
  // Code that leaves a file behind if it ever runs on an engine.
  const code = `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "ran")`;
  /** One hostile message, of four kinds in turn. */
  const message = (i: number): Uint8Array[] => {
    const kind = i % 4;
    if (kind === 0)
      return Array.from({ length: 1 + Math.floor(random() * 6) }, () => bytes(Math.floor(random() * 200)));
    const type = kind === 3 ? pick(["execute_request", "apply_request"]) : pick(types);
    const header = makeHeader(type, "fuzz");
    let content = kind === 3 ? { code, silent: false, fn: code, name: "f", mode: "call" } : junkValue();
    // Control requests get content that cannot be a valid request: strings where ids, counts
    // and booleans belong.
    if (kind !== 3 && CONTROL.has(type))
      content = { targets: "some", hub: "yes", n: "many", id: "x", signal: 9 };
    const frames = encodeMessage(
      { header, content: content as never, metadata: kind === 2 ? (junkValue() as never) : {} },
      kind === 3 ? wrongKey : signer, // kind 3: a task signed with another key must never run
      { signBuffersBelow: 0 },
    );
    if (kind === 1 && random() < 0.5) frames.splice(2 + Math.floor(random() * 4), 1); // a frame missing
    return frames;
  };

  await rc.view().apply(() => 0);
  await new Promise((r) => setTimeout(r, 2500));
  const idle = rssMB(pid);
  for (const url of [rc.info.client_url, rc.info.engine_url]) {
    const peer = new Dealer({
      linger: 0,
      sendHighWaterMark: 100_000,
      ...controllerCredentials(signer, false),
    });
    peer.connect(url);
    for (let i = 0; i < MESSAGES; i++) await peer.send(message(i) as Buffer[]);
    await new Promise((r) => setTimeout(r, 300));
    peer.close();
  }
  assert.ok(processAlive(pid), "the controller lives");
  assert.deepEqual(await rc.view().apply((x: number) => x + 1, 1), [2, 2], "and still runs tasks");
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(existsSync(marker), false, "no task signed with another key ran");
  // Memory: after 2 s of quiet the idle collector gives back the C memory (even though most of
  // the junk never became a message) and then the young generation V8 grew for the burst.
  await until(() => rssMB(pid) <= idle * 1.5, 15_000);
  const after = rssMB(pid);
  t.diagnostic(`controller RSS idle ${idle.toFixed(0)} MB, after ${after.toFixed(0)} MB`);
  assert.ok(
    after <= idle * 1.5,
    `the controller's memory came back near idle (${idle.toFixed(0)} → ${after.toFixed(0)} MB)`,
  );
});

test("a signed shutdown_request whose hub is not a boolean is refused with MALFORMED_REQUEST, and nothing stops", async () => {
  const cluster = await startTestCluster({ n: 1 });
  const rc = cluster.client!;
  const reply = await rc.link.request("shutdown_request", {
    targets: "all",
    hub: "yes" as unknown as boolean,
  });
  assert.equal(reply.content.status, "error");
  assert.equal((reply.content as { code?: string }).code, "MALFORMED_REQUEST");
  assert.ok(processAlive(rc.info.controller_pid));
  assert.deepEqual(await rc.view().apply(() => "still here"), ["still here"]);
});

test("an abort_request whose msg_ids are not a list of ids is answered, aborting nothing", async () => {
  const cluster = await startTestCluster({ n: 1 });
  const rc = cluster.client!;
  for (const msg_ids of [5, "all", null, [1, {}, "no-such-task"]]) {
    const reply = await rc.link.request("abort_request", { msg_ids: msg_ids as unknown as string[] });
    assert.deepEqual(reply.content.aborted, [], JSON.stringify(msg_ids));
  }
  assert.deepEqual(await rc.view().apply(() => "still here"), ["still here"]);
});
