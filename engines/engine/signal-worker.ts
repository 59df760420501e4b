/**
 * The signal thread of an engine on another host than its controller: a worker that takes the
 * controller's `signal_request` and signals its own process. It runs beside the main thread, so
 * a SIGINT reaches an engine busy in a long synchronous task. Local engines have none: their
 * controller signals them directly.
 */
import { parentPort, workerData } from "node:worker_threads";
import { Dealer } from "zeromq";
import { ENGINE_SIGNALS, type Message } from "../wire/protocol/messages.js";
import { Signer } from "../wire/protocol/signing.js";
import { controllerCredentials } from "../wire/transport/controller-auth.js";
import { SignedSocket } from "../wire/transport/signed-socket.js";

/** What the engine passes to its signal thread. */
export interface SignalThreadData {
  url: string;
  key: string;
  identity: string;
}

async function listen(data: SignalThreadData): Promise<void> {
  const signer = new Signer(data.key);
  const dealer = new Dealer({ routingId: data.identity, linger: 0, ...controllerCredentials(signer) });
  // The engine registers once this is connected (its handshake done): the controller's ROUTER
  // drops what it sends to a routing id it does not know yet.
  dealer.events.on("handshake", () => parentPort?.postMessage("connected"));
  dealer.connect(data.url);
  const sock = new SignedSocket(dealer, signer, data.identity, "engine signals");
  parentPort?.on("message", (m) => {
    if (m !== "stop") return;
    dealer.close();
    parentPort?.close();
  });
  try {
    for await (const msg of sock.messages()) {
      if (msg.header.msg_type !== "signal_request") continue;
      const { signal } = (msg as Message<"signal_request">).content;
      if ((ENGINE_SIGNALS as readonly string[]).includes(signal)) process.kill(process.pid, signal);
    }
  } catch {
    // closed while receiving: we are stopping
  }
}

if (workerData) void listen(workerData as SignalThreadData);
