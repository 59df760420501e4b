import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { WireError } from "./errors.js";

/**
 * Per-buffer digests: how the cluster protocol covers payloads with its HMAC cheaply.
 *
 * The sender puts each buffer's SHA-256 into the message's metadata (`buffer_digests`); the HMAC
 * covers the JSON frames, digests included. A relay (the controller) checks the HMAC over the
 * JSON frames only and forwards the buffers untouched; the final receiver hashes each buffer
 * once and compares. So a payload is hashed once at each end instead of once per hop, and the
 * controller never reads a payload byte. SHA-256 is the fastest digest Node ships on this kind
 * of CPU (SHA-NI: ~1.4 GB/s; sha512-256 0.67, blake2b512 0.77, measured on the 2-vCPU VM).
 */

/** The metadata key that carries the digests (hex SHA-256, one per buffer, in order). */
export const BUFFER_DIGESTS = "buffer_digests";

/** Hex SHA-256 of each buffer. */
export function digestBuffers(buffers: readonly Uint8Array[]): string[] {
  return buffers.map((b) => createHash("sha256").update(b).digest("hex"));
}

function listed(metadata: Record<string, unknown>, count: number): string[] {
  const d = metadata[BUFFER_DIGESTS];
  if (count === 0 && d === undefined) return [];
  if (!Array.isArray(d) || d.length !== count || !d.every((x) => typeof x === "string")) {
    throw new WireError(
      "BAD_DIGEST",
      `the message carries ${count} buffer(s) but its signed metadata lists ${Array.isArray(d) ? d.length : "no"} digest(s)`,
    );
  }
  return d as string[];
}

/** What a relay checks: there is one signed digest per buffer (no hashing). */
export function checkDigestCount(metadata: Record<string, unknown>, buffers: readonly Uint8Array[]): void {
  listed(metadata, buffers.length);
}

/** What the final receiver checks: every buffer hashes to its signed digest. */
export function checkBufferDigests(metadata: Record<string, unknown>, buffers: readonly Uint8Array[]): void {
  const want = listed(metadata, buffers.length);
  for (let i = 0; i < buffers.length; i++) {
    const got = createHash("sha256").update(buffers[i]!).digest();
    if (!got.equals(Buffer.from(want[i]!, "hex"))) {
      throw new WireError(
        "BAD_DIGEST",
        `buffer ${i} does not match its signed digest (tampered or corrupted)`,
      );
    }
  }
}
