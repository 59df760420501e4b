/**
 * The engine's heart: a worker thread that answers the controller's heartbeat pings.
 *
 * It runs beside the main thread so that an engine busy in a long synchronous task still counts
 * as alive; only a process that is gone, stopped or wedged in native code stops answering. It
 * reads the main thread's status (busy, queue length) from shared memory.
 */
import { hostname } from "node:os";
import { parentPort, workerData } from "node:worker_threads";
import { Dealer } from "zeromq";
import { ENGINE_SIGNALS, type Message } from "../wire/messages.js";
import { SignedSocket } from "../wire/signed-socket.js";
import { Signer } from "../wire/signing.js";

/** What the engine passes to its heart. */
export interface HeartData {
  url: string;
  key: string;
  identity: string;
  /** Int32Array view: [busy (0/1), queued]. */
  status: SharedArrayBuffer;
}

async function beat(data: HeartData): Promise<void> {
  const status = new Int32Array(data.status);
  const dealer = new Dealer({ routingId: data.identity, linger: 0 });
  dealer.connect(data.url);
  const sock = new SignedSocket(dealer, new Signer(data.key), data.identity, `heart ${hostname()}`);
  parentPort?.on("message", (m) => {
    if (m !== "stop") return;
    dealer.close();
    parentPort?.close();
  });
  try {
    for await (const msg of sock.messages()) {
      if (msg.header.msg_type === "signal_request") {
        // How a controller on another host interrupts (or stops) this engine.
        const { signal } = (msg as Message<"signal_request">).content;
        if ((ENGINE_SIGNALS as readonly string[]).includes(signal)) process.kill(process.pid, signal);
        continue;
      }
      if (msg.header.msg_type !== "heartbeat_ping") continue;
      void sock.send(
        "heartbeat_pong",
        {
          seq: (msg.content as { seq: number }).seq,
          busy: Atomics.load(status, 0) === 1,
          queued: Atomics.load(status, 1),
          rss: process.memoryUsage.rss(),
        },
        { parent: msg.header },
      );
    }
  } catch {
    // closed while receiving: we are stopping
  }
}

if (workerData) void beat(workerData as HeartData);
