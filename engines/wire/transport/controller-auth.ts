/**
 * How a ZeroMQ connection to a controller is authenticated, and encrypted when it leaves the host,
 * before any message crosses it.
 *
 * The cluster's HMAC is checked only once a whole message has arrived, and ZeroMQ takes a frame of
 * any size it is told; so without this anyone who could connect to a controller's port could make
 * it take gigabytes (one unsigned 256 MiB message: a peak of 585 MB, 320 MB kept). Every socket
 * that connects to a controller proves it holds the cluster key in the ZMTP handshake, and the
 * controller's ZAP handler (controller/zap-handler.ts) turns away a peer that does not, before its
 * first frame. Two mechanisms do that:
 *
 * - PLAIN, on a cluster that stays on loopback: a password derived from the key (not the key; it
 *   gives no way to sign). It travels in the clear like the rest of the traffic, which only this
 *   host's processes can see; and it costs nothing per message.
 * - CURVE, on an encrypted cluster (`ConnectionInfo.encrypted`, the default when the controller
 *   binds beyond loopback): every connection is encrypted with keys of its own, and the ZAP
 *   handler admits the public key derived from the cluster key (curve-keys.ts).
 */
import type { Signer } from "../protocol/signing.js";
import { clusterCurveKeys } from "./curve-keys.js";
import { isLoopbackHost } from "./tcp-endpoint.js";

/** The ZAP domain of a controller's sockets. */
export const ZAP_DOMAIN = "tsparallel";

/** The PLAIN user name every cluster socket connects as. */
export const PLAIN_USERNAME = "tsparallel";

/** The PLAIN password a cluster's sockets connect with: derived from the key, not the key. */
export function plainPassword(signer: Signer): string {
  return signer.mac(["tsparallel zmq plain"]).toString("hex");
}

/** ZeroMQ options of a socket that connects to a controller. */
export type ControllerCredentials =
  | { plainUsername: string; plainPassword: string }
  | { curveServerKey: string; curvePublicKey: string; curveSecretKey: string };

/** ZeroMQ options of a controller's own sockets. */
export type ControllerSecurity =
  | { plainServer: true; zapDomain: string }
  | { curveServer: true; curveSecretKey: string; zapDomain: string };

/** Options for a socket that connects to a controller (client, engine, heart, signals). */
export function controllerCredentials(signer: Signer, encrypted: boolean): ControllerCredentials {
  if (!encrypted) return { plainUsername: PLAIN_USERNAME, plainPassword: plainPassword(signer) };
  const keys = clusterCurveKeys(signer);
  return {
    curveServerKey: keys.controller.publicKey,
    curvePublicKey: keys.member.publicKey,
    curveSecretKey: keys.member.secretKey,
  };
}

/** Options for a controller's own sockets, whose peers its ZAP handler checks. */
export function controllerSecurity(signer: Signer, encrypted: boolean): ControllerSecurity {
  if (!encrypted) return { plainServer: true, zapDomain: ZAP_DOMAIN };
  return {
    curveServer: true,
    curveSecretKey: clusterCurveKeys(signer).controller.secretKey,
    zapDomain: ZAP_DOMAIN,
  };
}

/**
 * Whether a controller bound to `ip` encrypts by default: every address but loopback's, since
 * traffic there can be seen by other hosts.
 */
export function encryptsByDefault(ip: string): boolean {
  return !isLoopbackHost(ip);
}
