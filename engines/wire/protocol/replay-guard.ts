import type { Buffer } from "node:buffer";

/** Signatures remembered per generation (two generations are kept: between this and twice this). */
export const REPLAY_GENERATION = 1 << 15;

/**
 * Remembers the signatures of the messages a receiver accepted lately, so the same signed frames
 * sent again are dropped. Anyone who saw a message on the network can resend it without knowing
 * the key; without this it would run again. jupyter_client keeps such a digest history (2^16
 * digests, culled at random when full).
 *
 * Two sets are kept and swapped when the newer one fills: a lookup and an insert per message,
 * O(1), and memory bounded by two generations. A signature is keyed by its first 32 hex digits
 * (128 bits): shorter keys, no false replays in practice.
 */
export class ReplayGuard {
  #current = new Set<string>();
  #previous = new Set<string>();

  constructor(readonly generation = REPLAY_GENERATION) {}

  /** True when `signature` (hex) was accepted lately: a replay. Otherwise remembers it. */
  seen(signature: Buffer): boolean {
    const key = signature.toString("latin1", 0, 32);
    if (this.#current.has(key) || this.#previous.has(key)) return true;
    this.#current.add(key);
    if (this.#current.size >= this.generation) {
      const emptied = this.#previous;
      emptied.clear();
      this.#previous = this.#current;
      this.#current = emptied;
    }
    return false;
  }
}
