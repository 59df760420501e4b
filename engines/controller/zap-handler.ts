import { timingSafeEqual } from "node:crypto";
import { Reply } from "zeromq";
import type { Signer } from "../wire/protocol/signing.js";
import { PLAIN_USERNAME, plainPassword, ZAP_DOMAIN } from "../wire/transport/controller-auth.js";

/** Where libzmq asks a process's ZAP handler (ZMQ RFC 27). */
const ZAP_ENDPOINT = "inproc://zeromq.zap.01";

/**
 * The controller's ZAP handler: libzmq asks it about every connection to a socket with PLAIN
 * security, during the handshake, and admits only the cluster's password (see
 * wire/transport/controller-auth.ts). It must be bound before the sockets it guards: without a
 * handler, libzmq admits any PLAIN peer. One connection costs one round trip through this
 * process's event loop; messages cost nothing.
 */
export class ZapHandler {
  readonly #socket = new Reply({ linger: 0 });
  readonly #password: Buffer;
  /** Connections turned away. */
  refused = 0;

  constructor(signer: Signer) {
    this.#password = Buffer.from(plainPassword(signer));
  }

  /** Binds the handler; resolves once libzmq will ask it. */
  async start(): Promise<void> {
    await this.#socket.bind(ZAP_ENDPOINT);
    void this.#serve();
  }

  async #serve(): Promise<void> {
    try {
      for await (const request of this.#socket) {
        const [version, id, domain, , , mechanism, user, password] = request;
        const ok =
          domain?.toString() === ZAP_DOMAIN &&
          mechanism?.toString() === "PLAIN" &&
          user?.toString() === PLAIN_USERNAME &&
          password !== undefined &&
          password.length === this.#password.length &&
          timingSafeEqual(password, this.#password);
        if (!ok) this.refused++;
        await this.#socket.send([
          version ?? "1.0",
          id ?? "",
          ok ? "200" : "400",
          ok ? "OK" : "not this cluster's key",
          ok ? PLAIN_USERNAME : "",
          "",
        ]);
      }
    } catch {
      // closed: the controller is stopping
    }
  }

  /** Stops answering (the controller's sockets are closed first). */
  close(): void {
    this.#socket.close();
  }
}
