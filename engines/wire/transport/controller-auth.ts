/**
 * How a ZeroMQ connection to a controller is authenticated before any message crosses it.
 *
 * The cluster's HMAC is checked only once a whole message has arrived, and ZeroMQ takes a frame of
 * any size it is told; so without this anyone who could connect to a controller's port could make
 * it take gigabytes (one unsigned 256 MiB message: a peak of 585 MB, 320 MB kept). Every socket
 * that connects to a controller uses ZeroMQ's PLAIN mechanism with a password derived from the
 * cluster key, and the controller's ZAP handler (controller/zap-handler.ts) admits only that
 * password: a peer without the key is turned away in the ZMTP handshake, before its first frame.
 *
 * PLAIN sends the password in the clear, like the rest of the traffic: it stops those who cannot
 * see the traffic from sending any, as the HMAC stops them from sending anything that counts. The
 * password is not the key and gives no way to sign.
 */
import type { Signer } from "../protocol/signing.js";

/** The ZAP domain of a controller's sockets. */
export const ZAP_DOMAIN = "tsparallel";

/** The PLAIN user name every cluster socket connects as. */
export const PLAIN_USERNAME = "tsparallel";

/** The PLAIN password a cluster's sockets connect with: derived from the key, not the key. */
export function plainPassword(signer: Signer): string {
  return signer.mac(["tsparallel zmq plain"]).toString("hex");
}

/** Socket options for a socket that connects to a controller (client, engine, heart, signals). */
export function controllerCredentials(signer: Signer): { plainUsername: string; plainPassword: string } {
  return { plainUsername: PLAIN_USERNAME, plainPassword: plainPassword(signer) };
}

/** Socket options for a controller's own sockets: PLAIN server, checked by its ZAP handler. */
export const CONTROLLER_SECURITY = { plainServer: true, zapDomain: ZAP_DOMAIN } as const;
