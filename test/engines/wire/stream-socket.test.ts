import assert from "node:assert/strict";
import { test } from "node:test";
import { FrameParser, frameStream } from "../../../engines/wire/transport/frame-parser.js";
import { SendArena } from "../../../engines/wire/transport/send-arena.js";

/** A few messages of varied frame sizes (empty, tiny, just above a read, several reads). */
function messages(): Buffer[][] {
  const fill = (n: number, seed: number) =>
    Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 255));
  return [
    [fill(9, 1), fill(64, 2), Buffer.alloc(0), fill(3, 3)],
    [fill(70_000, 4)],
    [fill(5, 5), fill(600_000, 6), fill(17, 7)],
  ];
}

function bytesOf(msgs: Buffer[][]): Buffer {
  return Buffer.concat(msgs.flatMap((m) => frameStream(m)));
}

test("the frame parser rebuilds messages however the stream is cut", () => {
  const msgs = messages();
  const stream = bytesOf(msgs);
  for (const cut of [1, 7, 4096, 65_536, stream.length]) {
    const parser = new FrameParser();
    const out: Buffer[][] = [];
    for (let at = 0; at < stream.length; at += cut) out.push(...parser.push(stream.subarray(at, at + cut)));
    assert.equal(out.length, msgs.length, `cut ${cut}`);
    for (const [i, m] of out.entries())
      for (const [j, f] of m.entries())
        assert.ok(f.equals(msgs[i]![j]!), `cut ${cut}: message ${i} frame ${j}`);
  }
});

test("reading straight into frames (a connecting lane) gives the same messages, never views of reused memory", () => {
  const msgs = messages();
  const stream = bytesOf(msgs);
  const parser = new FrameParser();
  const out: Buffer[][] = [];
  let at = 0;
  const scratch = parser.readBuffer(); // no frame is being filled yet: this is the reused memory
  while (at < stream.length) {
    const into = parser.readBuffer();
    const n = Math.min(into.length, stream.length - at, 50_000); // the kernel hands over at most this much
    stream.copy(into, 0, at, at + n);
    at += n;
    out.push(...parser.consumed(n, into));
    if (into.buffer === scratch.buffer) scratch.fill(0xee); // the next read overwrites it
  }
  assert.equal(out.length, msgs.length);
  for (const [i, m] of out.entries())
    for (const [j, f] of m.entries()) assert.ok(f.equals(msgs[i]![j]!), `message ${i} frame ${j}`);
});

test("a parser told to wait for a frame's place stops there, keeps what came, and lands the frame where told", () => {
  const msgs = messages();
  const stream = bytesOf(msgs);
  const big = msgs[2]![1]!; // the 600 kB frame
  const place = new Uint8Array(big.length + 16).subarray(8, 8 + big.length);
  let answer: "wait" | Uint8Array = "wait";
  let asked = 0;
  const parser = new FrameParser(undefined, (before, length) => {
    if (length !== big.length) return undefined;
    asked++;
    assert.equal(before.length, 1, "the frames before it are known");
    return answer;
  });
  let woken = 0;
  parser.onWake = () => woken++;
  const out: Buffer[][] = [];
  const cut = 4096;
  let at = 0;
  for (; at < stream.length && !parser.waiting; at += cut)
    out.push(...parser.push(stream.subarray(at, at + cut)));
  assert.equal(parser.waiting, true);
  assert.equal(out.length, 2, "the messages before the waiting frame are delivered");
  // Bytes that still come in (reading stopped late) are kept for later, not parsed.
  out.push(...parser.push(stream.subarray(at, at + cut)));
  at += cut;
  assert.equal(out.length, 2);
  answer = place;
  out.push(...parser.resume());
  assert.equal(parser.waiting, false);
  for (; at < stream.length; at += cut) out.push(...parser.push(stream.subarray(at, at + cut)));
  assert.equal(asked, 2, "asked again after the wait");
  assert.equal(out.length, 3);
  const landed = out[2]![1]!;
  assert.equal(landed.buffer, place.buffer, "the frame is the memory it was told to use");
  assert.equal(landed.byteOffset, place.byteOffset);
  for (const [i, m] of out.entries())
    for (const [j, f] of m.entries()) assert.ok(f.equals(msgs[i]![j]!), `message ${i} frame ${j}`);
  assert.equal(woken, 0, "only the one that placed it wakes a parser");
});

