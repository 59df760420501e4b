import type { NDArrayLayout } from "../../ndarray/memory-layout.js";
import type { StoreRef } from "./store-ref.js";

/**
 * An array placed once in the client's shared-memory store (`client.put(array)`), like the object
 * ref `ray.put` returns: pass it as a task argument (or push it) as many times as you like and each
 * engine on this host maps the same bytes instead of receiving a copy; an engine elsewhere is sent
 * the bytes. Engines get the array itself, copy-on-write: what one engine changes stays its own.
 * The block is held while the handle (or an engine's array) is reachable.
 */
export class StoreHandle<T = unknown> {
  constructor(
    /** The block the array lies in. */
    readonly ref: StoreRef,
    /** Reads the array back in this process (a copy-on-write view of the block). */
    private readonly read: () => T,
    /** Bytes of the array. */
    readonly byteLength: number,
    /** The typed array's constructor name (the NDArray's data's, for an NDArray). */
    readonly array: string,
    /** An NDArray's layout over the block (none for a typed array). */
    readonly layout?: NDArrayLayout,
  ) {}

  /** The array as engines get it: a view of the block in this process (your changes stay yours). */
  get value(): T {
    return this.read();
  }

  /** `StoreHandle(<bytes> bytes in shared memory)` in logs and the notebook. */
  toString(): string {
    return `StoreHandle(${this.byteLength} bytes in shared memory)`;
  }
}

/** Task arguments: each one its value, or a handle to that value placed in the store. */
export type Sendable<A extends unknown[]> = { [K in keyof A]: A[K] | StoreHandle<A[K]> };
