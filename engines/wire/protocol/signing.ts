import { Buffer } from "node:buffer";
import { createHmac, timingSafeEqual } from "node:crypto";
import { BufferAuthenticator } from "./buffer-macs.js";

/**
 * HMAC-SHA256 signatures over message frames.
 *
 * Jupyter's protocol signs the four JSON frames only; the cluster protocol also signs every
 * buffer (ipyparallel leaves buffers unsigned, which lets a peer swap payloads). The caller
 * passes exactly the frames that are covered.
 */
export class Signer {
  readonly #key: Buffer;
  /** Tags buffers under this key (cluster protocol); undefined when signing is off. */
  readonly buffers: BufferAuthenticator | undefined;

  /** An empty key disables signing, as Jupyter allows; signatures are then the empty string. */
  constructor(
    key: string | Uint8Array,
    readonly scheme = "hmac-sha256",
  ) {
    if (scheme !== "hmac-sha256") {
      throw new Error(`signature scheme "${scheme}" is not supported: use "hmac-sha256"`);
    }
    this.#key = Buffer.from(key);
    this.buffers = this.#key.length ? new BufferAuthenticator(this.#key) : undefined;
  }

  get enabled(): boolean {
    return this.#key.length > 0;
  }

  /** Hex digest of the frames, in order. */
  sign(frames: readonly Uint8Array[]): string {
    if (!this.enabled) return "";
    const h = createHmac("sha256", this.#key);
    for (const f of frames) h.update(f);
    return h.digest("hex");
  }

  /**
   * The raw HMAC-SHA256 of `parts` under this key, for what is derived from it (a lane's
   * handshake proofs and connection key); with no key, under the empty key.
   */
  mac(parts: readonly (string | Uint8Array)[]): Buffer {
    const h = createHmac("sha256", this.#key);
    for (const p of parts) h.update(p);
    return h.digest();
  }

  /** Constant-time check of a received signature. */
  verify(signature: Uint8Array | string, frames: readonly Uint8Array[]): boolean {
    if (!this.enabled) return true;
    const got = Buffer.from(
      typeof signature === "string" ? signature : Buffer.from(signature).toString("latin1"),
    );
    const want = Buffer.from(this.sign(frames));
    return got.length === want.length && timingSafeEqual(got, want);
  }
}
