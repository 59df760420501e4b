import assert from "node:assert/strict";
import { connect, createServer, type Server, type Socket } from "node:net";
import { after, before, test } from "node:test";
import { MessageCodec } from "../../../engines/wire/protocol/message-codec.js";
import type { AnyMessage } from "../../../engines/wire/protocol/messages.js";
import { Signer } from "../../../engines/wire/protocol/signing.js";
import { StreamSocket } from "../../../engines/wire/transport/stream-socket.js";

/** An engine's end of lanes: what it received, and each connection's codec (for its drop counts). */
const received: AnyMessage[] = [];
const codecs: MessageCodec[] = [];
let server: Server;
let port: number;
const quiet = process.stderr.write;

before(async () => {
  process.stderr.write = (() => true) as typeof process.stderr.write; // drops are logged
  server = createServer({ pauseOnConnect: true }, (c) => {
    const codec = new MessageCodec(new Signer("cluster-key"), "engine", "test engine");
    codecs.push(codec);
    StreamSocket.accept(c, codec, (msg) => received.push(msg));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as { port: number }).port;
});
after(() => {
  process.stderr.write = quiet;
  server.close();
});

const settle = (ms = 200) => new Promise((r) => setTimeout(r, ms));

/** A client end of a lane with `key`; resolves once its handshake is done (or it closed). */
async function lane(key = "cluster-key"): Promise<{ lane: StreamSocket; ready: boolean }> {
  const lane = StreamSocket.connect(
    { host: "127.0.0.1", port },
    new MessageCodec(new Signer(key), "client", "test client"),
    () => {},
  );
  const ready = await new Promise<boolean>((resolve) => {
    lane.onReady = () => resolve(true);
    lane.socket.once("close", () => resolve(false));
  });
  return { lane, ready };
}

test("a peer without the key is closed after 52 bytes, before any frame length is believed", async () => {
  const before = codecs.length;
  const arrayBuffers = process.memoryUsage().arrayBuffers;
  const closed = await new Promise<{ hello: number; bytesWritten: number }>((resolve) => {
    let hello = 0;
    const s: Socket = connect({ host: "127.0.0.1", port }, () => {
      // The lane's magic, a nonce and a proof that is not one, then a lane header that claims one
      // frame of 256 MiB, and 4 MiB of it.
      s.write(Buffer.concat([Buffer.from("TSPL"), Buffer.alloc(48, 9)]));
      const head = Buffer.alloc(16);
      head.write("TSP2", 0, "latin1");
      head.writeUInt32LE(1, 4);
      head.writeUInt32LE(256 << 20, 8);
      s.write(head);
      s.write(Buffer.alloc(4 << 20, 1));
    });
    s.on("data", (d: Buffer) => {
      hello += d.length;
    });
    s.on("error", () => {});
    s.on("close", () => resolve({ hello, bytesWritten: s.bytesWritten }));
  });
  assert.equal(closed.hello, 20, "the engine sent its hello and nothing more");
  assert.equal(codecs.length, before + 1);
  assert.equal(codecs.at(-1)!.dropped.BAD_HANDSHAKE, 1);
  assert.ok(
    process.memoryUsage().arrayBuffers - arrayBuffers < 32 << 20,
    "no memory was taken for the frame it claimed",
  );
});

test("a client with another key fails the handshake at either end and sends nothing", async () => {
  const { lane: bad, ready } = await lane("another-key");
  assert.equal(ready, false);
  assert.equal(bad.codec.droppedTotal + codecs.at(-1)!.droppedTotal >= 1, true);
  assert.equal(codecs.at(-1)!.dropped.BAD_HANDSHAKE, 1);
});

test("messages sent before the handshake wait for it; the same frames again are dropped, on another connection they fail", async () => {
  const start = received.length;
  const first = StreamSocket.connect(
    { host: "127.0.0.1", port },
    new MessageCodec(new Signer("cluster-key"), "client", "test client"),
    () => {},
  );
  // Sent at once, before the connection's key is known: signed and written once it is.
  first.send("execute_request", { code: "1", silent: true });
  await new Promise<void>((r) => {
    first.onReady = r;
  });
  const { frames } = first.codec.encode("execute_request", { code: "2", silent: true });
  for (let i = 0; i < 3; i++) first.write(frames);
  await settle();
  assert.deepEqual(
    received.slice(start).map((m) => (m.content as { code: string }).code),
    ["1", "2"],
    "the early message arrived, and the repeated one once",
  );
  assert.equal(codecs.at(-1)!.dropped.REPLAYED, 2);
  const { lane: second, ready } = await lane();
  assert.ok(ready);
  second.write(frames); // signed with the first connection's key
  await settle();
  assert.equal(received.length, start + 2, "not run on another connection");
  assert.equal(codecs.at(-1)!.dropped.BAD_SIGNATURE, 1);
  first.close();
  second.close();
});

test("a peer that does not speak the lane protocol is closed at its first bytes", async () => {
  const closed = await new Promise<number>((resolve) => {
    const started = Date.now();
    const s = connect({ host: "127.0.0.1", port }, () => s.write("GET / HTTP/1.1\r\n"));
    s.resume();
    s.on("error", () => {});
    s.on("close", () => resolve(Date.now() - started));
  });
  assert.ok(closed < 1000, `closed after ${closed} ms`);
  assert.equal(codecs.at(-1)!.dropped.BAD_HANDSHAKE, 1);
});

test("a connection that never finishes its handshake is closed after 5 s", async () => {
  const started = Date.now();
  await new Promise<void>((resolve) => {
    const s = connect({ host: "127.0.0.1", port });
    s.resume(); // read the hello, and the end
    s.on("error", () => {});
    s.on("close", () => resolve());
  });
  const took = Date.now() - started;
  assert.ok(took >= 4500 && took < 8000, `closed after ${took} ms`);
});
