import { randomBytes } from "node:crypto";
import type { NativeAddon } from "../../ndarray/node/native-addon.js";
import { StoreError } from "./store-error.js";

/** How an engine finds its host's board (in its registration reply). */
export interface CoreBoardRef {
  /** The controller's process and its descriptor of the board. */
  pid: number;
  fd: number;
  /** Written at the board's start: proves the descriptor is the board. */
  token: string;
  /** The engine's own slot. */
  slot: number;
}

const MAGIC = "TSPBOARD";
const PAGE = 4096;
/** Slots for engines at once (a slot is given back when its engine goes). */
export const BOARD_SLOTS = PAGE / 4 - 1;
/** Int32 index of the count of busy slots; slot i is at FIRST_SLOT + i. */
const COUNT = 0;
const FIRST_SLOT = 1;

/**
 * A page of shared memory the controller makes for the engines on its host: one slot per engine,
 * set while that engine runs a task, and a count of the slots set. An engine about to multiply
 * large matrices reads the count and takes the idle cores' share of BLAS threads, so a lone task
 * uses the whole host while a busy host keeps one thread per engine (see engine/core-share.ts).
 * The controller clears a dead engine's slot. A memfd like the store's segments: nothing is left
 * behind when the controller goes, however it ends.
 */
export class CoreBoard {
  readonly #free: number[] = [];

  private constructor(
    private readonly addon: NativeAddon,
    private readonly fd: number,
    private readonly memory: ArrayBuffer,
    readonly token: string,
    private readonly words: Int32Array,
  ) {}

  /** Makes a board (the controller, once). */
  static create(addon: NativeAddon): CoreBoard {
    const fd = addon.shmCreate("tsparallel-cores", 2 * PAGE);
    const memory = addon.shmMap(fd, 0, 2 * PAGE, true);
    const token = randomBytes(16).toString("hex");
    Buffer.from(memory, 0, PAGE).write(MAGIC + token, "latin1");
    const board = new CoreBoard(addon, fd, memory, token, new Int32Array(memory, PAGE, PAGE / 4));
    for (let s = BOARD_SLOTS - 1; s >= 0; s--) board.#free.push(s);
    return board;
  }

  /** Opens the board `ref` names (an engine on the controller's host). */
  static open(addon: NativeAddon, ref: CoreBoardRef): CoreBoard {
    if (!Number.isSafeInteger(ref.slot) || ref.slot < 0 || ref.slot >= BOARD_SLOTS)
      throw new StoreError("STORE_UNREACHABLE", `core board slot ${ref.slot} is out of range`);
    const fd = addon.shmOpenPeer(ref.pid, ref.fd);
    try {
      const memory = addon.shmMap(fd, 0, 2 * PAGE, true);
      if (Buffer.from(memory, 0, MAGIC.length + 32).toString("latin1") !== MAGIC + ref.token) {
        addon.shmUnmap(memory);
        throw new StoreError(
          "STORE_UNREACHABLE",
          `descriptor ${ref.fd} of process ${ref.pid} is not the controller's core board`,
        );
      }
      return new CoreBoard(addon, fd, memory, ref.token, new Int32Array(memory, PAGE, PAGE / 4));
    } catch (e) {
      addon.shmClose(fd);
      throw e;
    }
  }

  /** A slot for a new engine, or undefined when all are taken. */
  claim(): number | undefined {
    return this.#free.pop();
  }

  /** How the engine given `slot` finds the board. */
  refFor(slot: number): CoreBoardRef {
    return { pid: process.pid, fd: this.fd, token: this.token, slot };
  }

  /** The engine in `slot` is gone: its slot is cleared (counted off if it was busy) and reused. */
  release(slot: number): void {
    this.setBusy(slot, false);
    this.#free.push(slot);
  }

  /** Marks `slot` busy or idle. */
  setBusy(slot: number, busy: boolean): void {
    if (this.#closed) return; // an engine's last task may end after it closed the board on exit
    const was = Atomics.exchange(this.words, FIRST_SLOT + slot, busy ? 1 : 0);
    if (was !== (busy ? 1 : 0)) Atomics.add(this.words, COUNT, busy ? 1 : -1);
  }

  /** Engines of this host running a task now. */
  busy(): number {
    if (this.#closed) return 0;
    return Atomics.load(this.words, COUNT);
  }

  #closed = false;

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.addon.shmUnmap(this.memory);
    this.addon.shmClose(this.fd);
  }
}
