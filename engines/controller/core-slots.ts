import { loadNativeAddon } from "../../ndarray/node/native-addon.js";
import { CoreBoard, type CoreBoardRef } from "../store/core-board.js";
import { hostIdentity } from "../store/host-identity.js";
import type { EngineId } from "../wire/protocol/messages.js";
import type { EngineRecord } from "./engine-registry.js";

/**
 * The controller's side of its host's core board (store/core-board.ts): a slot for each engine on
 * this host, given with its registration reply and cleared when the engine goes, so an engine
 * that died mid-task does not keep a core counted as busy. Engines on other hosts get none and
 * keep one BLAS thread each. Without the native addon there is no board.
 */
export class CoreSlots {
  readonly #slots = new Map<EngineId, number>();

  private constructor(
    private readonly board: CoreBoard | undefined,
    private readonly host: string,
  ) {}

  /** A board for this host, when shared memory is available here. */
  static open(): CoreSlots {
    const host = hostIdentity();
    if (!host) return new CoreSlots(undefined, "");
    try {
      return new CoreSlots(CoreBoard.create(loadNativeAddon()), host);
    } catch {
      return new CoreSlots(undefined, host); // no addon: engines keep one thread
    }
  }

  /** Where the engine of `rec` finds the board and its slot, if it shares this host. */
  refFor(rec: EngineRecord): CoreBoardRef | undefined {
    if (!this.board || rec.info.host_id !== this.host) return undefined;
    let slot = this.#slots.get(rec.info.id);
    if (slot === undefined) {
      slot = this.board.claim();
      if (slot === undefined) return undefined;
      this.#slots.set(rec.info.id, slot);
    }
    return this.board.refFor(slot);
  }

  /** Engine `id` is gone: its slot is cleared and free. */
  gone(id: EngineId): void {
    const slot = this.#slots.get(id);
    if (slot === undefined) return;
    this.#slots.delete(id);
    this.board?.release(slot);
  }

  close(): void {
    this.board?.close();
  }
}
