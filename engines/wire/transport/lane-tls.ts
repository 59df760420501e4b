/**
 * TLS on an encrypted cluster's lanes (see ConnectionInfo.encrypted).
 *
 * Lanes carry task payloads between hosts, so on a cluster whose controller binds beyond loopback
 * every lane runs inside TLS 1.3, authenticated by a pre-shared key derived from the cluster key:
 * no certificates to make or distribute, and a peer without the key fails the TLS handshake before
 * the lane's own (lane-handshake.ts, which still runs inside and binds messages to the connection).
 * TLS 1.3 with a PSK still makes an ephemeral (EC)DHE exchange per connection, so recorded
 * traffic stays unreadable to someone who learns the key later. AES-GCM comes first: with AES-NI it
 * runs at ~0.85 GB/s per core here, ChaCha20 at ~0.7.
 */
import type { Socket } from "node:net";
import { type ConnectionOptions, connect, TLSSocket, type TLSSocketOptions } from "node:tls";
import type { Signer } from "../protocol/signing.js";

/** The identity every lane presents with its pre-shared key. */
const PSK_IDENTITY = "tsparallel-lane";

const COMMON = {
  minVersion: "TLSv1.3",
  maxVersion: "TLSv1.3",
  ciphers: "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256",
} as const;

/** The lanes' pre-shared key: derived from the cluster key, not the key. */
function lanePsk(signer: Signer): Buffer {
  if (!signer.enabled)
    throw new RangeError("an encrypted cluster needs a key: its lanes derive theirs from it");
  return signer.mac(["tsparallel lane tls"]);
}

/** Opens a TLS connection to an engine's lane. */
export function connectLaneTls(to: { host: string; port: number }, signer: Signer): TLSSocket {
  const psk = lanePsk(signer);
  const options: ConnectionOptions = {
    ...to,
    ...COMMON,
    pskCallback: () => ({ psk, identity: PSK_IDENTITY }),
    // The pre-shared key authenticates the engine; there is no certificate to check.
    checkServerIdentity: () => undefined,
  };
  return connect(options);
}

/** Runs the server end of TLS over an accepted (paused) lane connection. */
export function acceptLaneTls(accepted: Socket, signer: Signer): TLSSocket {
  const psk = lanePsk(signer);
  // A server socket takes a server's options (Node's typings leave `pskCallback` out of them).
  const options: TLSSocketOptions & { pskCallback: (socket: TLSSocket, identity: string) => Buffer | null } =
    {
      isServer: true,
      ...COMMON,
      pskCallback: (_socket, identity) => (identity === PSK_IDENTITY ? psk : null),
    };
  const socket = new TLSSocket(accepted, options);
  accepted.resume();
  return socket;
}
