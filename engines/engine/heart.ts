/**
 * The engine's heart: echoes the controller's heartbeat pings from a libzmq proxy (a SUB socket
 * that hears the controller's PUB, forwarding into a DEALER that reaches its ROUTER), run by
 * zeromq.js in a libuv pool thread. An engine busy in a long synchronous task therefore still
 * answers; only a process that is gone or stopped falls silent. A native thread costs next to
 * no memory, where a Node worker thread costs ~10 MB.
 */
import process from "node:process";
import { Dealer, Subscriber, Proxy as ZmqProxy } from "zeromq";

export class Heart {
  readonly #proxy: ZmqProxy<Subscriber, Dealer>;
  readonly #ended: Promise<void>;

  /** `identity` is how the controller knows this heart (sent at registration). */
  constructor(pingUrl: string, echoUrl: string, identity: string) {
    const pings = new Subscriber({ linger: 0 });
    pings.subscribe();
    pings.connect(pingUrl);
    const echoes = new Dealer({ routingId: identity, linger: 0 });
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