test("a stream that is not the lane protocol is refused", () => {
  assert.throws(() => new FrameParser().push(Buffer.from("GET / HTTP/1.1\r\n\r\n")), /does not speak/);
  const older = Buffer.from("TSP1\x01\x00\x00\x00", "latin1"); // the lane protocol before MAC trailers
  assert.throws(() => new FrameParser().push(older), /another version .* same tsparallel version everywhere/);
  const bad = Buffer.alloc(8);
  bad.write("TSP2", 0, "latin1");
  bad.writeUInt32LE(0, 4);
  assert.throws(() => new FrameParser().push(bad), /announces 0 frames/);
});

test("the send arena lends released memory again, and never memory still being sent", () => {
  const arena = new SendArena();
  const a = arena.lease(1000);
  const b = arena.lease(1000);
  assert.notEqual(a.bytes.buffer, b.bytes.buffer, "two sends in flight get separate memory");
  a.release();
  a.release(); // twice is harmless
  const c = arena.lease(900);
  assert.equal(c.bytes.buffer, a.bytes.buffer, "released memory is reused");
  assert.equal(c.bytes.length, 900);
  const d = arena.lease(100);
  assert.notEqual(d.bytes.buffer, a.bytes.buffer, "in use again until released");
  c.release();
  assert.notEqual(
    arena.lease(100).bytes.buffer,
    a.bytes.buffer,
    "much larger idle memory is not lent for a small send",
  );
  assert.equal(arena.idleBytes, 1000);
});

test("a lane authenticates large buffers while they arrive; a flipped byte is still caught", async () => {
  const { MessageCodec } = await import("../../../engines/wire/protocol/message-codec.js");
  const { Signer } = await import("../../../engines/wire/protocol/signing.js");
  // The same frames are decoded more than once here: not a replay to drop.
  const codec = new MessageCodec(new Signer("k"), "s", "test lane", "receiver", { replays: "accept" });
  const payload = Buffer.alloc(3 << 20, 7);
  payload.writeUInt32LE(0xdeadbeef, 1 << 20);
  const { frames } = codec.encode("push_request", { names: ["a"] } as never, {
    buffers: [Buffer.alloc(10, 1), payload],
  });
  const stream = Buffer.concat(frameStream(frames));
  const flipAt = stream.length - 100_000; // inside the large buffer
  let watched = 0;
  const watch = (before: readonly Buffer[], frame: Buffer) => {
    const w = codec.watchFrame(before, frame);
    if (w) watched++;
    return w;
  };
  for (const tamper of [false, true]) {
    const bytes = Buffer.from(stream);
    if (tamper) bytes[flipAt]! ^= 1;
    for (const inPlace of [true, false]) {
      const parser = new FrameParser(watch);
      const got: Buffer[][] = [];
      for (let at = 0; at < bytes.length; ) {
        const into = inPlace ? parser.readBuffer() : Buffer.allocUnsafe(60_000);
        const n = Math.min(into.length, bytes.length - at, 300_000);
        bytes.copy(into, 0, at, at + n);
        at += n;
        got.push(
          ...(inPlace
            ? parser.consumed(n, into)
            : parser.push(Buffer.from(into.buffer, into.byteOffset, n), true)),
        );
      }
      assert.equal(got.length, 1);
      const before = codec.droppedTotal;
      const msg = codec.decode(got[0]!);
      if (tamper) {
        assert.equal(msg, undefined, `in place: ${inPlace}`);
        assert.equal(codec.droppedTotal, before + 1);
        assert.equal(codec.dropped.BAD_BUFFER_MAC, inPlace ? 1 : 2);
      } else {
        assert.ok(msg, `in place: ${inPlace}`);
        assert.equal(msg!.buffers[1]!.readUInt32LE(1 << 20), 0xdeadbeef);
      }
    }
  }
  assert.equal(watched, 4, "every large buffer was tagged on the way in");
});

