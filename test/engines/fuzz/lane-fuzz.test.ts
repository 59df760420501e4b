import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { MessageCodec } from "../../../engines/wire/protocol/message-codec.js";
import { ACCEPTS, type MsgType } from "../../../engines/wire/protocol/messages.js";
import { Signer } from "../../../engines/wire/protocol/signing.js";
import { StreamSocket } from "../../../engines/wire/transport/stream-socket.js";
import { tcpEndpoint } from "../../../engines/wire/transport/tcp-endpoint.js";
import { FuzzSource } from "../../helpers/fuzz-source.js";
import { rssMB } from "../../helpers/processes.js";
import { startTestCluster, stopTestClusters } from "../cluster-fixture.js";

after(stopTestClusters);

const closed = (s: Socket) =>
  new Promise<void>((r) => {
    if (s.destroyed) r();
    else s.once("close", () => r());
  });

test("10,000 hostile messages on an engine's lane: no crash, nothing run without the key, memory comes back", async (t) => {
  const cluster = await startTestCluster({ n: 1 });
  const rc = cluster.client!;
  const id = rc.ids[0]!;
  const [pid] = (await rc.view([id]).apply(() => process.pid)) as number[];
  const to = tcpEndpoint(rc.engines.get(id)!.lane!)!;
  const marks = mkdtempSync(join(tmpdir(), "tsp-lane-fuzz-"));
  t.after(() => rmSync(marks, { recursive: true, force: true }));
  const marker = join(marks, "ran");
  const code = `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "ran")`;
  const fuzz = new FuzzSource(20261207);
  const random = () => fuzz.next();
  const pick = <T>(xs: readonly T[]): T => fuzz.pick(xs);
  const bytes = (n: number) => fuzz.bytes(n);
  const junkValue = () =>
    fuzz.junkValue(["code", "fn", "msg_ids", "names", "ref", "offset", "length", "pid", "fd", "token", "x"]);
  await new Promise((r) => setTimeout(r, 1000));
  const idle = rssMB(pid!);
  let sent = 0;

  // 1. No key: random bytes, the lane's magic with a wrong proof, and frames claiming 4 GiB,
  //    100 connections of 50 writes each.
  for (let c = 0; c < 100; c++) {
    const s = connect(to);
    s.on("error", () => {});
    await new Promise((r) => s.once("connect", r));
    for (let i = 0; i < 50; i++, sent++) {
      const kind = (c + i) % 3;
      const chunk =
        kind === 0
          ? bytes(1 + Math.floor(random() * 300))
          : kind === 1
            ? Buffer.concat([Buffer.from("TSPL"), bytes(48)])
            : Buffer.concat([Buffer.from([0xff, 0xff, 0xff, 0xff]), bytes(64)]);
      if (!s.destroyed) s.write(chunk);
    }
    s.end();
    await Promise.race([closed(s), new Promise((r) => setTimeout(r, 200))]);
    s.destroy();
  }

  // 2. The wrong key: the handshake fails, so not even a well-formed task is read, let alone run.
  const wrongCodec = () => new MessageCodec(new Signer("not the cluster's key"), "mallory", "fuzz lane");
  for (let c = 0; c < 200; c++) {
    const lane = StreamSocket.connect(to, wrongCodec(), () => {});
    for (let i = 0; i < 5; i++, sent++) lane.send("execute_request", { code, silent: false } as never);
    await Promise.race([closed(lane.socket), new Promise((r) => setTimeout(r, 500))]);
    lane.socket.destroy();
  }

  // 3. The key, then malformed content of every type the lane takes and of some it refuses
  //    (4,000 messages over 20 lanes), and frames that break the framing after the handshake.
  const types = [
    ...ACCEPTS.engineFromLane,
    "registration_reply",
    "shutdown_request",
    "task_batch",
    "no_such",
  ];
  for (let c = 0; c < 20; c++) {
    const codec = new MessageCodec(new Signer(rc.info.key), "someone-with-the-key", "fuzz lane");
    const lane = StreamSocket.connect(to, codec, () => {});
    await new Promise((r) => lane.socket.once("connect", r));
    for (let i = 0; i < 200; i++, sent++) {
      const type = pick(types) as MsgType;
      // Task requests carry content that cannot run (numbers where code belongs, missing names).
      const content = type === "execute_request" ? { code: pick([5, null, [], {}]) } : junkValue();
      try {
        lane.send(type, content as never, {
          metadata: junkValue() as never,
          buffers: random() < 0.3 ? [bytes(64)] : [],
        });
      } catch {
        // The codec refuses to encode some junk itself: also fine, nothing went out.
      }
    }
    await new Promise((r) => setTimeout(r, 100));
    lane.socket.destroy();
  }
  for (let c = 0; c < 20; c++) {
    const codec = new MessageCodec(new Signer(rc.info.key), "someone-with-the-key", "fuzz lane");
    const lane = StreamSocket.connect(to, codec, () => {});
    await new Promise<void>((r) => {
      lane.onReady = () => r();
      setTimeout(r, 2000);
    });
    for (let i = 0; i < 50; i++, sent++)
      if (!lane.closed) lane.socket.write(bytes(1 + Math.floor(random() * 500)));
    await Promise.race([closed(lane.socket), new Promise((r) => setTimeout(r, 300))]);
    lane.socket.destroy();
  }
  assert.ok(sent >= 10_000, `${sent} messages`);

  // The engine carries on, the same process, and nothing ran without the key.
  assert.deepEqual(await rc.view([id]).apply(() => process.pid), [pid]);
  assert.deepEqual(await rc.view([id]).apply((a: number, b: number) => a + b, 40, 2), [42]);
  assert.equal(existsSync(marker), false, "nothing sent with another key ran");
  // Memory: once the engine has been quiet a while, it is back near its idle size.
  await new Promise((r) => setTimeout(r, 4000));
  const now = rssMB(pid!);
  t.diagnostic(`engine RSS idle ${idle.toFixed(0)} MB, after ${sent} messages ${now.toFixed(0)} MB`);
  assert.ok(now < idle * 1.5, `engine RSS ${idle.toFixed(0)} → ${now.toFixed(0)} MB`);
});
