import assert from "node:assert/strict";
import { createServer, type Server } from "node:net";
import { after, before, test } from "node:test";
import { MessageCodec } from "../../../engines/wire/protocol/message-codec.js";
import type { AnyMessage } from "../../../engines/wire/protocol/messages.js";
import { Signer } from "../../../engines/wire/protocol/signing.js";
import { StreamSocket } from "../../../engines/wire/transport/stream-socket.js";
import { RecordingProxy } from "../../helpers/recording-proxy.js";

const KEY = "cluster-key";
const MARKER = "a-secret-the-wire-must-not-show";
/** A payload whose plain bytes are easy to find: the marker over and over. */
const PAYLOAD = Buffer.alloc(3 << 20, MARKER);

/** Two engine ends of lanes, one plain and one encrypted, each with what it received. */
const ends = new Map<
  boolean,
  { server: Server; port: number; received: AnyMessage[]; codecs: MessageCodec[] }
>();
const quiet = process.stderr.write;

before(async () => {
  process.stderr.write = (() => true) as typeof process.stderr.write; // refused lanes are logged
  for (const encrypted of [false, true]) {
    const end = { received: [] as AnyMessage[], codecs: [] as MessageCodec[], port: 0 } as {
      server: Server;
      port: number;
      received: AnyMessage[];
      codecs: MessageCodec[];
    };
    end.server = createServer({ pauseOnConnect: true }, (c) => {
      const codec = new MessageCodec(new Signer(KEY), "engine", "test engine");
      end.codecs.push(codec);
      StreamSocket.accept(
        c,
        codec,
        (msg, lane) => {
          end.received.push(msg);
          lane.send("apply_reply", { status: "ok" } as never, { parent: msg.header, buffers: msg.buffers });
        },
        { encrypted },
      );
    });
    await new Promise<void>((r) => end.server.listen(0, "127.0.0.1", r));
    end.port = (end.server.address() as { port: number }).port;
    ends.set(encrypted, end);
  }
});
after(() => {
  process.stderr.write = quiet;
  for (const end of ends.values()) end.server.close();
});

/** Sends one task with the payload through a recording proxy; returns the reply and the wire's bytes. */
async function roundTrip(encrypted: boolean): Promise<{ reply: AnyMessage; wire: Buffer }> {
  const proxy = await RecordingProxy.start({ host: "127.0.0.1", port: ends.get(encrypted)!.port });
  try {
    const reply = await new Promise<AnyMessage>((resolve, reject) => {
      const lane = StreamSocket.connect(
        { host: "127.0.0.1", port: proxy.port },
        new MessageCodec(new Signer(KEY), "client", "test client"),
        (msg) => {
          resolve(msg);
          lane.close();
        },
        { encrypted },
      );
      lane.socket.once("close", () => reject(new Error("the lane closed before the reply")));
      lane.send("apply_request", { fn: `() => "${MARKER}"`, name: "f", mode: "call" } as never, {
        buffers: [PAYLOAD],
      });
    });
    return { reply, wire: proxy.seen };
  } finally {
    proxy.close();
  }
}

test("an encrypted lane carries a task and its reply, and the wire shows none of their bytes", async () => {
  const { reply, wire } = await roundTrip(true);
  assert.equal(reply.header.msg_type, "apply_reply");
  assert.ok(Buffer.from(reply.buffers[0]!).equals(PAYLOAD), "the payload came back whole");
  assert.ok(wire.length > 2 * PAYLOAD.length, `both ways passed the proxy (${wire.length} bytes)`);
  assert.equal(wire.indexOf(MARKER), -1, "the marker is not on the wire");
  assert.equal(wire.indexOf("apply_request"), -1, "nor the message type");
  assert.equal(wire.indexOf("TSPL"), -1, "nor the lane's own handshake");
  const last = ends.get(true)!.received.at(-1)!;
  assert.equal((last.content as { fn: string }).fn, `() => "${MARKER}"`);
});

test("the same task on a plain lane shows its bytes on the wire (what the encrypted test rules out)", async () => {
  const { reply, wire } = await roundTrip(false);
  assert.ok(Buffer.from(reply.buffers[0]!).equals(PAYLOAD));
  assert.notEqual(wire.indexOf(MARKER), -1);
  assert.notEqual(wire.indexOf("apply_request"), -1);
});

test("an encrypted lane of another key fails TLS: the engine is closed to it and receives nothing", async () => {
  const end = ends.get(true)!;
  const before = end.received.length;
  const codecsBefore = end.codecs.length;
  const closed = await new Promise<boolean>((resolve) => {
    const lane = StreamSocket.connect(
      { host: "127.0.0.1", port: end.port },
      new MessageCodec(new Signer("another-key"), "client", "test client"),
      () => {},
      { encrypted: true },
    );
    lane.onReady = () => resolve(false);
    lane.socket.once("close", () => resolve(true));
    lane.send("apply_request", { fn: "() => 1", name: "f", mode: "call" } as never);
  });
  assert.ok(closed, "the lane never opened");
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(end.received.length, before);
  const codec = end.codecs[codecsBefore]!;
  assert.equal(codec.dropped.BAD_HANDSHAKE, 1, "the engine counts the refused lane");
});

test("a plain client cannot talk to an encrypted engine: its bytes are not a TLS hello", async () => {
  const end = ends.get(true)!;
  const before = end.received.length;
  const closed = await new Promise<boolean>((resolve) => {
    const lane = StreamSocket.connect(
      { host: "127.0.0.1", port: end.port },
      new MessageCodec(new Signer(KEY), "client", "test client"),
      () => {},
    );
    lane.onReady = () => resolve(false);
    lane.socket.once("close", () => resolve(true));
    // The lane's client waits for the engine's hello, which TLS never sends: write first, as a
    // peer that is not a lane would.
    lane.socket.write("TSPL not a TLS record\r\n");
  });
  assert.ok(closed);
  assert.equal(end.received.length, before);
});
