/**
 * CurveZMQ keys derived from a cluster's key, so that the one secret in the connection file (mode
 * 0600) is all a client or engine needs to encrypt its ZeroMQ traffic (controller-auth.ts).
 *
 * A CURVE secret key is any 32 bytes (Curve25519 clamps them); its public key is the scalar
 * multiple of the base point, which `node:crypto` computes as X25519. ZeroMQ takes keys as Z85
 * text (ZMQ RFC 32). Two pairs come from the cluster key: the controller's, and one that every
 * client and engine connects with, which the controller's ZAP handler admits. Whoever holds the
 * key can already sign messages: the pairs add no new secret to guard, and CURVE's per-connection
 * keys keep recorded traffic unreadable even to someone who learns the key later.
 */
import { Buffer } from "node:buffer";
import { createPrivateKey, createPublicKey } from "node:crypto";
import type { Signer } from "../protocol/signing.js";

/** A CURVE key pair as ZeroMQ's socket options take it (Z85, 40 characters each). */
export interface CurveKeyPair {
  publicKey: string;
  secretKey: string;
}

/** The two pairs of a cluster: the controller's, and the one clients and engines share. */
export interface ClusterCurveKeys {
  controller: CurveKeyPair;
  member: CurveKeyPair;
  /** The member public key as the ZAP handler sees it (32 raw bytes). */
  memberPublic: Buffer;
}

const Z85 = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/** Z85-encodes bytes whose count is a multiple of 4 (ZMQ RFC 32). */
export function z85Encode(bytes: Uint8Array): string {
  if (bytes.length % 4) throw new RangeError("Z85 encodes a multiple of 4 bytes");
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let out = "";
  for (let i = 0; i < bytes.length; i += 4) {
    let value = view.getUint32(i);
    const chunk: string[] = [];
    for (let d = 0; d < 5; d++) {
      chunk.unshift(Z85[value % 85]!);
      value = Math.floor(value / 85);
    }
    out += chunk.join("");
  }
  return out;
}

/** Decodes Z85 text (a multiple of 5 characters). */
export function z85Decode(text: string): Buffer {
  if (text.length % 5) throw new RangeError("Z85 text comes in groups of 5 characters");
  const out = Buffer.alloc((text.length / 5) * 4);
  for (let i = 0; i < text.length; i += 5) {
    let value = 0;
    for (let d = 0; d < 5; d++) {
      const digit = Z85.indexOf(text[i + d]!);
      if (digit < 0) throw new RangeError(`"${text[i + d]}" is not a Z85 character`);
      value = value * 85 + digit;
    }
    out.writeUInt32BE(value, (i / 5) * 4);
  }
  return out;
}

/** PKCS#8 DER of an X25519 private key, up to the 32 key bytes (RFC 8410). */
const X25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");

/** The Curve25519 public key of a 32-byte secret key. */
export function curvePublicKey(secret: Uint8Array): Buffer {
  if (secret.length !== 32) throw new RangeError("a CURVE secret key has 32 bytes");
  const key = createPrivateKey({
    key: Buffer.concat([X25519_PKCS8_PREFIX, secret]),
    format: "der",
    type: "pkcs8",
  });
  const jwk = createPublicKey(key).export({ format: "jwk" });
  return Buffer.from(jwk.x!, "base64url");
}

function pair(secret: Buffer): CurveKeyPair {
  return { publicKey: z85Encode(curvePublicKey(secret)), secretKey: z85Encode(secret) };
}

/** The cluster's CURVE keys, derived from its key (see the module's doc). */
export function clusterCurveKeys(signer: Signer): ClusterCurveKeys {
  if (!signer.enabled)
    throw new RangeError("an encrypted cluster needs a key: start it with one (the default makes one)");
  const memberSecret = signer.mac(["tsparallel curve member"]);
  const member = pair(memberSecret);
  return {
    controller: pair(signer.mac(["tsparallel curve controller"])),
    member,
    memberPublic: curvePublicKey(memberSecret),
  };
}
