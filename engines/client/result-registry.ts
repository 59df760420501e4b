import type { AsyncResult } from "./async-result.js";

/** How many finished results a client remembers for `getResult`. */
const REMEMBERED_RESULTS = 1000;
/**
 * A finished result holding more array data than this is remembered only while the user's code
 * still holds it (a WeakRef): the memory of a pulled 512 MiB array must go when its value does,
 * not 1000 results later.
 */
const STRONGLY_REMEMBERED_BYTES = 1 << 20;

/**
 * A client's own results: the ones still outstanding (what `wait()` and `abort()` without
 * arguments mean), and the last 1000 finished ones by msg_id, for `getResult`.
 */
export class ResultRegistry {
  readonly #outstanding = new Set<AsyncResult>();
  readonly #results = new Map<string, AsyncResult | WeakRef<AsyncResult>>();

  /** A result was submitted (views call this; {@link settled} follows when it is done). */
  track(ar: AsyncResult): void {
    if (ar.ready()) return;
    this.#outstanding.add(ar);
    for (const id of ar.msgIds) this.#results.set(id, ar);
  }

  /** Every message of `ar` has been answered (its `onDone`, no promise per result). */
  settled(ar: AsyncResult): void {
    if (!this.#outstanding.delete(ar)) return;
    const kept = ar.payloadBytes > STRONGLY_REMEMBERED_BYTES ? new WeakRef(ar) : ar;
    for (const id of ar.msgIds) {
      this.#results.delete(id); // re-insert: finished results age from when they finished
      this.#results.set(id, kept);
    }
    // Trimmed in bulk: deleting the oldest key one at a time walks the Map's tombstones.
    if (this.#results.size > 2 * REMEMBERED_RESULTS) {
      const keep = [...this.#results].slice(-REMEMBERED_RESULTS);
      this.#results.clear();
      for (const [k, v] of keep) this.#results.set(k, v);
    }
  }

  /** The result that holds task `msgId`, if this client still remembers it. */
  find(msgId: string): AsyncResult | undefined {
    const entry = this.#results.get(msgId);
    return entry instanceof WeakRef ? entry.deref() : entry;
  }

  /** Results not finished yet. */
  outstanding(): AsyncResult[] {
    return [...this.#outstanding];
  }
}
