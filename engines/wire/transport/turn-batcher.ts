import { setImmediate } from "node:timers";
import { MAX_BATCH } from "../protocol/batch.js";

/**
 * Collects what is added during one turn of the event loop and hands it over, in order, when the
 * turn ends (`setImmediate`), in runs of at most {@link MAX_BATCH}. A burst becomes a few batches;
 * a lone item costs one extra macrotask hop, microseconds on an idle loop.
 */
export class TurnBatcher<T> {
  #items: T[] = [];

  constructor(private readonly flush: (items: T[]) => void) {}

  add(item: T): void {
    if (this.#items.push(item) === 1) setImmediate(() => this.drain());
  }

  /** Hands over everything collected so far, now (before a message that must not overtake it). */
  drain(): void {
    const items = this.#items;
    if (!items.length) return;
    this.#items = [];
    for (let i = 0; i < items.length; i += MAX_BATCH) this.flush(items.slice(i, i + MAX_BATCH));
  }
}