test("a lane sends large buffers' tags in a trailer computed while they are written; tampering is still caught", async () => {
  const { LATE_TAGS_MIN, MessageCodec } = await import("../../../engines/wire/protocol/message-codec.js");
  const { Signer } = await import("../../../engines/wire/protocol/signing.js");
  const codec = new MessageCodec(new Signer("k"), "s", "test lane");
  const payload = Buffer.alloc(LATE_TAGS_MIN + (1 << 20), 3);
  payload.writeUInt32LE(0xfeedface, LATE_TAGS_MIN);
  const second = Buffer.alloc(70_000, 5); // large enough for a tag of its own
  const encode = () =>
    codec.encode(
      "push_request",
      { names: ["a", "b"] } as never,
      { buffers: [Buffer.alloc(10, 1), payload, second] },
      true,
    );
  const receive = (frames: readonly Uint8Array[]) => {
    const parser = new FrameParser((before, frame) => codec.watchFrame(before, frame));
    const got = parser.push(Buffer.concat(frameStream(frames, true)));
    assert.equal(got.length, 1);
    return codec.decode(got[0]!);
  };
  const quiet = process.stderr.write;
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    assert.equal(
      codec.encode("push_request", { names: ["a"] } as never, { buffers: [second] }, true).tagged,
      undefined,
      "a small payload is tagged at once",
    );
    const { frames, tagged } = encode();
    assert.ok(tagged, "a large enough payload gets its tags late");
    const trailer = frames.at(-1)!;
    assert.equal(trailer.byteLength, 48, "one 16-byte tag per buffer");
    assert.ok(
      trailer.every((b) => b === 0),
      "nothing is tagged before the event loop turns",
    );
    await tagged;
    assert.ok(
      trailer.subarray(16, 32).some((b) => b !== 0) && trailer.subarray(32).some((b) => b !== 0),
      "the large buffers' tags are in",
    );
    assert.ok(
      trailer.subarray(0, 16).every((b) => b === 0),
      "the small buffer (signed with the message) has no tag",
    );
    const ok = receive(frames);
    assert.ok(ok);
    assert.equal(ok!.buffers.length, 3, "the trailer is not handed on as a buffer");
    assert.equal(ok!.buffers[1]!.readUInt32LE(LATE_TAGS_MIN), 0xfeedface);
    assert.equal(ok!.metadata.buffer_macs, undefined);

    const tamper = async (change: (frames: Uint8Array[]) => Uint8Array[]) => {
      const e = encode();
      await e.tagged;
      const before = { ...codec.dropped };
      assert.equal(receive(change(e.frames.map((f) => Buffer.from(f)))), undefined);
      return Object.keys(codec.dropped).find(
        (k) => codec.dropped[k as "BAD_SIGNATURE"] !== before[k as "BAD_SIGNATURE"],
      );
    };
    // A flipped payload byte, a flipped tag, or a tag slipped in for the small buffer.
    const flip = (frame: number, at: number) => (f: Uint8Array[]) => {
      f.at(frame)![at]! ^= 1;
      return f;
    };
    assert.equal(await tamper(flip(-3, 12345)), "BAD_BUFFER_MAC");
    assert.equal(await tamper(flip(-1, 20)), "BAD_BUFFER_MAC");
    assert.equal(await tamper(flip(-1, 3)), "BAD_BUFFER_MAC");
    // A trailer cut short, or missing (the last buffer then stands where the trailer should be).
    assert.equal(await tamper((f) => [...f.slice(0, -1), f.at(-1)!.subarray(0, 32)]), "BAD_BUFFER_MAC");
    assert.equal(await tamper((f) => f.slice(0, -1)), "BAD_BUFFER_MAC");
    // The last buffer dropped along with its tag: the signed metadata counts the buffers.
    assert.equal(await tamper((f) => [...f.slice(0, -2), f.at(-1)!.subarray(0, 32)]), "BAD_BUFFER_MAC");
    // Metadata that no longer announces the trailer, or announces fewer buffers, is not what was signed.
    const meta = (change: (macs: { trailer?: number }) => void) => (f: Uint8Array[]) => {
      const m = JSON.parse(Buffer.from(f[4]!).toString()) as { buffer_macs: { trailer?: number } };
      change(m.buffer_macs);
      f[4] = Buffer.from(JSON.stringify(m));
      return f;
    };
    assert.equal(
      await tamper(
        meta((m) => {
          delete m.trailer;
        }),
      ),
      "BAD_SIGNATURE",
    );
    assert.equal(
      await tamper(
        meta((m) => {
          m.trailer = 2;
        }),
      ),
      "BAD_SIGNATURE",
    );
  } finally {
    process.stderr.write = quiet;
  }
});

