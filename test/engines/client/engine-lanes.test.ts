import assert from "node:assert/strict";
import { rmSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { type Client, CompositeError, EngineError, type RemoteError } from "../../../engines/index.js";
import { MessageCodec } from "../../../engines/wire/protocol/message-codec.js";
import { Signer } from "../../../engines/wire/protocol/signing.js";
import { frameStream } from "../../../engines/wire/transport/frame-parser.js";
import { tcpEndpoint } from "../../../engines/wire/transport/tcp-endpoint.js";
import { startTestCluster, stopTestClusters } from "../cluster-fixture.js";

declare const laneMark: string;
declare let laneOrder: string[];
declare const ndLoaded: Promise<void>;
declare const nd: { full(shape: number[], v: number): unknown };

let rc: Client;
before(async () => {
  rc = (await startTestCluster({ n: 2 })).client!;
});
after(stopTestClusters);

function laneOf(id: number): { host: string; port: number } {
  return tcpEndpoint(rc.engines.get(id)!.lane!)!;
}

/** Writes raw bytes to an engine's lane and resolves when the engine closes the connection. */
function sendRaw(id: number, bytes: readonly Uint8Array[]): Promise<"closed" | "open"> {
  return new Promise((resolve) => {
    const s = connect(laneOf(id));
    s.resume(); // read what the engine sends (its lane hello), and the end
    s.on("connect", () => {
      for (const b of bytes) s.write(b);
    });
    s.on("error", () => {});
    s.on("close", () => resolve("closed"));
    setTimeout(() => {
      s.destroy();
      resolve("open");
    }, 1500);
  });
}

test("engines offer a loopback lane, and direct tasks answered over it are recorded at the controller", async () => {
  for (const id of rc.ids) assert.match(rc.engines.get(id)!.lane ?? "", /^tcp:\/\/127\.0\.0\.1:\d+$/);
  const ar = rc.at(0).apply(() => 6 * 7);
  assert.equal(await ar, 42);
  // The controller hears of lane tasks from the engine's record: another client can fetch it.
  const { Client } = await import("../../../engines/index.js");
  const other = await Client.connect(rc.info);
  try {
    assert.equal(await other.getResult(ar.msgIds[0]!), 42);
    const q = await other.queueStatus();
    assert.ok(
      Object.values(q.engines).some((e) => e.completed > 0),
      "records count as completed tasks",
    );
  } finally {
    await other.close();
  }
});

test("array replies recorded at the controller stay intact when the next reply reuses their memory", async () => {
  const e = rc.at(1);
  const entry = fileURLToPath(new URL("../../../ndarray/index.js", import.meta.url));
  await e.execute(`var ndLoaded = import(${JSON.stringify(entry)}).then((m) => { globalThis.nd = m; })`);
  await e.apply(() => ndLoaded);
  const ids: [string, number][] = [];
  for (let k = 0; k < 12; k++) {
    // NDArrays travel as Arrow frames in the engine's reused send memory, even small ones (kept
    // for getResult); the second reply is encoded while the first one's record still waits.
    const first = e.apply((i: number) => nd.full([4], i), k);
    const second = e.apply((i: number) => nd.full([4], 1000 + i), k);
    await first;
    await second;
    ids.push([first.msgIds[0]!, k]);
  }
  const { Client } = await import("../../../engines/index.js");
  const other = await Client.connect(rc.info);
  try {
    for (const [id, k] of ids) {
      const v = (await other.getResult(id).get({ timeout: 5000 })) as { data: Float64Array };
      assert.equal(v.data[2], k, `task ${k} as recorded`);
    }
  } finally {
    await other.close();
  }
});

test("transferStats counts, per engine, the bytes this client wrote to its lanes and read back", async () => {
  const [a, b] = rc.ids as [number, number];
  const bytes = (id: number) =>
    rc.transferStats().lanes.find((l) => l.engine === id) ?? { sent: 0, received: 0 };
  const [a0, b0] = [bytes(a), bytes(b)];
  // 128 KiB: out of band, but under the store's threshold, so it takes the lane.
  const sent = new Float64Array(16 << 10).fill(1);
  assert.deepEqual(await rc.view([a]).apply((x: Float64Array) => x.length, sent), [16 << 10]);
  const [a1, b1] = [bytes(a), bytes(b)];
  assert.ok(
    a1.sent - a0.sent >= sent.byteLength,
    `engine ${a} was sent the array (${a1.sent - a0.sent} bytes)`,
  );
  assert.ok(a1.sent - a0.sent < sent.byteLength + (4 << 10), "and little more");
  assert.ok(a1.received > a0.received, "its reply came back");
  assert.deepEqual(b1, b0, "the other lane carried nothing");
});

test("outputs and errors come back over the lane like through the controller", async () => {
  const ar = rc.view().apply(() => {
    console.log("hello from", process.pid);
    return 1;
  });
  await ar;
  assert.ok(
    ar.stdout.every((s) => /^hello from \d+\n$/.test(s)),
    JSON.stringify(ar.stdout),
  );
  await assert.rejects(
    async () =>
      await rc.at(1).apply(() => {
        throw new RangeError("too far");
      }),
    /RangeError: too far/,
  );
});

test("a lane that cannot be reached sends the tasks through the controller instead", async () => {
  const { Client } = await import("../../../engines/index.js");
  const other = await Client.connect(rc.info);
  try {
    // As if the engine sat behind a firewall: its advertised lane refuses connections.
    for (const id of other.ids) (other.engines.get(id) as { lane?: string }).lane = "tcp://127.0.0.1:9";
    assert.deepEqual(await other.view().apply(() => "via the controller"), [
      "via the controller",
      "via the controller",
    ]);
    assert.equal(await other.at(0).apply(() => 2), 2, "later tasks too");
  } finally {
    await other.close();
  }
});

test("a large reply is not held back by a long task the engine starts after it", async () => {
  // The reply leaves between turns of the event loop (its MACs come in a trailer): the engine lets
  // it out before it starts the next task, or a task that never yields would keep it back.
  const e = rc.at(1);
  const flag = join(tmpdir(), `tsparallel-released-${process.pid}-${Date.now()}`);
  await e.execute("var big = new Float64Array(4 << 20).fill(2.5)"); // 32 MiB
  try {
    const pulled = e.pull("big").then((v) => {
      writeFileSync(flag, "");
      return v as Float64Array;
    });
    // Spins until the client has the pulled value, or 15 s: a reply held back by it never comes.
    const busy = e.apply((path: string) => {
      const fs = require("node:fs") as typeof import("node:fs");
      const end = Date.now() + 15_000;
      while (Date.now() < end) if (fs.existsSync(path)) return "released";
      return "timed out";
    }, flag);
    const [value, outcome] = await Promise.all([pulled, busy]);
    assert.equal(outcome, "released");
    assert.equal(value.length, 4 << 20);
    assert.equal(value[(4 << 20) - 1], 2.5);
  } finally {
    rmSync(flag, { force: true });
    await e.execute("big = null");
  }
});

test("garbage on a lane closes that connection; the engine carries on", async () => {
  assert.equal(await sendRaw(0, [Buffer.from("GET / HTTP/1.1\r\nHost: x\r\n\r\n")]), "closed");
  assert.equal(await rc.at(0).apply(() => "still here"), "still here");
});

test("a well-framed message with a wrong key is refused at the handshake, never run", async () => {
  await rc.at(0).execute("globalThis.laneMark = 'untouched'");
  const codec = new MessageCodec(new Signer("not-the-cluster-key"), "intruder", "test");
  const { frames } = codec.encode(
    "execute_request",
    { code: "globalThis.laneMark = 'pwned'", silent: true },
    { metadata: { route: { kind: "direct", target: rc.ids[0]! } } },
  );
  assert.equal(
    await sendRaw(rc.ids[0]!, frameStream(frames)),
    "closed",
    "a peer that does not prove it holds the key is closed before its frames are read",
  );
  assert.equal(await rc.at(0).apply(() => laneMark), "untouched");
});

test("load-balanced tasks that follow or come after lane tasks wait for them", async () => {
  const e0 = rc.ids[0]!;
  await rc.view([e0]).execute("globalThis.laneOrder = []");
  const first = rc.view([e0]).apply(
    () =>
      new Promise((r) =>
        setTimeout(() => {
          laneOrder.push("lane");
          r("lane");
        }, 300),
      ),
  );
  const lb = rc.loadBalancedView();
  const after = lb.withFlags({ follow: first }).apply(() => {
    laneOrder.push("lb");
    return [...laneOrder];
  });
  assert.deepEqual(await after, ["lane", "lb"], "ran on the same engine, after the lane task");
  await first;
});

test("killing an engine fails its lane tasks with EngineError and a reason", async () => {
  const victim = rc.ids[1]!;
  const [pid] = await rc.view([victim]).apply(() => process.pid);
  const running = rc.view([victim]).apply(() => new Promise(() => {}));
  await new Promise((r) => setTimeout(r, 100));
  process.kill(pid!, "SIGKILL");
  await assert.rejects(
    async () => await running,
    (e: unknown) => e instanceof EngineError && /engine \d+ died/.test(e.message),
  );
});

test("a large load-balanced task is scheduled by the controller and sent over the chosen engine's lane", async () => {
  const lb = rc.loadBalancedView();
  const big = new Float64Array(300_000).fill(2); // 2.4 MB: above the size that takes a lane
  const first = lb.apply((a: Float64Array) => a.length * a[0]!, big);
  // Dependencies and placement work as for any load-balanced task.
  const second = lb
    .withFlags({ follow: first })
    .apply((a: Float64Array) => [a[1]! + 1, process.pid] as const, big);
  assert.equal(await first, 600_000);
  const [value, pid] = await second;
  assert.equal(value, 3);
  const [firstPid] = await rc.view([first.engineIds[0]!]).apply(() => process.pid);
  assert.equal(pid, firstPid, "follow ran it where the first one ran");
  // The controller knows the outcome (from the engine's record): another client can fetch it.
  const { Client } = await import("../../../engines/index.js");
  const other = await Client.connect(rc.info);
  try {
    assert.equal(await other.getResult(first.msgIds[0]!), 600_000);
  } finally {
    await other.close();
  }
  // Many of them at once: the high-water mark holds the rest in the controller until slots free.
  const many = Array.from({ length: 8 }, (_, i) =>
    lb.apply((a: Float64Array, k: number) => a[0]! * k, big, i),
  );
  assert.deepEqual(await Promise.all(many), [0, 2, 4, 6, 8, 10, 12, 14]);
});

test("work sent the moment a cluster is up is answered with the right engine ids", async () => {
  // A client can hear of an engine, open its lane and send a task before the engine has the
  // controller's answer to its registration; the engine holds such messages until it has.
  for (let round = 0; round < 3; round++) {
    const cluster = await startTestCluster({ n: 2 });
    const client = cluster.client!;
    const ar = client.view().execute("throw new RangeError('first task')");
    const err = await ar.then(
      () => assert.fail("the cell throws"),
      (e: unknown) => e as CompositeError,
    );
    assert.ok(err instanceof CompositeError);
    assert.deepEqual(
      err.errors.map((e) => (e as RemoteError).engineId),
      client.ids,
      "each error names the engine it came from",
    );
    await cluster.stop();
  }
});
