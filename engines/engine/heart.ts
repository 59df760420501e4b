/**
 * The engine's heart: echoes the controller's heartbeat pings from a libzmq proxy (a SUB socket
 * that hears the controller's PUB, forwarding into a DEALER that reaches its ROUTER), run by
 * zeromq.js in a libuv pool thread. An engine busy in a long synchronous task therefore still
 * answers; only a process that is gone or stopped falls silent. A native thread costs next to
 * no memory, where a Node worker thread costs ~10 MB.
 */
import process from "node:process";
import { Dealer, Subscriber, Proxy as ZmqProxy } from "zeromq";
import type { Signer } from "../wire/protocol/signing.js";
import { controllerCredentials } from "../wire/transport/controller-auth.js";

/** How often the heart's link to the controller is probed, and how long it may stay silent. */
const LINK_PING_MS = 1_000;
const LINK_TIMEOUT_MS = 5_000;

export class Heart {
  readonly #proxy: ZmqProxy<Subscriber, Dealer>;
  readonly #ended: Promise<void>;

  /**
   * `identity` is how the controller knows this heart (sent at registration). `onLink` hears when
   * the echo socket's connection to the controller goes down or comes back. That socket also runs
   * ZeroMQ's own heartbeats (answered by the I/O threads at both ends, so a busy engine or
   * controller is fine), which turn a link that goes silent without closing (a cut cable) into a
   * disconnect. They belong here and not on the task socket: a heartbeat times out when no whole
   * frame arrives in time, which a large task frame on a slow link would cause; echoes are tiny.
   */
  constructor(
    pingUrl: string,
    echoUrl: string,
    identity: string,
    signer: Signer,
    encrypted: boolean,
    onLink: (up: boolean) => void,
  ) {
    const credentials = controllerCredentials(signer, encrypted);
    const pings = new Subscriber({ linger: 0, ...credentials });
    pings.subscribe();
    pings.connect(pingUrl);
    const echoes = new Dealer({
      routingId: identity,
      ...credentials,
      linger: 0,
      heartbeatInterval: LINK_PING_MS,
      heartbeatTimeout: LINK_TIMEOUT_MS,
    });
    // Observed before the proxy takes the socket over.
    echoes.events.on("disconnect", () => onLink(false));
    echoes.events.on("connect", () => onLink(true));
    echoes.connect(echoUrl);
    this.#proxy = new ZmqProxy(pings, echoes);
    this.#ended = this.#proxy.run().catch((e: Error) => {
      process.stderr.write(`[tsparallel engine] heart stopped: ${e.message}\n`);
    });
  }

  /** Ends the proxy and closes its sockets (a process must not exit under a running proxy). */
  async stop(): Promise<void> {
    try {
      this.#proxy.terminate();
    } catch {
      // already ended
    }
    await this.#ended;
  }
}
