import { timingSafeEqual } from "node:crypto";
import { Reply } from "zeromq";
import type { Signer } from "../wire/protocol/signing.js";
import { PLAIN_USERNAME, plainPassword, ZAP_DOMAIN } from "../wire/transport/controller-auth.js";
import { clusterCurveKeys } from "../wire/transport/curve-keys.js";

/** Where libzmq asks a process's ZAP handler (ZMQ RFC 27). */
const ZAP_ENDPOINT = "inproc://zeromq.zap.01";

/**
 * The controller's ZAP handler: libzmq asks it about every connection to the controller's sockets,
 * during the handshake, and it admits only the cluster's PLAIN password, or on an encrypted
 * cluster only the CURVE public key derived from the cluster key (see
 * wire/transport/controller-auth.ts). It must be bound before the sockets it guards: without a
 * handler, libzmq admits any peer. One connection costs one round trip through this process's
 * event loop; messages cost nothing.
 */
export class ZapHandler {
  readonly #socket = new Reply({ linger: 0 });
  /** The mechanism admitted, and the credential it must present. */
  readonly #mechanism: "PLAIN" | "CURVE";
  readonly #credential: Buffer;
  /** Connections turned away. */
  refused = 0;

  constructor(signer: Signer, encrypted: boolean) {
    this.#mechanism = encrypted ? "CURVE" : "PLAIN";
    this.#credential = encrypted ? clusterCurveKeys(signer).memberPublic : Buffer.from(plainPassword(signer));
  }

  /** True when a request's mechanism and credentials are this cluster's. */
  #admits(mechanism: string | undefined, credentials: (Buffer | undefined)[]): boolean {
    if (mechanism !== this.#mechanism) return false;
    // PLAIN gives a user name and a password; CURVE the client's public key.
    if (this.#mechanism === "PLAIN" && credentials[0]?.toString() !== PLAIN_USERNAME) return false;
    const secret = credentials[this.#mechanism === "PLAIN" ? 1 : 0];
    return (
      secret !== undefined &&
      secret.length === this.#credential.length &&
      timingSafeEqual(secret, this.#credential)
    );
  }

  /** Binds the handler; resolves once libzmq will ask it. */
  async start(): Promise<void> {
    await this.#socket.bind(ZAP_ENDPOINT);
    void this.#serve();
  }

  async #serve(): Promise<void> {
    try {
      for await (const request of this.#socket) {
        const [version, id, domain, , , mechanism, ...credentials] = request;
        const ok = domain?.toString() === ZAP_DOMAIN && this.#admits(mechanism?.toString(), credentials);
        if (!ok) this.refused++;
        await this.#socket.send([
          version ?? "1.0",
          id ?? "",
          ok ? "200" : "400",
          ok ? "OK" : "not this cluster's key",
          ok ? "member" : "",
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