test("a lane keeps message order while a trailer waits for its tags", async () => {
  const { createServer } = await import("node:net");
  const { MessageCodec } = await import("../../../engines/wire/protocol/message-codec.js");
  const { Signer } = await import("../../../engines/wire/protocol/signing.js");
  const { StreamSocket } = await import("../../../engines/wire/transport/stream-socket.js");
  const signer = new Signer("k");
  const received: { type: string; bytes: number; tail: number }[] = [];
  let allIn: () => void;
  const done = new Promise<void>((r) => {
    allIn = r;
  });
  const server = createServer({ pauseOnConnect: true }, (c) => {
    StreamSocket.accept(c, new MessageCodec(signer, "srv", "test server"), (msg) => {
      const big = msg.buffers[0];
      received.push({
        type: msg.header.msg_type,
        bytes: big?.byteLength ?? 0,
        tail: big && big.byteLength >= 8 ? big.readUInt32LE(big.byteLength - 4) : -1,
      });
      if (received.length === 5) allIn();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as { port: number }).port;
  const lane = StreamSocket.connect(
    { host: "127.0.0.1", port },
    new MessageCodec(signer, "cli", "test client"),
    () => {},
  );
  try {
    const big = (n: number, tail: number) => {
      const b = Buffer.alloc(n << 20, 1);
      b.writeUInt32LE(tail, b.byteLength - 4);
      return b;
    };
    const flushed: number[] = [];
    // Two trailered messages (9 and 12 MiB), one tagged at once (3 MiB) and small ones, all sent
    // in one tick, then the lane closed: everything still arrives, in order.
    lane.send("push_request", { names: ["a"] } as never, { buffers: [big(9, 1)] }, () => flushed.push(1));
    lane.send("apply_request", {} as never);
    lane.send("push_request", { names: ["b"] } as never, { buffers: [big(3, 2)] }, () => flushed.push(2));
    lane.send("push_request", { names: ["c"] } as never, { buffers: [big(12, 3)] }, () => flushed.push(3));
    lane.send("execute_request", { code: "" } as never);
    lane.close();
    assert.equal(lane.write([Buffer.from("late")]), false, "a closing lane takes no new writes");
    await done;
    assert.deepEqual(received, [
      { type: "push_request", bytes: 9 << 20, tail: 1 },
      { type: "apply_request", bytes: 0, tail: -1 },
      { type: "push_request", bytes: 3 << 20, tail: 2 },
      { type: "push_request", bytes: 12 << 20, tail: 3 },
      { type: "execute_request", bytes: 0, tail: -1 },
    ]);
    assert.deepEqual(flushed, [1, 2, 3], "each large send reports when its bytes (trailer included) are out");
  } finally {
    lane.close();
    server.close();
  }
});
