import { Buffer } from "node:buffer";
import { createCipheriv, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import { WireError } from "./errors.js";

/**
 * Per-buffer MACs: how the cluster protocol covers payloads with its signature cheaply.
 *
 * Buffers under 64 KiB are signed with the message's HMAC like the JSON frames. For each larger one
 * the sender puts a GMAC tag into the message's metadata (`buffer_macs`), which the HMAC covers. A relay (the controller) checks the HMAC over the JSON
 * frames and that there is one tag per buffer, and forwards the buffers untouched; the final
 * receiver recomputes each tag once and compares. So a payload is read once at each end instead
 * of once per hop, and the controller never reads a payload byte.
 *
 * GMAC is AES-GCM authenticating the buffer as associated data, with nothing encrypted: a keyed
 * MAC (NIST SP 800-38D) that runs on the CPU's AES and carry-less multiply instructions, 5–6 GB/s
 * here against 1.3 GB/s for SHA-256 or HMAC-SHA256 (measured on the 2-vCPU VM). Its key is derived
 * from the cluster key; every message draws a random 64-bit nonce prefix and each buffer adds its
 * index, so no (key, nonce) pair repeats in practice (2^32 messages give a 2^-33 collision chance).
 */

/** The metadata key that carries the tags. */
export const BUFFER_MACS = "buffer_macs";

/** Buffers shorter than this are signed with the message's HMAC itself (their tag is ""). */
export const SIGNED_BUFFER_LIMIT = 64 * 1024;

const isLarge = (b: Uint8Array) => b.byteLength >= SIGNED_BUFFER_LIMIT;

/** What the metadata carries: the message's nonce prefix and a tag per buffer (hex; "" for small ones). */
export interface BufferMacs {
  nonce: string;
  tags: string[];
}

/** Tags computed while a buffer was being received (see {@link BufferAuthenticator.stream}). */
const streamed = new WeakMap<Uint8Array, { nonce: string; index: number; tag: Buffer }>();

/** Computes and checks buffer tags under one cluster key. */
export class BufferAuthenticator {
  readonly #key: Buffer;

  constructor(clusterKey: Uint8Array) {
    this.#key = createHmac("sha256", clusterKey).update("tsparallel buffer mac v1").digest();
  }

  #gmac(nonce: Buffer, index: number) {
    const iv = Buffer.allocUnsafe(12);
    nonce.copy(iv, 0, 0, 8);
    iv.writeUInt32BE(index, 8);
    return createCipheriv("aes-256-gcm", this.#key, iv);
  }

  #tag(nonce: Buffer, index: number, buffer: Uint8Array): Buffer {
    const gmac = this.#gmac(nonce, index);
    gmac.setAAD(buffer);
    gmac.final();
    return gmac.getAuthTag();
  }

  /**
   * Starts the tag of buffer `index` of a message with nonce `nonceHex` while its bytes arrive, so
   * a large receive is authenticated as it is read rather than in one pass at the end. `update`
   * takes the bytes in order; after `end`, {@link verify} uses the tag for `buffer`.
   */
  stream(
    nonceHex: string,
    index: number,
    buffer: Uint8Array,
  ): { update(chunk: Uint8Array): void; end(): void } {
    const gmac = this.#gmac(Buffer.from(nonceHex, "hex"), index);
    return {
      update: (chunk) => void gmac.setAAD(chunk),
      end: () => {
        gmac.final();
        streamed.set(buffer, { nonce: nonceHex, index, tag: gmac.getAuthTag() });
      },
    };
  }

  /** Tags for `buffers`, to put under {@link BUFFER_MACS}. */
  sign(buffers: readonly Uint8Array[]): BufferMacs {
    const nonce = randomBytes(8);
    return {
      nonce: nonce.toString("hex"),
      tags: buffers.map((b, i) => (isLarge(b) ? this.#tag(nonce, i, b).toString("hex") : "")),
    };
  }

  /** What the final receiver checks: every buffer matches its signed tag. */
  verify(metadata: Record<string, unknown>, buffers: readonly Uint8Array[]): void {
    const macs = listed(metadata, buffers);
    if (!macs) return;
    const nonce = Buffer.from(macs.nonce, "hex");
    for (let i = 0; i < buffers.length; i++) {
      if (!isLarge(buffers[i]!)) continue; // covered by the HMAC
      const want = Buffer.from(macs.tags[i]!, "hex");
      const early = streamed.get(buffers[i]!);
      const got =
        early && early.nonce === macs.nonce && early.index === i
          ? early.tag
          : this.#tag(nonce, i, buffers[i]!);
      if (want.length !== got.length || !timingSafeEqual(want, got))
        throw new WireError(
          "BAD_BUFFER_MAC",
          `buffer ${i} does not match its signed MAC (tampered or corrupted)`,
        );
    }
  }
}

function listed(metadata: Record<string, unknown>, buffers: readonly Uint8Array[]): BufferMacs | undefined {
  const count = buffers.length;
  const m = metadata[BUFFER_MACS] as Partial<BufferMacs> | undefined;
  if (m === undefined && !buffers.some(isLarge)) return undefined;
  const tags = m?.tags;
  if (
    typeof m?.nonce !== "string" ||
    m.nonce.length !== 16 ||
    !Array.isArray(tags) ||
    tags.length !== count ||
    !tags.every((t) => typeof t === "string")
  ) {
    throw new WireError(
      "BAD_BUFFER_MAC",
      `the message carries ${count} buffer(s) but its signed metadata lists ${Array.isArray(tags) ? tags.length : "no"} MAC(s)`,
    );
  }
  return m as BufferMacs;
}

/** What a relay checks: there is one signed MAC per buffer (it reads no payload). */
export function checkMacCount(metadata: Record<string, unknown>, buffers: readonly Uint8Array[]): void {
  listed(metadata, buffers);
}
