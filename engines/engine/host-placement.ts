import type { ObjectStore } from "../store/object-store.js";
import { StoreError } from "../store/store-error.js";
import type { StoreRef } from "../store/store-ref.js";
import type { ContentByType } from "../wire/protocol/messages.js";
import { ndarrayMemory } from "../wire/values/ndarray-link.js";
import { decodeValue, encodeValue, type StorePlacer } from "../wire/values/serialize.js";

/** What a placement gives back: the value's frames, its arrays named by blocks of the store. */
export interface Placed {
  frames: Buffer[];
  blocks: number[];
}

/** The engines a placement is held for (`store_place_request`). */
type Holders = ContentByType["store_place_request"]["holders"];

/**
 * A value a client sends once for several engines of this engine's host (see engines/README.md,
 * "A value for many hosts"): this engine places its arrays in its own store, each block held once
 * for every one of those engines, and hands back the value's frames with the arrays replaced by
 * the blocks' refs. The client sends each engine those frames, a few hundred bytes; each maps
 * the blocks, and releases them through the controller when its garbage collector lets go.
 *
 * An engine that dies holds nothing: the store's owner checks the holders' pids now and then
 * ({@link pidOf}), as it checks its clients'.
 */
export class HostPlacement {
  /** Each holder's pid (an engine of this host, by uuid). */
  readonly #pids = new Map<string, number>();

  constructor(
    private readonly store: ObjectStore,
    /** Told when blocks are held, so their holders' lives are watched. */
    private readonly held: () => void,
  ) {}

  /**
   * Places the value `frames` encode, its every out-of-band typed array and NDArray in a block
   * held for each of `holders` (Arrow tables, which the store does not take, stay frames of the
   * answer). Throws a StoreError (`STORE_FULL`) when the store has no room for them all, having
   * placed nothing, and what decoding throws.
   */
  async place(frames: readonly Buffer[], holders: Holders): Promise<Placed> {
    const value = await decodeValue(frames);
    // NDArrays are placed with their layout, which needs ndarray's layouts loaded.
    await ndarrayMemory();
    const store = this.store;
    let short: number | undefined;
    const placer: StorePlacer = {
      // Everything that travels out of band: the client chose this path for large values.
      threshold: 0,
      place: (length) => {
        const block = store.allocate(length);
        if (!block) {
          short ??= length;
          return undefined;
        }
        for (const h of holders) store.retain(block, h.uuid);
        return { bytes: store.bytesOf(block), ref: store.ref(block) };
      },
      hold: () => false,
      discard: (ref) => {
        for (const h of holders) store.release(ref.block, h.uuid);
      },
      copy: (into, from) => store.copy(into, from),
    };
    const placed: StoreRef[] = [];
    const out = await encodeValue(value, { store: placer, placed });
    // Sending what did not fit back to the client, for it to send each engine, would cost more
    // than the copies the client sends when this fails.
    if (short !== undefined) {
      for (const ref of placed) placer.discard(ref);
      throw new StoreError("STORE_FULL", store.fullMessage(short));
    }
    if (placed.length) {
      for (const h of holders) this.#pids.set(h.uuid, h.pid);
      this.held();
    }
    return { frames: out, blocks: placed.map((r) => r.block) };
  }

  /** The pid of a holder of placed blocks (undefined for holders that are not engines of this host). */
  pidOf(holder: string): number | undefined {
    return this.#pids.get(holder);
  }

  /** A holder is gone (its process ended): it is no longer watched. */
  forget(holder: string): void {
    this.#pids.delete(holder);
  }
}

/** Checks a `store_place_request`'s holders (they come from the network). */
export function checkHolders(holders: unknown): Holders | undefined {
  if (!Array.isArray(holders) || holders.length === 0 || holders.length > 65_536) return undefined;
  for (const h of holders as { uuid?: unknown; pid?: unknown }[])
    if (typeof h?.uuid !== "string" || !Number.isSafeInteger(h.pid) || (h.pid as number) <= 0)
      return undefined;
  return holders as Holders;
}
