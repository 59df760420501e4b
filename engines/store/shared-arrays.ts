import type { StoreRef } from "./store-ref.js";

/**
 * Arrays that already live in a block of a store: `client.put(array)`'s and `nd.shared(...)`'s,
 * known by their memory. A task that carries one sends its ref, not its bytes; a view of it
 * (a slice of a shared NDArray) travels by ref too.
 */
const placed = new WeakMap<ArrayBufferLike, StoreRef>();

/** Records that `memory` is the block `ref` names. */
export function registerStored(memory: ArrayBufferLike, ref: StoreRef): void {
  placed.set(memory, ref);
}

/** The block `memory` is, if it is one. */
export function storedRefOf(memory: ArrayBufferLike): StoreRef | undefined {
  return placed.get(memory);
}
