/**
 * The signal thread of an engine its controller does not signal by pid (another host, or started
 * by hand): a worker that takes the controller's `signal_request` and signals its own process. It
 * runs beside the main thread, so a SIGINT reaches an engine busy in a long synchronous task. It
 * is also that engine's last guard against outliving its controller: the main thread exits on its
 * own when the controller goes, unless it is stuck in synchronous code; then this thread kills it.
 * Engines a launcher started on the controller's host have none: the controller signals them, and
 * the kernel kills them when it dies (see local-launcher.ts).
 */
import { parentPort, workerData } from "node:worker_threads";
import { Dealer } from "zeromq";
import { silentController } from "../controller-presence.js";
import { ENGINE_SIGNALS, type Message } from "../wire/protocol/messages.js";
import { Signer } from "../wire/protocol/signing.js";
import { controllerCredentials } from "../wire/transport/controller-auth.js";
import { SignedSocket } from "../wire/transport/signed-socket.js";

/** What the engine passes to its signal thread. */
export interface SignalThreadData {
  url: string;
  key: string;
  /** The cluster encrypts its traffic (ConnectionInfo.encrypted). */
  encrypted: boolean;
  identity: string;
  /** The controller's pid when it runs on this host (a paused controller is waited for). */
  controllerPidHere?: number;
}

/** How often this thread's link to the controller is probed, and how long it may stay silent. */
const LINK_PING_MS = 1_000;
const LINK_TIMEOUT_MS = 5_000;
/**
 * How long the controller may stay unreachable before this thread kills its engine. Longer than
 * the main thread's own grace, so an engine that can still exit by itself does.
 */
const WATCHDOG_MS = 10_000;

/**
 * Kills this process once the controller has been unreachable for {@link WATCHDOG_MS} (a
 * controller on this host whose process still exists is paused, and is waited for).
 */
function watchdog(dealer: Dealer, data: SignalThreadData): void {
  let downSince: number | undefined;
  let connected = false;
  dealer.events.on("handshake", () => {
    connected = true;
    downSince = undefined;
  });
  dealer.events.on("disconnect", () => {
    if (connected) downSince ??= Date.now();
  });
  setInterval(() => {
    if (downSince === undefined || Date.now() - downSince < WATCHDOG_MS) return;
    if (silentController(data.controllerPidHere) === "paused") return;
    process.kill(process.pid, "SIGKILL");
  }, 1000).unref();
}

async function listen(data: SignalThreadData): Promise<void> {
  const signer = new Signer(data.key);
  const dealer = new Dealer({
    routingId: data.identity,
    linger: 0,
    heartbeatInterval: LINK_PING_MS,
    heartbeatTimeout: LINK_TIMEOUT_MS,
    ...controllerCredentials(signer, data.encrypted),
  });
  watchdog(dealer, data);
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
